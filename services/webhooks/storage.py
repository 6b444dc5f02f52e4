"""SQL of the webhooks service: its two tables, ``webhooks`` and ``webhook_deliveries``
(``migrations/``). Every customer-facing query is scoped to the account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from services.webhooks.events import EndpointFilter
from services.webhooks.records import (
    ClaimedDelivery,
    Delivery,
    DeliveryOutcome,
    NewDelivery,
    Webhook,
)

_WEBHOOK_COLUMNS: Final = (
    "webhook_id, account_id, url, events, qr_ids, description, active, disabled_reason, created_at"
)
_DELIVERY_COLUMNS: Final = (
    "delivery_id, webhook_id, event_type, status, attempts, last_status_code, last_error, "
    "next_attempt_at, created_at"
)
_CLAIMED: Final = (
    "d.delivery_id, d.webhook_id, d.account_id, d.event_type, d.payload, d.attempts, "
    "d.created_at, w.url, w.secret_sealed, w.active"
)
# What PATCH may change, and nothing else reaches the SQL.
UPDATABLE: Final = frozenset({"url", "events", "qr_ids", "description", "active"})


def _webhook(row: Any) -> Webhook:
    return Webhook(
        webhook_id=row["webhook_id"],
        account_id=row["account_id"],
        url=row["url"],
        events=tuple(row["events"]),
        qr_ids=tuple(row["qr_ids"]),
        description=row["description"],
        active=row["active"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        created_at=row["created_at"],
    )


def _claimed(row: Any) -> ClaimedDelivery:
    return ClaimedDelivery(
        delivery_id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        account_id=row["account_id"],
        event_type=row["event_type"],
        payload=bytes(row["payload"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        url=row["url"],
        secret_sealed=bytes(row["secret_sealed"]),
        active=row["active"],
    )


class WebhookStore:
    def __init__(self, pool: Any) -> None:  # asyncpg.Pool (untyped library)
        self._pool = pool

    # -- endpoints ------------------------------------------------------------------------------

    async def insert_webhook(
        self,
        webhook_id: str,
        account_id: str,
        url: str,
        events: Sequence[str],
        qr_ids: Sequence[str],
        description: str,
        secret_sealed: bytes,
        max_per_account: int,
    ) -> Webhook | None:
        """The new endpoint, or None when the account already has ``max_per_account``."""
        async with self._pool.acquire() as conn, conn.transaction():
            # Serialises creations of one account so the count check holds under races.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", account_id)
            count = await conn.fetchval(
                "SELECT count(*) FROM webhooks WHERE account_id = $1", account_id
            )
            if count >= max_per_account:
                return None
            row = await conn.fetchrow(
                f"""INSERT INTO webhooks
                        (webhook_id, account_id, url, events, qr_ids, description, secret_sealed)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    RETURNING {_WEBHOOK_COLUMNS}""",
                webhook_id,
                account_id,
                url,
                list(events),
                list(qr_ids),
                description,
                secret_sealed,
            )
        return _webhook(row)

    async def list_webhooks(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[Webhook], int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"""SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1
                    ORDER BY created_at DESC, webhook_id DESC LIMIT $2 OFFSET $3""",
                account_id,
                limit,
                offset,
            )
            total = await conn.fetchval(
                "SELECT count(*) FROM webhooks WHERE account_id = $1", account_id
            )
        return [_webhook(row) for row in rows], int(total)

    async def get_webhook(self, account_id: str, webhook_id: str) -> Webhook | None:
        row = await self._pool.fetchrow(
            f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND webhook_id = $2",
            account_id,
            webhook_id,
        )
        return _webhook(row) if row is not None else None

    async def update_webhook(
        self, account_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> Webhook | None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        sets = [f"{column} = ${i}" for i, column in enumerate(changes, start=3)]
        if changes.get("active") is True:
            # Turned on again by its owner: a fresh start for the failure clock.
            sets += ["disabled_reason = ''", "failing_since = NULL"]
        sets.append("updated_at = now()")
        row = await self._pool.fetchrow(
            f"""UPDATE webhooks SET {", ".join(sets)}
                WHERE account_id = $1 AND webhook_id = $2 RETURNING {_WEBHOOK_COLUMNS}""",
            account_id,
            webhook_id,
            *changes.values(),
        )
        return _webhook(row) if row is not None else None

    async def delete_webhook(self, account_id: str, webhook_id: str) -> bool:
        deleted = await self._pool.fetchval(
            "DELETE FROM webhooks WHERE account_id = $1 AND webhook_id = $2 RETURNING webhook_id",
            account_id,
            webhook_id,
        )
        return deleted is not None

    async def active_filters(self, account_ids: Sequence[str]) -> dict[str, list[EndpointFilter]]:
        rows = await self._pool.fetch(
            """SELECT webhook_id, account_id, events, qr_ids FROM webhooks
               WHERE account_id = ANY($1::text[]) AND active""",
            list(account_ids),
        )
        found: dict[str, list[EndpointFilter]] = {account_id: [] for account_id in account_ids}
        for row in rows:
            found[row["account_id"]].append(
                EndpointFilter(
                    row["webhook_id"], frozenset(row["events"]), frozenset(row["qr_ids"])
                )
            )
        return found

    # -- deliveries -----------------------------------------------------------------------------

    async def insert_deliveries(
        self, deliveries: Sequence[NewDelivery], lease_s: float
    ) -> list[ClaimedDelivery]:
        """Store new deliveries, leased to the caller for ``lease_s`` (it sends them at once);
        an event already stored for an endpoint is skipped (the broker redelivered it)."""
        if not deliveries:
            return []
        rows = await self._pool.fetch(
            f"""WITH d AS (
                    INSERT INTO webhook_deliveries
                        (delivery_id, webhook_id, account_id, event_id, event_type, payload,
                         next_attempt_at)
                    SELECT n.*, now() + make_interval(secs => $7)
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::bytea[])
                         AS n(delivery_id, webhook_id, account_id, event_id, event_type, payload)
                    ON CONFLICT (webhook_id, event_id) DO NOTHING
                    RETURNING *)
                SELECT {_CLAIMED} FROM d JOIN webhooks w USING (webhook_id)""",
            [d.delivery_id for d in deliveries],
            [d.webhook_id for d in deliveries],
            [d.account_id for d in deliveries],
            [d.event_id for d in deliveries],
            [d.event_type for d in deliveries],
            [d.payload for d in deliveries],
            lease_s,
        )
        return [_claimed(row) for row in rows]

    async def claim_due(self, limit: int, lease_s: float) -> list[ClaimedDelivery]:
        """Up to ``limit`` pending deliveries that are due (or whose lease ran out), leased to
        the caller; rows another replica is claiming are skipped, not waited for."""
        rows = await self._pool.fetch(
            f"""WITH due AS (
                    SELECT delivery_id FROM webhook_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT $1
                    FOR UPDATE SKIP LOCKED),
                d AS (
                    UPDATE webhook_deliveries AS u
                    SET next_attempt_at = now() + make_interval(secs => $2)
                    FROM due WHERE u.delivery_id = due.delivery_id
                    RETURNING u.*)
                SELECT {_CLAIMED} FROM d JOIN webhooks w USING (webhook_id)""",
            limit,
            lease_s,
        )
        return [_claimed(row) for row in rows]

    async def record_outcomes(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        if not outcomes:
            return
        await self._pool.execute(
            """UPDATE webhook_deliveries AS d
               SET status = o.status, attempts = o.attempts, last_status_code = o.code,
                   last_error = o.error, next_attempt_at = o.next_at, updated_at = now()
               FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[],
                           $6::timestamptz[]) AS o(delivery_id, status, attempts, code, error,
                                                   next_at)
               WHERE d.delivery_id = o.delivery_id""",
            [o.delivery_id for o in outcomes],
            [o.status for o in outcomes],
            [o.attempts for o in outcomes],
            [o.status_code for o in outcomes],
            [o.error for o in outcomes],
            [o.next_attempt_at for o in outcomes],
        )

    async def endpoints_succeeded(self, webhook_ids: Sequence[str]) -> None:
        await self._pool.execute(
            """UPDATE webhooks SET failing_since = NULL
               WHERE webhook_id = ANY($1::text[]) AND failing_since IS NOT NULL""",
            list(webhook_ids),
        )

    async def endpoints_failed(
        self, webhook_ids: Sequence[str], disable_after_s: float
    ) -> list[tuple[str, str]]:
        """Start (or continue) each endpoint's failure clock; disable those failing for longer
        than ``disable_after_s``. Returns ``(webhook_id, account_id)`` of the disabled."""
        rows = await self._pool.fetch(
            """UPDATE webhooks AS w
               SET failing_since = COALESCE(w.failing_since, now()),
                   active = false, disabled_reason = 'failing', updated_at = now()
               WHERE w.webhook_id = ANY($1::text[]) AND w.active
                 AND w.failing_since <= now() - make_interval(secs => $2)
               RETURNING w.webhook_id, w.account_id""",
            list(webhook_ids),
            disable_after_s,
        )
        await self._pool.execute(
            """UPDATE webhooks SET failing_since = now()
               WHERE webhook_id = ANY($1::text[]) AND failing_since IS NULL""",
            list(webhook_ids),
        )
        return [(row["webhook_id"], row["account_id"]) for row in rows]

    async def endpoints_gone(self, webhook_ids: Sequence[str]) -> list[tuple[str, str]]:
        rows = await self._pool.fetch(
            """UPDATE webhooks SET active = false, disabled_reason = 'gone', updated_at = now()
               WHERE webhook_id = ANY($1::text[]) AND active
               RETURNING webhook_id, account_id""",
            list(webhook_ids),
        )
        return [(row["webhook_id"], row["account_id"]) for row in rows]

    async def list_deliveries(
        self, account_id: str, webhook_id: str, *, limit: int, offset: int
    ) -> tuple[list[Delivery], int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"""SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries
                    WHERE account_id = $1 AND webhook_id = $2
                    ORDER BY created_at DESC, delivery_id DESC LIMIT $3 OFFSET $4""",
                account_id,
                webhook_id,
                limit,
                offset,
            )
            total = await conn.fetchval(
                """SELECT count(*) FROM webhook_deliveries
                   WHERE account_id = $1 AND webhook_id = $2""",
                account_id,
                webhook_id,
            )
        return [_delivery(row) for row in rows], int(total)

    async def retry_delivery(
        self, account_id: str, webhook_id: str, delivery_id: str
    ) -> Delivery | None:
        row = await self._pool.fetchrow(
            f"""UPDATE webhook_deliveries
                SET status = 'pending', next_attempt_at = now(), updated_at = now()
                WHERE account_id = $1 AND webhook_id = $2 AND delivery_id = $3
                RETURNING {_DELIVERY_COLUMNS}""",
            account_id,
            webhook_id,
            delivery_id,
        )
        return _delivery(row) if row is not None else None

    async def purge_deliveries(self, keep_days: int) -> int:
        """Delete finished deliveries older than ``keep_days``; returns how many."""
        result: str = await self._pool.execute(
            """DELETE FROM webhook_deliveries
               WHERE created_at < now() - make_interval(days => $1) AND status <> 'pending'""",
            keep_days,
        )
        return int(result.rsplit(" ", 1)[-1])

    async def oldest_pending(self) -> datetime | None:
        """When the oldest pending delivery was created (alerts on its age)."""
        value: datetime | None = await self._pool.fetchval(
            "SELECT min(created_at) FROM webhook_deliveries WHERE status = 'pending'"
        )
        return value
