"""Postgres access for idempotency records (``idempotency_keys``), always scoped by account and
API key: a record is only ever seen by the key whose request made it.

The claim is one statement: insert a ``pending`` row, or take over the key's row if that one
expired or its claim was abandoned; ``ON CONFLICT`` makes two racing requests agree on a single
winner without locks held across the request. Expired rows are ignored by every read and
deleted in small batches by :func:`purge_expired`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from services.gateway.idempotency.policy import CLAIM_LEASE_S, RETENTION_S

PURGE_BATCH: Final = 1000


@dataclass(frozen=True, slots=True)
class IdempotencyRow:
    fingerprint: bytes
    complete: bool
    status: int | None
    headers: tuple[tuple[str, str], ...]
    sealed_body: bytes | None


async def claim(
    pool: Any,
    account_id: str,
    api_key_id: str,
    key_hash: bytes,
    fingerprint: bytes,
    claim_id: uuid.UUID,
    *,
    lease_s: float = CLAIM_LEASE_S,
    retention_s: float = RETENTION_S,
) -> bool:
    """True when this request now owns the key and must execute; False when a live record
    (pending or complete) already holds it: look at it with :func:`find`."""
    claimed = await pool.fetchval(
        """INSERT INTO idempotency_keys AS k (account_id, api_key_id, key_hash, fingerprint,
                   claim_id, state, lease_until, expires_at)
           VALUES ($1, $2, $3, $4, $5, 'pending', now() + make_interval(secs => $6),
                   now() + make_interval(secs => $7))
           ON CONFLICT (account_id, api_key_id, key_hash) DO UPDATE
               SET fingerprint = EXCLUDED.fingerprint, claim_id = EXCLUDED.claim_id,
                   state = 'pending', status = NULL, headers = NULL, body = NULL,
                   created_at = now(), lease_until = EXCLUDED.lease_until,
                   expires_at = EXCLUDED.expires_at
               WHERE k.expires_at <= now() OR (k.state = 'pending' AND k.lease_until <= now())
           RETURNING claim_id""",
        account_id,
        api_key_id,
        key_hash,
        fingerprint,
        claim_id,
        float(lease_s),
        float(retention_s),
    )
    return bool(claimed == claim_id)


async def find(
    pool: Any, account_id: str, api_key_id: str, key_hash: bytes
) -> IdempotencyRow | None:
    """The live record for this account, API key and Idempotency-Key, if any (expired ones do
    not count)."""
    row = await pool.fetchrow(
        """SELECT fingerprint, state, status, headers, body FROM idempotency_keys
           WHERE account_id = $1 AND api_key_id = $2 AND key_hash = $3 AND expires_at > now()""",
        account_id,
        api_key_id,
        key_hash,
    )
    if row is None:
        return None
    headers = tuple((str(name), str(value)) for name, value in row["headers"] or ())
    return IdempotencyRow(
        fingerprint=bytes(row["fingerprint"]),
        complete=row["state"] == "complete",
        status=row["status"],
        headers=headers,
        sealed_body=bytes(row["body"]) if row["body"] is not None else None,
    )


async def complete(
    pool: Any,
    account_id: str,
    api_key_id: str,
    key_hash: bytes,
    claim_id: uuid.UUID,
    *,
    status: int,
    headers: tuple[tuple[str, str], ...],
    sealed_body: bytes,
) -> bool:
    """Store the response under our claim; False if the claim was lost meanwhile (taken over
    after its lease), in which case nothing is written."""
    result: str = await pool.execute(
        """UPDATE idempotency_keys SET state = 'complete', status = $5, headers = $6, body = $7
           WHERE account_id = $1 AND api_key_id = $2 AND key_hash = $3 AND claim_id = $4
             AND state = 'pending'""",
        account_id,
        api_key_id,
        key_hash,
        claim_id,
        status,
        [list(pair) for pair in headers],
        sealed_body,
    )
    return result.endswith(" 1")


async def release(
    pool: Any, account_id: str, api_key_id: str, key_hash: bytes, claim_id: uuid.UUID
) -> None:
    """Drop our pending claim (the request failed with a 5xx): a retry executes again."""
    await pool.execute(
        """DELETE FROM idempotency_keys
           WHERE account_id = $1 AND api_key_id = $2 AND key_hash = $3 AND claim_id = $4
             AND state = 'pending'""",
        account_id,
        api_key_id,
        key_hash,
        claim_id,
    )


async def purge_expired(pool: Any, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` expired records; returns how many went."""
    result: str = await pool.execute(
        """DELETE FROM idempotency_keys WHERE ctid IN (
               SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)""",
        limit,
    )
    return int(result.rsplit(" ", 1)[-1])
