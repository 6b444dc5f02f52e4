"""The keys service's own metrics (the gRPC ones come from :mod:`services.runtime.metrics`)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

from services.runtime.metrics import registry

AUTH_OUTCOMES: Final = ("ok", "malformed", "unknown", "revoked", "expired")

authentications_total: Final = Counter(
    "qrforge_keys_authentications_total",
    "Authenticate calls, by outcome (ok, malformed, unknown, revoked, expired).",
    ["outcome"],
    registry=registry,
)
# Every outcome exists from the start at 0, so rate() and alerts work before the first failure.
for _outcome in AUTH_OUTCOMES:
    authentications_total.labels(_outcome)
revocation_publish_failures_total: Final = Counter(
    "qrforge_keys_revocation_publish_failures_total",
    "key.revoked events that could not be confirmed by the broker (the revocation itself stands).",
    registry=registry,
)
last_used_flush_failures_total: Final = Counter(
    "qrforge_keys_last_used_flush_failures_total",
    "Batched last_used_at writes that failed and were kept for the next round.",
    registry=registry,
)
