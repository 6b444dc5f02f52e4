from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from qrforge.v1 import keys_pb2, keys_pb2_grpc
from services.keys import tokens
from services.keys.operations import create_account_with_key
from services.keys.settings import KeysSettings
from services.runtime.grpc_client import open_channel
from services.runtime.metrics import registry
from tests.service.keys.conftest import (
    GRPC_AUTH_TOKEN,
    PEPPER,
    Accounts,
    RevokedEvents,
    RunningKeys,
    running_keys,
)
from tests.support.processes import free_port

if TYPE_CHECKING:
    # Only the type stubs name the asyncio flavour of the generated stub.
    from qrforge.v1.keys_pb2_grpc import KeysServiceAsyncStub as Stub

BOTH = ["read", "write"]


async def rpc_error(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def trailer(err: grpc.aio.AioRpcError, key: str) -> str | None:
    for name, value in err.trailing_metadata() or ():
        if name == key and isinstance(value, str):
            return value
    return None


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


async def assert_invalid_key(stub: Stub, api_key: str) -> None:
    err = await rpc_error(stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=api_key)))
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert trailer(err, "qrforge-error-code") == "INVALID_API_KEY"


async def test_key_lifecycle_create_authenticate_list_revoke(
    stub: Stub, accounts: Accounts, revoked_events: RevokedEvents
) -> None:
    created = await accounts.create("Lifecycle Ltd")
    account_id = created.account.account_id

    response = await stub.CreateKey(
        keys_pb2.CreateKeyRequest(
            account_id=account_id,
            name="reporting",
            permissions=["read"],
            creator_permissions=BOTH,
        )
    )
    secret = response.api_key
    assert tokens.is_well_formed(secret)
    assert response.key.prefix == secret[:12]
    assert list(response.key.permissions) == ["read"]
    assert not response.key.HasField("expires_at")

    auth = await stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=secret))
    assert auth.key.key_id == response.key.key_id
    assert auth.account.account_id == account_id
    assert auth.account.plan == "starter"
    assert auth.account.api_access is True
    assert auth.account.rate_limit_per_min == 1_000
    assert auth.account.max_codes == 1_000

    listed = await stub.ListKeys(keys_pb2.ListKeysRequest(account_id=account_id))
    expected = {created.first_key.key.key_id, response.key.key_id}
    assert {key.key_id for key in listed.keys} == expected
    wire, text = listed.SerializeToString(), str(listed)
    for sensitive in (secret, created.first_key.secret, tokens.hash_secret(PEPPER, secret)):
        assert sensitive.encode() not in wire
        assert sensitive not in text

    await stub.RevokeKey(keys_pb2.RevokeKeyRequest(account_id=account_id, key_id=auth.key.key_id))
    event = await revoked_events.next()
    assert event == {
        "routing_key": "key.revoked",
        "v": 1,
        "key_id": response.key.key_id,
        "account_id": account_id,
    }

    await assert_invalid_key(stub, secret)
    listed = await stub.ListKeys(keys_pb2.ListKeysRequest(account_id=account_id))
    assert [key.key_id for key in listed.keys] == [created.first_key.key.key_id]
    # The account's other key is untouched.
    await stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=created.first_key.secret))


@pytest.mark.parametrize(
    "api_key",
    ["", "not-a-key", "sk_live_short", "sk_live_" + "!" * tokens.SECRET_LENGTH],
)
async def test_malformed_keys_fail(stub: Stub, api_key: str) -> None:
    await assert_invalid_key(stub, api_key)


async def test_unknown_and_wrong_pepper_keys_fail(stub: Stub, accounts: Accounts) -> None:
    await assert_invalid_key(stub, tokens.mint_secret())
    # A key hashed under another pepper is stored but cannot be found: the pepper is key material.
    foreign = await create_account_with_key(accounts.store, pepper=b"another-pepper", name="X")
    await assert_invalid_key(stub, foreign.first_key.secret)


async def test_create_key_for_unknown_account_is_not_found(stub: Stub) -> None:
    err = await rpc_error(
        stub.CreateKey(
            keys_pb2.CreateKeyRequest(
                account_id="acc_nobody",
                name="k",
                permissions=["read"],
                creator_permissions=BOTH,
            )
        )
    )
    assert trailer(err, "qrforge-error-code") == "NOT_FOUND"


async def test_authentication_outcomes_are_counted(stub: Stub) -> None:
    def count(outcome: str) -> float:
        value = registry.get_sample_value(
            "qrforge_keys_authentications_total", {"outcome": outcome}
        )
        return value or 0.0

    before = count("malformed")
    await assert_invalid_key(stub, "nope")
    assert count("malformed") == before + 1


async def test_expired_key_fails(stub: Stub, accounts: Accounts, pool: asyncpg.Pool) -> None:
    created = await accounts.create()
    expires = datetime.now(UTC) + timedelta(hours=1)
    response = await stub.CreateKey(
        keys_pb2.CreateKeyRequest(
            account_id=created.account.account_id,
            name="short-lived",
            permissions=["read"],
            creator_permissions=BOTH,
            expires_at=timestamp(expires),
        )
    )
    assert abs(response.key.expires_at.ToDatetime(tzinfo=UTC) - expires) < timedelta(seconds=1)
    await stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=response.api_key))

    # Travel past the expiry instead of sleeping through it.
    await pool.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE key_id = $1",
        response.key.key_id,
    )
    await assert_invalid_key(stub, response.api_key)


async def test_expires_at_must_be_in_the_future(stub: Stub, accounts: Accounts) -> None:
    created = await accounts.create()
    err = await rpc_error(
        stub.CreateKey(
            keys_pb2.CreateKeyRequest(
                account_id=created.account.account_id,
                name="past",
                permissions=["read"],
                creator_permissions=BOTH,
                expires_at=timestamp(datetime.now(UTC) - timedelta(minutes=1)),
            )
        )
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert trailer(err, "qrforge-error-code") == "INVALID_PARAMETER"
    assert json.loads(trailer(err, "qrforge-error-details") or "{}") == {"field": "expires_at"}


@pytest.mark.parametrize(
    ("name", "permissions", "field"),
    [("", ["read"], "name"), ("x" * 201, ["read"], "name"), ("k", ["admin"], "permissions")],
)
async def test_invalid_key_requests(
    stub: Stub, accounts: Accounts, name: str, permissions: list[str], field: str
) -> None:
    created = await accounts.create()
    err = await rpc_error(
        stub.CreateKey(
            keys_pb2.CreateKeyRequest(
                account_id=created.account.account_id,
                name=name,
                permissions=permissions,
                creator_permissions=BOTH,
            )
        )
    )
    assert trailer(err, "qrforge-error-code") == "INVALID_PARAMETER"
    assert json.loads(trailer(err, "qrforge-error-details") or "{}") == {"field": field}


async def test_permission_escalation_is_refused(stub: Stub, accounts: Accounts) -> None:
    created = await accounts.create()
    err = await rpc_error(
        stub.CreateKey(
            keys_pb2.CreateKeyRequest(
                account_id=created.account.account_id,
                name="escalate",
                permissions=["read", "write"],
                creator_permissions=["read"],
            )
        )
    )
    assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    assert trailer(err, "qrforge-error-code") == "INSUFFICIENT_PERMISSION"
    listed = await stub.ListKeys(keys_pb2.ListKeysRequest(account_id=created.account.account_id))
    assert len(listed.keys) == 1


async def test_revoke_is_scoped_to_the_account(stub: Stub, accounts: Accounts) -> None:
    owner, other = await accounts.create("Owner"), await accounts.create("Other")
    victim = owner.first_key.key.key_id
    for account_id, key_id in [
        (other.account.account_id, victim),
        (owner.account.account_id, "key_doesnotexist00"),
    ]:
        err = await rpc_error(
            stub.RevokeKey(keys_pb2.RevokeKeyRequest(account_id=account_id, key_id=key_id))
        )
        assert err.code() is grpc.StatusCode.NOT_FOUND
        assert trailer(err, "qrforge-error-code") == "KEY_NOT_FOUND"
    await stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=owner.first_key.secret))
    # Another account's keys are not listed either.
    listed = await stub.ListKeys(keys_pb2.ListKeysRequest(account_id=other.account.account_id))
    assert victim not in {key.key_id for key in listed.keys}


async def test_revoking_twice_is_key_not_found(stub: Stub, accounts: Accounts) -> None:
    created = await accounts.create()
    request = keys_pb2.RevokeKeyRequest(
        account_id=created.account.account_id, key_id=created.first_key.key.key_id
    )
    await stub.RevokeKey(request)
    err = await rpc_error(stub.RevokeKey(request))
    assert trailer(err, "qrforge-error-code") == "KEY_NOT_FOUND"


async def test_get_account(stub: Stub, accounts: Accounts) -> None:
    created = await accounts.create("Pro Inc", plan="pro")
    account = await stub.GetAccount(
        keys_pb2.GetAccountRequest(account_id=created.account.account_id)
    )
    assert (account.name, account.plan, account.rate_limit_per_min, account.max_codes) == (
        "Pro Inc",
        "pro",
        5_000,
        100_000,
    )
    err = await rpc_error(stub.GetAccount(keys_pb2.GetAccountRequest(account_id="acc_nobody")))
    assert err.code() is grpc.StatusCode.NOT_FOUND
    assert trailer(err, "qrforge-error-code") == "NOT_FOUND"


async def test_last_used_at_is_written_by_the_batched_flush(
    stub: Stub, accounts: Accounts, settings: KeysSettings
) -> None:
    created = await accounts.create()
    request = keys_pb2.ListKeysRequest(account_id=created.account.account_id)
    assert not (await stub.ListKeys(request)).keys[0].HasField("last_used_at")

    before = datetime.now(UTC).replace(microsecond=0)
    for _ in range(5):
        await stub.Authenticate(keys_pb2.AuthenticateRequest(api_key=created.first_key.secret))
    deadline = asyncio.get_running_loop().time() + settings.last_used_flush_s * 10
    while True:
        key = (await stub.ListKeys(request)).keys[0]
        if key.HasField("last_used_at"):
            break
        assert asyncio.get_running_loop().time() < deadline, "last_used_at never flushed"
        await asyncio.sleep(settings.last_used_flush_s / 3)
    assert key.last_used_at.ToDatetime(tzinfo=UTC) >= before


async def test_revocation_stands_when_the_broker_is_down(
    settings: KeysSettings, accounts: Accounts, keys_app: RunningKeys
) -> None:
    # Nothing listens on the broker's port: the service starts anyway, is ready, and its
    # readiness body reports the broker down.
    offline_settings = KeysSettings(
        port=free_port(),
        admin_port=free_port(),
        database_url=settings.database_url,
        amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        key_pepper=PEPPER,
        grpc_auth_token=GRPC_AUTH_TOKEN,
        shutdown_grace_s=1.0,
        publish_timeout_s=0.5,
    )
    async with running_keys(offline_settings) as offline:
        ready = await offline.wait_ready()
        assert ready["status"] == "ready"
        assert ready["dependencies"] == {"rabbitmq": "down"}
        assert (await keys_app.readyz())[1]["dependencies"] == {"rabbitmq": "up"}

        created = await accounts.create()
        failures_before = (
            registry.get_sample_value("qrforge_keys_revocation_publish_failures_total") or 0.0
        )
        channel = open_channel(offline.address, auth_token=GRPC_AUTH_TOKEN)
        try:
            stub = keys_pb2_grpc.KeysServiceStub(channel)
            await stub.RevokeKey(
                keys_pb2.RevokeKeyRequest(
                    account_id=created.account.account_id, key_id=created.first_key.key.key_id
                )
            )
            await assert_invalid_key(stub, created.first_key.secret)
        finally:
            await channel.close()
        assert (
            registry.get_sample_value("qrforge_keys_revocation_publish_failures_total")
            == failures_before + 1
        )
