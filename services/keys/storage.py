"""SQL for accounts and API keys. The only module that knows table and column names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from services.keys.accounts import Account
from services.keys.apikeys import ApiKey, MintedKey
from services.keys.plans import Limits


def _account(row: Mapping[str, Any]) -> Account:
    return Account(
        account_id=row["account_id"],
        name=row["name"],
        plan=row["plan"],
        api_access=row["api_access"],
        rate_limit_per_min=row["rate_limit_per_min"],
        max_codes=row["max_codes"],
        created_at=row["created_at"],
    )


def _key(row: Mapping[str, Any], prefix: str = "") -> ApiKey:
    return ApiKey(
        key_id=row[f"{prefix}key_id"],
        account_id=row[f"{prefix}account_id"],
        name=row[f"{prefix}name"],
        permissions=tuple(row[f"{prefix}permissions"]),
        prefix=row[f"{prefix}prefix"],
        created_at=row[f"{prefix}created_at"],
        last_used_at=row[f"{prefix}last_used_at"],
        expires_at=row[f"{prefix}expires_at"],
        revoked_at=row[f"{prefix}revoked_at"],
        rate_limit_per_min=row[f"{prefix}rate_limit_per_min"],
    )


class KeysStore:
    """Accounts and keys in Postgres, through one asyncpg pool owned by the caller."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_account(self, account: Account, first_key: MintedKey | None = None) -> None:
        """Insert an account, and its first key in the same transaction when given."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO accounts (account_id, name, plan, api_access, rate_limit_per_min,
                                       max_codes, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                account.account_id,
                account.name,
                account.plan,
                account.api_access,
                account.rate_limit_per_min,
                account.max_codes,
                account.created_at,
            )
            if first_key is not None:
                await self._insert_key(conn, first_key)

    async def get_account(self, account_id: str) -> Account | None:
        row = await self._pool.fetchrow(
            """SELECT account_id, name, plan, api_access, rate_limit_per_min, max_codes, created_at
                 FROM accounts WHERE account_id = $1""",
            account_id,
        )
        return None if row is None else _account(row)

    async def list_accounts(self) -> list[Account]:
        rows = await self._pool.fetch(
            """SELECT account_id, name, plan, api_access, rate_limit_per_min, max_codes, created_at
                 FROM accounts ORDER BY created_at, account_id"""
        )
        return [_account(row) for row in rows]

    async def set_limits(self, account_id: str, limits: Limits) -> Account | None:
        row = await self._pool.fetchrow(
            """UPDATE accounts
                   SET plan = $2, api_access = $3, rate_limit_per_min = $4, max_codes = $5
                 WHERE account_id = $1
             RETURNING account_id, name, plan, api_access, rate_limit_per_min, max_codes,
                       created_at""",
            account_id,
            limits.plan,
            limits.api_access,
            limits.rate_limit_per_min,
            limits.max_codes,
        )
        return None if row is None else _account(row)

    async def insert_key(self, minted: MintedKey, parent_key_id: str | None = None) -> bool:
        """False when the account does not exist, or ``parent_key_id`` is not a live key of
        it (revoked while it was asking: its child must not outlive the revocation)."""
        async with self._pool.acquire() as conn:
            try:
                return await self._insert_key(conn, minted, parent_key_id)
            except asyncpg.ForeignKeyViolationError:
                return False

    @staticmethod
    async def _insert_key(
        conn: asyncpg.Connection, minted: MintedKey, parent_key_id: str | None = None
    ) -> bool:
        key = minted.key
        # The parent is checked in the same statement: a revocation committed before it is
        # seen, and one committed after it finds this key among the parent's descendants.
        inserted = await conn.fetchval(
            """INSERT INTO api_keys (key_id, account_id, name, permissions, secret_hash, prefix,
                                     created_at, expires_at, rate_limit_per_min, parent_key_id)
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text
                WHERE $10::text IS NULL OR EXISTS (
                      SELECT FROM api_keys
                       WHERE key_id = $10::text AND account_id = $2 AND revoked_at IS NULL)
               RETURNING key_id""",
            key.key_id,
            key.account_id,
            key.name,
            list(key.permissions),
            minted.secret_hash,
            key.prefix,
            key.created_at,
            key.expires_at,
            key.rate_limit_per_min,
            parent_key_id,
        )
        return inserted is not None

    async def find_by_hash(self, secret_hash: str) -> tuple[Account, ApiKey] | None:
        """The key with this HMAC and its account, revoked or expired ones included (the caller
        decides, so it can count why a key was refused)."""
        row = await self._pool.fetchrow(
            """SELECT a.account_id, a.name, a.plan, a.api_access, a.rate_limit_per_min,
                      a.max_codes, a.created_at,
                      k.key_id AS k_key_id, k.account_id AS k_account_id, k.name AS k_name,
                      k.permissions AS k_permissions, k.prefix AS k_prefix,
                      k.created_at AS k_created_at, k.last_used_at AS k_last_used_at,
                      k.expires_at AS k_expires_at, k.revoked_at AS k_revoked_at,
                      k.rate_limit_per_min AS k_rate_limit_per_min
                 FROM api_keys k JOIN accounts a USING (account_id)
                WHERE k.secret_hash = $1""",
            secret_hash,
        )
        return None if row is None else (_account(row), _key(row, "k_"))

    async def list_live_keys(self, account_id: str) -> list[ApiKey]:
        rows = await self._pool.fetch(
            """SELECT key_id, account_id, name, permissions, prefix, created_at, last_used_at,
                      expires_at, revoked_at, rate_limit_per_min
                 FROM api_keys
                 WHERE account_id = $1 AND revoked_at IS NULL
                 ORDER BY created_at DESC, key_id""",
            account_id,
        )
        return [_key(row) for row in rows]

    async def revoke(self, account_id: str, key_id: str, at: datetime) -> list[str]:
        """Revoke a live key and every live key made from it, directly or not; the ids revoked,
        the key itself first (none when the account has no such live key, another account's
        key included)."""
        rows = await self._pool.fetch(
            """WITH RECURSIVE lineage AS (
                   SELECT key_id, 0 AS depth FROM api_keys
                    WHERE key_id = $1 AND account_id = $2 AND revoked_at IS NULL
                   UNION
                   SELECT child.key_id, lineage.depth + 1
                     FROM api_keys AS child JOIN lineage ON child.parent_key_id = lineage.key_id
                    WHERE child.account_id = $2
               )
               UPDATE api_keys AS k SET revoked_at = $3
                 FROM lineage
                WHERE k.key_id = lineage.key_id AND k.revoked_at IS NULL
            RETURNING k.key_id, lineage.depth""",
            key_id,
            account_id,
            at,
        )
        return [row["key_id"] for row in sorted(rows, key=lambda row: row["depth"])]

    async def write_last_used(self, batch: Mapping[str, datetime]) -> None:
        """One statement for the whole batch; never moves a timestamp backwards."""
        await self._pool.execute(
            """UPDATE api_keys AS k
                  SET last_used_at = GREATEST(k.last_used_at, u.at)
                 FROM unnest($1::text[], $2::timestamptz[]) AS u(key_id, at)
                WHERE k.key_id = u.key_id""",
            list(batch.keys()),
            list(batch.values()),
        )
