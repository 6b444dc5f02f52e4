"""Every question the gateway asks the keys service: who a key belongs to, and the account's
keys (list, create, revoke). Each call has the gateway's RPC deadline; a failed call is the
:class:`~services.runtime.errors.ApiError` it stands for (keys down or slow:
SERVICE_UNAVAILABLE)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from qrforge.v1 import keys_pb2, keys_pb2_grpc
from services.gateway.account.principal import Principal
from services.runtime.grpc_client import call_unary


@dataclass(frozen=True, slots=True)
class KeysBackend:
    """The keys service as the gateway calls it: its stub and the deadline of every call."""

    stub: keys_pb2_grpc.KeysServiceAsyncStub
    timeout_s: float


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key to create, validated: the keys service keeps it within its creator's rights."""

    name: str
    permissions: Sequence[str]
    rate_limit_per_min: int = 0  # 0 = none (the account's applies)
    expires_at: datetime | None = None


def principal_from(response: keys_pb2.AuthenticateResponse) -> Principal:
    account, key = response.account, response.key
    return Principal(
        account_id=account.account_id,
        plan=account.plan,
        api_access=account.api_access,
        rate_limit_per_min=account.rate_limit_per_min,
        max_codes=account.max_codes,
        key_id=key.key_id,
        permissions=frozenset(key.permissions),
        # Whole microseconds: a key it creates inherits this expiry exactly (a float of
        # Unix microseconds round-trips; nanoseconds would not).
        expires_at=key.expires_at.ToMicroseconds() / 1_000_000
        if key.HasField("expires_at")
        else None,
        key_rate_limit_per_min=key.rate_limit_per_min or None,
    )


async def authenticate(backend: KeysBackend, secret: str) -> Principal:
    """The caller ``secret`` belongs to; INVALID_API_KEY when unknown, revoked or expired."""
    response = await call_unary(
        backend.stub.Authenticate,
        keys_pb2.AuthenticateRequest(api_key=secret),
        timeout=backend.timeout_s,
        name="keys.Authenticate",
    )
    return principal_from(response)


async def list_keys(backend: KeysBackend, account_id: str) -> Sequence[keys_pb2.ApiKey]:
    response = await call_unary(
        backend.stub.ListKeys,
        keys_pb2.ListKeysRequest(account_id=account_id),
        timeout=backend.timeout_s,
        name="keys.ListKeys",
    )
    return list(response.keys)


def create_request(creator: Principal, new: NewKey) -> keys_pb2.CreateKeyRequest:
    """The request for ``new``, with what the keys service needs to keep it within the key
    that asks (its permissions, expiry and rate limit; revoking it revokes the new key)."""
    request = keys_pb2.CreateKeyRequest(
        account_id=creator.account_id,
        name=new.name,
        permissions=sorted(set(new.permissions)),
        creator_permissions=sorted(creator.permissions),
        rate_limit_per_min=new.rate_limit_per_min,
        creator_key_id=creator.key_id,
        creator_rate_limit_per_min=creator.key_rate_limit_per_min or 0,
    )
    if creator.expires_at is not None:  # the keys service keeps the new key within it
        request.creator_expires_at.FromMicroseconds(round(creator.expires_at * 1_000_000))
    if new.expires_at is not None:
        request.expires_at.FromDatetime(new.expires_at)
    return request


async def create_key(
    backend: KeysBackend, creator: Principal, new: NewKey
) -> keys_pb2.CreateKeyResponse:
    """The key made, and its secret (shown only here)."""
    return await call_unary(
        backend.stub.CreateKey,
        create_request(creator, new),
        timeout=backend.timeout_s,
        name="keys.CreateKey",
    )


async def revoke_key(backend: KeysBackend, account_id: str, key_id: str) -> None:
    """KEY_NOT_FOUND unless the account holds ``key_id``; the keys service announces it."""
    await call_unary(
        backend.stub.RevokeKey,
        keys_pb2.RevokeKeyRequest(account_id=account_id, key_id=key_id),
        timeout=backend.timeout_s,
        name="keys.RevokeKey",
    )
