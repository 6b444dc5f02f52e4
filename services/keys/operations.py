"""What the keys service does, in plain async methods the gRPC servicer and the CLI call.

Rules live in the domain modules (:mod:`apikeys`, :mod:`permissions`, :mod:`plans`); this
module sequences them with storage, the last-used recorder and the revocation publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from services.keys import tokens
from services.keys.accounts import Account, new_account
from services.keys.apikeys import ApiKey, KeyState, MintedKey, invalid_api_key, key_state, mint_key
from services.keys.metrics import authentications_total
from services.keys.permissions import ALL as ALL_PERMISSIONS
from services.keys.plans import DEFAULT_PLAN, plan_limits
from services.keys.storage import KeysStore
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class UsageSink(Protocol):
    def record(self, key_id: str, at: datetime) -> None: ...


class RevocationSink(Protocol):
    async def publish_revoked(self, key_id: str, account_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    first_key: MintedKey


async def create_account_with_key(
    store: KeysStore,
    *,
    pepper: bytes,
    name: str,
    plan: str = DEFAULT_PLAN,
    now: datetime | None = None,
) -> NewAccount:
    """Bootstrap: an account and its first read+write key, committed together."""
    at = now or utc_now()
    account = new_account(name, plan_limits(plan), at)
    minted = mint_key(
        pepper=pepper,
        account_id=account.account_id,
        name="default",
        permissions=ALL_PERMISSIONS,
        creator_permissions=ALL_PERMISSIONS,
        expires_at=None,
        now=at,
    )
    await store.create_account(account, minted)
    log.info("account created", extra={"account_id": account.account_id, "plan": account.plan})
    return NewAccount(account=account, first_key=minted)


class KeyOperations:
    def __init__(
        self,
        store: KeysStore,
        *,
        pepper: bytes,
        usage: UsageSink,
        revocations: RevocationSink,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._pepper = pepper
        self._usage = usage
        self._revocations = revocations
        self._clock = clock

    async def authenticate(self, presented: str) -> tuple[Account, ApiKey]:
        """The key and its account; ``INVALID_API_KEY`` whatever the reason it is refused.

        Whether the account's plan allows API access is for the gateway to decide.
        """
        if not tokens.is_well_formed(presented):
            authentications_total.labels("malformed").inc()
            raise invalid_api_key()
        found = await self._store.find_by_hash(tokens.hash_secret(self._pepper, presented))
        if found is None:
            authentications_total.labels("unknown").inc()
            raise invalid_api_key()
        account, key = found
        now = self._clock()
        state = key_state(key, now)
        authentications_total.labels(state.value).inc()
        if state is not KeyState.USABLE:
            raise invalid_api_key()
        self._usage.record(key.key_id, now)
        return account, key

    async def create_key(
        self,
        *,
        account_id: str,
        name: str,
        permissions: Sequence[str],
        creator_permissions: Sequence[str],
        expires_at: datetime | None,
        creator_expires_at: datetime | None = None,
        rate_limit_per_min: int | None = None,
        creator_key_id: str | None = None,
        creator_rate_limit_per_min: int | None = None,
    ) -> MintedKey:
        minted = mint_key(
            pepper=self._pepper,
            account_id=account_id,
            name=name,
            permissions=permissions,
            creator_permissions=creator_permissions,
            expires_at=expires_at,
            now=self._clock(),
            creator_expires_at=creator_expires_at,
            rate_limit_per_min=rate_limit_per_min,
            creator_rate_limit_per_min=creator_rate_limit_per_min,
        )
        if not await self._store.insert_key(minted, creator_key_id):
            if creator_key_id is not None:
                # The asking key was revoked meanwhile: it is no longer a valid key.
                raise ApiError("INVALID_API_KEY", "The API key is revoked")
            raise ApiError("NOT_FOUND", "No such account")
        log.info("api key created", extra={"account_id": account_id, "key_id": minted.key.key_id})
        return minted

    async def list_keys(self, account_id: str) -> list[ApiKey]:
        return await self._store.list_live_keys(account_id)

    async def revoke_key(self, account_id: str, key_id: str) -> None:
        """Revoke in the database first: that is what makes the key fail; the event only
        shortens how long gateways keep a cached copy."""
        revoked = await self._store.revoke(account_id, key_id, self._clock())
        if not revoked:
            raise ApiError("KEY_NOT_FOUND", "No such API key in this account")
        for revoked_id in revoked:  # the key, then the keys made from it
            log.info("api key revoked", extra={"account_id": account_id, "key_id": revoked_id})
            await self._revocations.publish_revoked(revoked_id, account_id)

    async def get_account(self, account_id: str) -> Account:
        account = await self._store.get_account(account_id)
        if account is None:
            raise ApiError("NOT_FOUND", "No such account")
        return account
