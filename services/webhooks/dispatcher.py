"""Which delivery goes out when, and what its answer changes.

Deliveries reach the dispatcher two ways: straight from the intake that stored them (leased to
this process at insert, so a scan is sent without waiting for a poll) and from a poll of the
table for due retries and for rows whose lease ran out (their process died mid-send: sent
again with the same ``webhook-id``, which at-least-once allows). A delivery this process already
holds is never started twice.

Each attempt waits for a global slot (``max_in_flight``) and one of its endpoint's
(``per_endpoint_concurrency``): a slow endpoint holds only its own slots. Outcomes are written
in small batches (one statement for many rows); an outcome lost to a crash leaves the lease to
expire, and the delivery is sent again.

- 2xx: delivered; the endpoint's failure clock stops.
- 410: failed for good, the endpoint disabled (``disabled_reason = gone``).
- anything else (an HTTP error, a timeout, a refused address): retried on the schedule of
  :mod:`~services.webhooks.retry_schedule`, then failed once its 24 h are over; an endpoint that
  has failed every attempt for ``disable_after_s`` (3 days) is disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from services.webhooks import metrics
from services.webhooks.endpoint_secrets import SecretBox, secret_key_bytes
from services.webhooks.http_delivery import AttemptResult, HttpSender
from services.webhooks.records import ClaimedDelivery, DeliveryOutcome
from services.webhooks.retry_schedule import RetrySchedule
from services.webhooks.signing import signed_headers
from services.webhooks.storage import WebhookStore

log = logging.getLogger(__name__)

FLUSH_EVERY_S: Final = 0.05
FLUSH_MAX: Final = 500
STORE_RETRY_S: Final = 1.0
SECRET_CACHE: Final = 4096
# A success clears the endpoint's failure clock in Postgres at most this often (unless this
# process saw it fail since): nearly every flush would otherwise run an UPDATE that changes
# nothing. Another replica's failure is cleared by a success here within this time, far
# inside the 3 days that disable an endpoint.
CLEAR_EVERY_S: Final = 60.0
_ATTEMPTS: Final = {
    outcome: metrics.attempts_total.labels(outcome)
    for outcome in ("delivered", "failed", "gave_up", "gone")
}


class Dispatcher:
    def __init__(
        self,
        store: WebhookStore,
        sender: HttpSender,
        box: SecretBox,
        schedule: RetrySchedule,
        *,
        per_endpoint_concurrency: int,
        max_in_flight: int,
        lease_s: float,
        poll_s: float,
        disable_after_s: float,
        on_disabled: Callable[[str], None] = lambda account_id: None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._box = box
        self._schedule = schedule
        self._per_endpoint = per_endpoint_concurrency
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_in_flight = max_in_flight
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._disable_after_s = disable_after_s
        self._on_disabled = on_disabled
        self._endpoint_slots: dict[str, asyncio.Semaphore] = {}
        self._held: dict[str, asyncio.Task[None]] = {}
        self._keys: dict[tuple[str, bytes], bytes] = {}
        self._cleared_at: dict[str, float] = {}  # webhook_id -> when its clock was cleared
        self._outcomes: list[DeliveryOutcome] = []
        self._flush_wake = asyncio.Event()
        self._poll_wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name="webhooks-poll"),
            asyncio.create_task(self._flush_loop(), name="webhooks-outcomes"),
        ]

    async def drain(self, grace_s: float) -> None:
        """Stop taking work, let attempts in flight finish within ``grace_s`` and write their
        outcomes; deliveries not finished keep their lease and are retaken after it."""
        self._stopping = True
        self._poll_wake.set()
        held = list(self._held.values())
        if held:
            _, pending = await asyncio.wait(held, timeout=grace_s)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*pending, return_exceptions=True)
        # Both loops return on their own once stopping (a cancelled wait_for can swallow the
        # cancellation when its event fires at the same moment, so they are not cancelled).
        self._flush_wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()

    def wake(self) -> None:
        """Poll now (a delivery was made due: a manual retry)."""
        self._poll_wake.set()

    # -- taking work ----------------------------------------------------------------------------

    def submit(self, deliveries: list[ClaimedDelivery]) -> None:
        """Send these leased deliveries (those already held here are skipped)."""
        for delivery in deliveries:
            if self._stopping or delivery.delivery_id in self._held:
                continue
            task = asyncio.create_task(self._deliver(delivery))
            self._held[delivery.delivery_id] = task
        metrics.in_flight.set(len(self._held))

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_wake.wait(), self._poll_s)
            self._poll_wake.clear()
            if self._stopping:
                return
            room = self._max_in_flight - len(self._held)
            if room <= 0:
                continue
            try:
                claimed = await self._store.claim_due(room, self._lease_s)
            except Exception as exc:  # Postgres away: the rows wait, polled again
                log.warning("claiming due deliveries failed", extra={"error": type(exc).__name__})
                continue
            self.submit(claimed)
            if len(claimed) == room:
                self._poll_wake.set()  # more may be due: no wait before the next claim

    # -- one attempt ----------------------------------------------------------------------------

    def _key_of(self, delivery: ClaimedDelivery) -> bytes:
        cache_key = (delivery.webhook_id, delivery.secret_sealed)
        key = self._keys.get(cache_key)
        if key is None:
            key = secret_key_bytes(self._box.open(delivery.secret_sealed, delivery.webhook_id))
            if len(self._keys) >= SECRET_CACHE:
                self._keys.pop(next(iter(self._keys)))
            self._keys[cache_key] = key
        return key

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            if not delivery.active:
                self._record(delivery, AttemptResult(None, "endpoint disabled"), final=True)
                return
            slots = self._endpoint_slots.get(delivery.webhook_id)
            if slots is None:
                slots = self._endpoint_slots[delivery.webhook_id] = asyncio.Semaphore(
                    self._per_endpoint
                )
            async with self._slots, slots:
                headers = signed_headers(
                    self._key_of(delivery), delivery.delivery_id, int(time.time()), delivery.payload
                )
                started = time.perf_counter()
                result = await self._sender.post(delivery.url, headers, delivery.payload)
                metrics.attempt_duration_seconds.observe(time.perf_counter() - started)
            self._record(delivery, result, final=False)
        except Exception:
            # A bug, or a secret sealed under another key: logged, the lease brings it back.
            log.exception("delivery attempt failed", extra={"delivery_id": delivery.delivery_id})
        finally:
            self._held.pop(delivery.delivery_id, None)
            metrics.in_flight.set(len(self._held))

    def _record(self, delivery: ClaimedDelivery, result: AttemptResult, *, final: bool) -> None:
        now = datetime.now(UTC)
        attempts = delivery.attempts + (0 if final else 1)
        next_at: datetime | None = None
        if result.accepted:
            status, outcome = "delivered", "delivered"
            metrics.event_to_delivered_seconds.observe(
                max(0.0, (now - delivery.created_at).total_seconds())
            )
        elif result.gone:
            status, outcome = "failed", "gone"
        elif final:
            status, outcome = "failed", "gave_up"
        else:
            next_at = self._schedule.next_attempt(attempts, delivery.created_at, now)
            status, outcome = (
                ("pending", "failed") if next_at is not None else ("failed", "gave_up")
            )
        _ATTEMPTS[outcome].inc()
        self._outcomes.append(
            DeliveryOutcome(
                delivery.delivery_id,
                delivery.webhook_id,
                status,  # type: ignore[arg-type]
                attempts,
                result.status_code,
                result.error,
                next_at,
            )
        )
        if len(self._outcomes) >= FLUSH_MAX:
            self._flush_wake.set()

    # -- writing outcomes -------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_wake.wait(), FLUSH_EVERY_S)
            self._flush_wake.clear()
            await self._flush()
            if self._stopping:
                return  # drain writes what is left

    async def _flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return
        try:
            await self._store.record_outcomes(outcomes)
            await self._endpoint_health(outcomes)
        except Exception as exc:
            # Left to the leases: those deliveries are retaken and sent again (same id).
            metrics.store_failures_total.labels("outcomes").inc()
            log.warning(
                "delivery outcomes not written; their leases will bring them back",
                extra={"deliveries": len(outcomes), "error": type(exc).__name__},
            )

    async def _endpoint_health(self, outcomes: list[DeliveryOutcome]) -> None:
        succeeded = {o.webhook_id for o in outcomes if o.status == "delivered"}
        gone = {o.webhook_id for o in outcomes if o.status_code == 410}
        failed = {
            o.webhook_id
            for o in outcomes
            if o.status != "delivered" and o.status_code != 410 and o.attempts > 0
        } - succeeded
        now = time.monotonic()
        for webhook_id in failed | gone:
            self._cleared_at.pop(webhook_id, None)
        to_clear = sorted(
            w
            for w in succeeded
            if w not in self._cleared_at or now - self._cleared_at[w] >= CLEAR_EVERY_S
        )
        if to_clear:
            await self._store.endpoints_succeeded(to_clear)
            if len(self._cleared_at) + len(to_clear) > SECRET_CACHE:
                self._cleared_at.clear()
            self._cleared_at.update(dict.fromkeys(to_clear, now))
        disabled: list[tuple[str, str, str]] = []
        if gone:
            disabled += [(w, a, "gone") for w, a in await self._store.endpoints_gone(sorted(gone))]
        if failed:
            disabled += [
                (w, a, "failing")
                for w, a in await self._store.endpoints_failed(
                    sorted(failed), self._disable_after_s
                )
            ]
        for webhook_id, account_id, reason in disabled:
            metrics.endpoints_disabled_total.labels(reason).inc()
            log.info("endpoint disabled", extra={"webhook_id": webhook_id, "reason": reason})
            self._on_disabled(account_id)
