"""How long the SDK waits before a retry, from what the server said (pure: given headers and
a clock), and which requests it may send again after a lost answer."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from qrforge.client.retries import RetryPolicy, may_resend, server_delay
from qrforge.client.settings import request_headers

NOW = 1_800_000_000.0


def test_retry_after_seconds_wins_over_the_reset_time() -> None:
    headers = {"retry-after": "7", "x-ratelimit-reset": str(int(NOW) + 30)}
    assert RetryPolicy().delay(0, headers, NOW) == 7


def test_retry_after_as_an_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 12, UTC)
    assert server_delay({"retry-after": format_datetime(when, usegmt=True)}, NOW) == 12


def test_the_reset_time_when_there_is_no_retry_after() -> None:
    assert RetryPolicy().delay(0, {"x-ratelimit-reset": str(int(NOW) + 20)}, NOW) == 20


def test_waits_are_capped_and_never_negative() -> None:
    policy = RetryPolicy(max_delay_s=5)
    assert policy.delay(0, {"retry-after": "60"}, NOW) == 5
    assert policy.delay(0, {"x-ratelimit-reset": str(int(NOW) - 10)}, NOW) == 0


def test_without_a_header_the_backoff_grows_with_jitter_under_the_cap() -> None:
    policy = RetryPolicy(backoff_base_s=0.5, max_delay_s=3)
    for attempt in range(6):
        for _ in range(50):
            wait = policy.delay(attempt, {}, NOW)
            assert 0 <= wait <= min(0.5 * 2**attempt, 3)
    assert policy.delay(0, {"retry-after": "soon"}, NOW) <= 0.5


def test_every_post_gets_one_idempotency_key_and_may_then_be_resent() -> None:
    headers = request_headers("POST", {})
    assert len(headers["Idempotency-Key"]) >= 32
    assert request_headers("POST", {"idempotency-key": "mine"}) == {"idempotency-key": "mine"}
    assert "Idempotency-Key" not in request_headers("GET", {})
    assert may_resend("POST", headers)
    assert not may_resend("POST", {})
    assert not may_resend("PATCH", {})
    assert may_resend("GET", {}) and may_resend("DELETE", {}) and may_resend("PUT", {})
