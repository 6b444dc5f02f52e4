"""gRPC transport of the keys service: messages in, plain values to :class:`KeyOperations`,
messages out. A raised ApiError becomes a status + ``qrforge-error-code`` in the interceptor."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from qrforge.v1 import keys_pb2, keys_pb2_grpc
from services.keys.accounts import Account
from services.keys.apikeys import ApiKey
from services.keys.operations import KeyOperations


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _optional_datetime(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def account_message(account: Account) -> keys_pb2.Account:
    return keys_pb2.Account(
        account_id=account.account_id,
        name=account.name,
        plan=account.plan,
        api_access=account.api_access,
        rate_limit_per_min=account.rate_limit_per_min,
        max_codes=account.max_codes,
        created_at=_timestamp(account.created_at),
    )


def key_message(key: ApiKey) -> keys_pb2.ApiKey:
    message = keys_pb2.ApiKey(
        key_id=key.key_id,
        account_id=key.account_id,
        name=key.name,
        permissions=list(key.permissions),
        prefix=key.prefix,
        created_at=_timestamp(key.created_at),
        rate_limit_per_min=key.rate_limit_per_min or 0,
    )
    # Unset means "never used" / "never expires", so only set what exists.
    if key.last_used_at is not None:
        message.last_used_at.CopyFrom(_timestamp(key.last_used_at))
    if key.expires_at is not None:
        message.expires_at.CopyFrom(_timestamp(key.expires_at))
    return message


class KeysServicer(keys_pb2_grpc.KeysServiceServicer):
    def __init__(self, operations: KeyOperations) -> None:
        self._operations = operations

    async def Authenticate(  # noqa: N802 - gRPC method name
        self, request: keys_pb2.AuthenticateRequest, context: object
    ) -> keys_pb2.AuthenticateResponse:
        account, key = await self._operations.authenticate(request.api_key)
        return keys_pb2.AuthenticateResponse(account=account_message(account), key=key_message(key))

    async def CreateKey(  # noqa: N802 - gRPC method name
        self, request: keys_pb2.CreateKeyRequest, context: object
    ) -> keys_pb2.CreateKeyResponse:
        minted = await self._operations.create_key(
            account_id=request.account_id,
            name=request.name,
            permissions=list(request.permissions),
            creator_permissions=list(request.creator_permissions),
            expires_at=_optional_datetime(request.expires_at, request.HasField("expires_at")),
            creator_expires_at=_optional_datetime(
                request.creator_expires_at, request.HasField("creator_expires_at")
            ),
            rate_limit_per_min=request.rate_limit_per_min or None,
            creator_key_id=request.creator_key_id or None,
            creator_rate_limit_per_min=request.creator_rate_limit_per_min or None,
        )
        return keys_pb2.CreateKeyResponse(key=key_message(minted.key), api_key=minted.secret)

    async def ListKeys(  # noqa: N802 - gRPC method name
        self, request: keys_pb2.ListKeysRequest, context: object
    ) -> keys_pb2.ListKeysResponse:
        keys = await self._operations.list_keys(request.account_id)
        return keys_pb2.ListKeysResponse(keys=[key_message(key) for key in keys])

    async def RevokeKey(  # noqa: N802 - gRPC method name
        self, request: keys_pb2.RevokeKeyRequest, context: object
    ) -> keys_pb2.RevokeKeyResponse:
        await self._operations.revoke_key(request.account_id, request.key_id)
        return keys_pb2.RevokeKeyResponse()

    async def GetAccount(  # noqa: N802 - gRPC method name
        self, request: keys_pb2.GetAccountRequest, context: object
    ) -> keys_pb2.Account:
        return account_message(await self._operations.get_account(request.account_id))
