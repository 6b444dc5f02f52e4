"""``/v1/api-keys``: list, create (secret shown once) and revoke the caller's account keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from qrforge.v1 import keys_pb2
from services.gateway.backends import keys
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.json_body import read_json_object
from services.gateway.http.path_params import path_id
from services.gateway.http.timestamps import format_timestamp, parse_datetime
from services.runtime.errors import ApiError

INT32_MAX: Final = 2**31 - 1  # a key's rate limit travels to the keys service as an int32


def key_json(key: keys_pb2.ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "permissions": list(key.permissions),
        "prefix": key.prefix,
        "created_at": format_timestamp(key.created_at, key.HasField("created_at")),
        "last_used_at": format_timestamp(key.last_used_at, key.HasField("last_used_at")),
        "expires_at": format_timestamp(key.expires_at, key.HasField("expires_at")),
        "rate_limit": key.rate_limit_per_min or None,
    }


async def list_keys(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    listed = await keys.list_keys(ctx.keys_backend, principal.account_id)
    return ok([key_json(key) for key in listed])


def _rate_limit(body: dict[str, Any]) -> int:
    """The key's own requests per minute; 0 (none) when absent. It travels as an int32."""
    value = body.get("rate_limit")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= INT32_MAX:
        raise ApiError(
            "INVALID_PARAMETER",
            f"rate_limit must be an integer from 1 to {INT32_MAX} (requests per minute)",
            field="rate_limit",
        )
    return value


def _new_key(body: dict[str, Any]) -> keys.NewKey:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ApiError(
            "INVALID_PARAMETER", "name must be a string of 1 to 200 characters", field="name"
        )
    permissions = body.get("permissions", ["read", "write"])
    if (
        not isinstance(permissions, list)
        or not permissions
        or not all(p in ("read", "write") for p in permissions)
    ):
        raise ApiError(
            "INVALID_PARAMETER",
            'permissions must be a non-empty list of "read", "write"',
            field="permissions",
        )
    rate_limit = _rate_limit(body)
    expires = None
    if body.get("expires_at") is not None:
        expires = parse_datetime(body["expires_at"], "expires_at", end_of_day=True)
        if expires <= datetime.now(UTC):
            raise ApiError(
                "INVALID_PARAMETER", "expires_at must be in the future", field="expires_at"
            )
    return keys.NewKey(name.strip(), permissions, rate_limit, expires)


async def create_key(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    response = await keys.create_key(ctx.keys_backend, principal, _new_key(body))
    return ok({**key_json(response.key), "api_key": response.api_key}, status=201)


async def revoke_key(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    key_id = path_id(request, "key_id", "key")
    await keys.revoke_key(ctx.keys_backend, principal.account_id, key_id)
    # This replica forgets the key now; the others hear key.revoked.
    ctx.authenticator.evict_key(key_id)
    return ok({"key_id": key_id, "revoked": True})
