"""One stream's loop: the opening comment, queued frames written together, heartbeats when
idle, and its end: shutdown, a client gone, a revoked key."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

from services.gateway.account.auth import Authenticator
from services.gateway.account.principal import Principal
from services.gateway.stream import sse
from services.gateway.stream.hub import (
    CLIENT_GONE,
    KEY_REVOKED,
    SHUTDOWN,
    ScanStreamHub,
)
from services.gateway.stream.session import key_check, run_stream
from services.runtime.enriched_scans import EnrichedScan
from services.runtime.errors import ApiError


def scan(n: int) -> EnrichedScan:
    return EnrichedScan(
        event_id=f"evt{n}",
        account_id="acc_a",
        qr_id="qr_1",
        scanned_at=datetime(2026, 3, 12, 10, 30, n, tzinfo=UTC),
    )


class Client:
    def __init__(self, fail_after: int | None = None) -> None:
        self.received: list[bytes] = []
        self.connected = True
        self._fail_after = fail_after
        self.arrived = asyncio.Event()

    async def write(self, data: bytes) -> None:
        if self._fail_after is not None and len(self.received) >= self._fail_after:
            raise ConnectionResetError("Cannot write to closing transport")
        self.received.append(data)
        self.arrived.set()

    async def next_write(self) -> bytes:
        await asyncio.wait_for(self.arrived.wait(), 2)
        self.arrived.clear()
        return self.received[-1]


async def allowed() -> bool:
    return True


async def test_frames_then_heartbeats_then_a_clean_end_on_shutdown() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    subscription = hub.subscribe("acc_a", None)
    client = Client()
    stream = asyncio.create_task(
        run_stream(
            subscription,
            client.write,
            heartbeat_s=0.05,
            connected=lambda: client.connected,
            still_allowed=allowed,
        )
    )
    assert await client.next_write() == sse.OPENING
    hub.publish([scan(1), scan(2)])
    assert await client.next_write() == sse.scan_event(scan(1)) + sse.scan_event(scan(2))
    assert await client.next_write() == sse.HEARTBEAT
    assert await client.next_write() == sse.HEARTBEAT
    await hub.close(grace_s=0)
    assert await asyncio.wait_for(stream, 2) == SHUTDOWN


async def test_a_client_that_left_ends_the_stream() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    client = Client()
    client.connected = False
    reason = await asyncio.wait_for(
        run_stream(
            hub.subscribe("acc_a", None),
            client.write,
            heartbeat_s=0.05,
            connected=lambda: client.connected,
            still_allowed=allowed,
        ),
        3,
    )
    assert reason == CLIENT_GONE


async def test_a_failed_write_ends_the_stream() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    subscription = hub.subscribe("acc_a", None)
    client = Client(fail_after=1)
    stream = asyncio.create_task(
        run_stream(
            subscription,
            client.write,
            heartbeat_s=10,
            connected=lambda: True,
            still_allowed=allowed,
        )
    )
    await client.next_write()
    hub.publish([scan(1)])
    assert await asyncio.wait_for(stream, 2) == CLIENT_GONE


async def test_a_revoked_key_ends_the_stream_at_its_heartbeat() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    client = Client()

    async def revoked() -> bool:
        return False

    reason = await asyncio.wait_for(
        run_stream(
            hub.subscribe("acc_a", None),
            client.write,
            heartbeat_s=0.05,
            connected=lambda: True,
            still_allowed=revoked,
        ),
        2,
    )
    assert reason == KEY_REVOKED
    assert client.received == [sse.OPENING]


class FakeAuthenticator:
    """Answers as keys would for the stream's key: a principal, or an error."""

    def __init__(self, answer: Principal | ApiError) -> None:
        self.answer = answer

    def known(self, secret: str | None) -> Principal | None:
        return None  # not cached: authenticate() is asked

    async def authenticate(self, secret: str | None) -> Principal:
        if isinstance(self.answer, ApiError):
            raise self.answer
        return self.answer


READER = Principal(
    account_id="acc_a",
    plan="starter",
    api_access=True,
    rate_limit_per_min=1000,
    max_codes=100,
    key_id="key_a",
    permissions=frozenset({"read"}),
    expires_at=None,
    key_rate_limit_per_min=None,
)


async def test_the_key_check_ends_streams_only_on_a_definite_no() -> None:
    cases: list[tuple[Principal | ApiError, bool]] = [
        (READER, True),
        (ApiError("INVALID_API_KEY", "revoked"), False),
        (replace(READER, permissions=frozenset({"write"})), False),
        (replace(READER, api_access=False), False),
        (ApiError("SERVICE_UNAVAILABLE", "keys is down"), True),
    ]
    for answer, allowed in cases:
        check = key_check(cast(Authenticator, FakeAuthenticator(answer)), "secret")
        assert await check() is allowed, answer
