from __future__ import annotations

import asyncio

import pytest

from services.gateway.account.auth_failures import (
    InFlightAuthentications,
    TooManyInFlightError,
    failure_window,
)
from services.runtime.client_ip import address_source, client_source, parse_networks

LOOPBACK = parse_networks(("127.0.0.1",))


def test_ipv4_addresses_count_alone() -> None:
    assert address_source("203.0.113.7") == "203.0.113.7"
    assert address_source("::ffff:203.0.113.7") == "203.0.113.7"


def test_ipv6_addresses_count_by_their_64() -> None:
    assert address_source("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_source("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_source("2001:db8:1:3::1") == "2001:db8:1:3::/64"


def test_the_source_follows_forwarded_for_only_from_a_trusted_proxy() -> None:
    assert client_source("127.0.0.1", "198.51.100.4", LOOPBACK) == "198.51.100.4"
    assert client_source("192.0.2.9", "198.51.100.4", LOOPBACK) == "192.0.2.9"
    window = failure_window(client_source("192.0.2.9", None, ()), 30)
    assert window.name.endswith(":192.0.2.9")
    assert window.limit == 30


async def test_an_address_has_a_few_authentications_in_flight_and_a_bounded_queue() -> None:
    gate = InFlightAuthentications(concurrency=2, max_waiting=3)
    release = asyncio.Event()
    inside = 0
    most_inside = 0

    async def authenticate() -> None:
        nonlocal inside, most_inside
        async with gate.turn("198.51.100.4"):
            inside += 1
            most_inside = max(most_inside, inside)
            await release.wait()
            inside -= 1

    holders = [asyncio.create_task(authenticate()) for _ in range(5)]
    await asyncio.sleep(0)
    with pytest.raises(TooManyInFlightError):
        async with gate.turn("198.51.100.4"):
            pass
    async with gate.turn("203.0.113.9"):  # another address is not held up
        pass
    release.set()
    await asyncio.gather(*holders)
    assert most_inside == 2
    assert not gate._holders and not gate._turns  # nothing kept once the requests are done
