"""Limits as a client meets them, over real processes (issue 13, findings 5 and 8).

- The plan's rate limit is the account's: minting more keys does not multiply it. A key may carry
  a lower limit of its own; the ``X-RateLimit-*`` headers (and ``/v1/account/usage``) report the
  tighter window. Checked on a fresh in-process gateway and on two gateways sharing Redis.
- A key never outlives the key that created it.
- Failed authentications are capped per client address: past the cap, 429 without asking the
  keys service. ``X-Forwarded-For`` counts only from a trusted proxy.

Redis windows are named by account, key and client address; the accounts are new and the
addresses random (from the IPv6 documentation range, never contacted: they only travel in a
header), so parallel runs sharing the Redis database do not meet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import cycle
from typing import Any, Final

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.polling import eventually
from tests.support.stack import ApiAccount, Stack

REDIS_URL: Final = "redis://127.0.0.1:6379/0"
FAILED_AUTHENTICATIONS_PER_MIN: Final = 30  # the gateway's default
TRUSTING_LOOPBACK: Final = {"TRUSTED_PROXIES": "127.0.0.1/32"}
BOGUS_KEY: Final = {"Authorization": "Bearer sk_live_" + "B" * 40}


@pytest.fixture(scope="module", params=["in-process", "redis"])
def gateways(request: pytest.FixtureRequest, stack: Stack) -> Iterator[list[str]]:
    """Fresh gateways whose windows nothing else touched: one limiting in-process, or two
    sharing their windows through Redis (requests alternate between them). Both trust
    X-Forwarded-For from loopback, as behind an ingress."""
    if request.param == "in-process":
        envs = [TRUSTING_LOOPBACK]
    else:
        envs = [{**TRUSTING_LOOPBACK, "REDIS_URL": REDIS_URL}] * 2
    started = [
        stack.start_gateway(f"gateway-limits-{request.param}-{i}", env)
        for i, env in enumerate(envs)
    ]
    for process, _ in started:
        process.wait_ready()
    yield [url for _, url in started]
    for process, _ in started:
        process.stop()


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    body: dict[str, Any] = await response.json()
    return body


async def _create_key(
    http: aiohttp.ClientSession, stack: Stack, creator: dict[str, str], **fields: Any
) -> dict[str, Any]:
    """A key made through the stack's own gateway, so the windows under test stay untouched."""
    async with http.post(
        f"{stack.gateway_url}/v1/api-keys", json={"name": "extra", **fields}, headers=creator
    ) as resp:
        body = await _json(resp)
        assert resp.status == 201, body
        data: dict[str, Any] = body["data"]
        return data


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _usage(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], dict[str, Any]]:
    async with http.get(f"{url}/v1/account/usage", headers=headers) as resp:
        return resp.status, dict(resp.headers), await _json(resp)


def _assert_consistent(status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
    """A 200 from /v1/account/usage reports the very window its headers report."""
    if status == 200:
        rate_limit = body["data"]["rate_limit"]
        assert str(rate_limit["limit"]) == headers["X-RateLimit-Limit"]
        assert str(rate_limit["remaining"]) == headers["X-RateLimit-Remaining"]
        assert str(rate_limit["reset"]) == headers["X-RateLimit-Reset"]


def _assert_limited(status: int, headers: dict[str, str], body: dict[str, Any], limit: int) -> None:
    assert status == 429, body
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert headers["X-RateLimit-Limit"] == str(limit)
    assert headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert body["error"]["details"]["retry_after"] == int(headers["Retry-After"])


async def test_keys_of_an_account_share_its_plan_limit(
    stack: Stack, gateways: list[str], http: aiohttp.ClientSession
) -> None:
    account = stack.create_account("four-keys", rate_limit=20)
    secrets_ = [account.api_key]
    for _ in range(3):
        secrets_.append((await _create_key(http, stack, account.headers))["api_key"])
    statuses, remaining = [], []
    for i, url in zip(range(60), cycle(gateways), strict=False):
        status, headers, body = await _usage(http, url, _bearer(secrets_[i % 4]))
        statuses.append(status)
        if status == 200:
            assert headers["X-RateLimit-Limit"] == "20"
            remaining.append(int(headers["X-RateLimit-Remaining"]))
            _assert_consistent(status, headers, body)
        else:
            _assert_limited(status, headers, body, limit=20)
    assert statuses == [200] * 20 + [429] * 40
    assert remaining == list(range(19, -1, -1))


async def test_a_key_with_its_own_lower_limit(
    stack: Stack, gateways: list[str], http: aiohttp.ClientSession
) -> None:
    account = stack.create_account("own-limits", rate_limit=20)
    slow = await _create_key(http, stack, account.headers, name="slow", rate_limit=5)
    medium = await _create_key(http, stack, account.headers, name="medium", rate_limit=10)
    assert (slow["rate_limit"], medium["rate_limit"]) == (5, 10)
    async with http.get(f"{stack.gateway_url}/v1/api-keys", headers=account.headers) as resp:
        listed = {key["key_id"]: key["rate_limit"] for key in (await _json(resp))["data"]}
    assert listed[slow["key_id"]] == 5 and listed[medium["key_id"]] == 10
    assert sorted(listed.values(), key=lambda limit: limit or 0) == [None, 5, 10]
    urls = cycle(gateways)

    async def use(secret: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        status, headers, body = await _usage(http, next(urls), _bearer(secret))
        _assert_consistent(status, headers, body)
        return status, headers, body

    # The slow key's own window is the tighter one: 5, then 429 while the account has room.
    for left in range(4, -1, -1):
        status, headers, _ = await use(slow["api_key"])
        assert status == 200
        assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("5", str(left))
    for _ in range(2):
        _assert_limited(*await use(slow["api_key"]), limit=5)
    # Its 5 accepted requests were the account's too; its 2 refused ones were not.
    for left in range(14, 3, -1):
        status, headers, _ = await use(account.api_key)
        assert status == 200
        assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("20", str(left))
    # With 4 left in the account and 10 in the medium key's own window, the account is tighter.
    for left in range(3, -1, -1):
        status, headers, _ = await use(medium["api_key"])
        assert status == 200
        assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("20", str(left))
    _assert_limited(*await use(medium["api_key"]), limit=20)


@pytest.mark.parametrize("rate_limit", [0, -1, 2**31, 1.5, "5", True, [5]])
async def test_a_key_rate_limit_must_be_a_positive_integer(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession, rate_limit: object
) -> None:
    async with http.post(
        f"{stack.gateway_url}/v1/api-keys",
        json={"name": "bad limit", "rate_limit": rate_limit},
        headers=account.headers,
    ) as resp:
        body = await _json(resp)
        assert resp.status == 400, body
        assert body["error"]["code"] == "INVALID_PARAMETER"
        assert body["error"]["details"] == {"field": "rate_limit"}


async def test_a_key_never_outlives_the_key_that_created_it(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    parent_expiry = datetime.now(UTC) + timedelta(seconds=8)
    parent = await _create_key(
        http, stack, account.headers, name="short-lived", expires_at=parent_expiry.isoformat()
    )
    as_parent = _bearer(parent["api_key"])
    inherited = await _create_key(http, stack, as_parent, name="no expiry asked")
    assert parent["expires_at"] is not None
    assert inherited["expires_at"] == parent["expires_at"]
    sooner = (parent_expiry - timedelta(seconds=3)).replace(microsecond=0)
    earlier = await _create_key(http, stack, as_parent, expires_at=sooner.isoformat())
    assert earlier["expires_at"] == sooner.strftime("%Y-%m-%dT%H:%M:%SZ")
    for later in (parent_expiry + timedelta(hours=1), (parent_expiry + timedelta(days=2)).date()):
        async with http.post(
            f"{stack.gateway_url}/v1/api-keys",
            json={"name": "outliving", "expires_at": later.isoformat()},
            headers=as_parent,
        ) as resp:
            body = await _json(resp)
            assert resp.status == 400, body
            assert body["error"]["code"] == "INVALID_PARAMETER"
            assert body["error"]["details"] == {"field": "expires_at"}
    # A key without an expiry still makes keys without one.
    assert (await _create_key(http, stack, account.headers))["expires_at"] is None

    async with http.get(f"{stack.gateway_url}/v1/api-keys", headers=account.headers) as resp:
        listed = {key["key_id"]: key for key in (await _json(resp))["data"]}
    assert listed[inherited["key_id"]]["expires_at"] == parent["expires_at"]

    async def refused() -> tuple[int, dict[str, str], dict[str, Any]] | None:
        answer = await _usage(http, stack.gateway_url, _bearer(inherited["api_key"]))
        return None if answer[0] == 200 else answer

    # Polled slowly until the inherited expiry passes: only the last answer is a failed
    # authentication of this address.
    wait_s = max(0.0, (parent_expiry - datetime.now(UTC)).total_seconds()) + 10
    status, _, body = await eventually(refused, wait_s, "the key refused once expired", 0.5)
    assert status == 401, body
    assert body["error"]["code"] == "INVALID_API_KEY"


def _random_client() -> ipaddress.IPv6Address:
    """A client in its own /64 of 2001:db8::/32 (documentation addresses)."""
    return ipaddress.IPv6Address((0x20010DB8 << 96) | (secrets.randbits(32) << 64) | 1)


def _keys_authentications(stack: Stack) -> float:
    """Authenticate calls the keys service has answered, whatever their outcome."""
    keys = next(p for p in stack.processes if p.name == "keys")
    with urllib.request.urlopen(f"http://127.0.0.1:{keys.admin_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "qrforge_keys_authentications"
        for sample in family.samples
        if sample.name == "qrforge_keys_authentications_total"
    )


async def _status_from(
    http: aiohttp.ClientSession, url: str, client: object, headers: dict[str, str]
) -> tuple[int, dict[str, str], dict[str, Any]]:
    return await _usage(http, url, {**headers, "X-Forwarded-For": str(client)})


async def test_failed_authentications_are_capped_per_client_address(
    stack: Stack, account: ApiAccount, gateways: list[str], http: aiohttp.ClientSession
) -> None:
    client = _random_client()
    urls = cycle(gateways)
    for _ in range(FAILED_AUTHENTICATIONS_PER_MIN):
        status, _, body = await _status_from(http, next(urls), client, BOGUS_KEY)
        assert status == 401, body
    asked = _keys_authentications(stack)
    neighbour = client + 0xBEEF  # same /64: the same subscriber
    for address, headers in ((client, BOGUS_KEY), (neighbour, {}), (client, account.headers)):
        status, response_headers, body = await _status_from(http, next(urls), address, headers)
        assert status == 429, body
        assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert 1 <= int(response_headers["Retry-After"]) <= 60
        assert body["error"]["details"]["retry_after"] == int(response_headers["Retry-After"])
        assert "X-RateLimit-Limit" not in response_headers  # not an authenticated response
    assert _keys_authentications(stack) == asked, "a refused address still reached keys"
    # Other addresses are not held back by this one.
    other = _random_client()
    status, _, _ = await _status_from(http, next(urls), other, BOGUS_KEY)
    assert status == 401
    status, _, _ = await _status_from(http, next(urls), other, account.headers)
    assert status == 200


async def test_a_burst_of_guesses_reaches_keys_a_few_more_times_than_the_cap_at_most(
    stack: Stack, account: ApiAccount, gateways: list[str], http: aiohttp.ClientSession
) -> None:
    """Guesses sent all at once cannot all pass the failure check before the first failure is
    counted; and a key the gateways know keeps working from the guessed-from address (the
    guesser's NAT neighbours are not locked out)."""
    client = _random_client()
    for url in gateways:  # the neighbour's key, known to every gateway before the burst
        status, _, _ = await _status_from(http, url, client, account.headers)
        assert status == 200
    burst = 300
    connector = aiohttp.TCPConnector(limit=burst)
    async with aiohttp.ClientSession(connector=connector) as flood:
        answers = await asyncio.gather(
            *(
                _status_from(flood, gateways[i % len(gateways)], client, BOGUS_KEY)
                for i in range(burst)
            )
        )
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) == {401, 429}, statuses
    # Checked before and counted after keys answers: the overshoot is bounded by the few
    # authentications an address may have in flight on each gateway, not by the burst.
    in_flight_per_gateway = 4
    assert statuses[401] <= FAILED_AUTHENTICATIONS_PER_MIN + in_flight_per_gateway * len(gateways)
    for url in gateways:
        status, _, body = await _status_from(http, url, client, account.headers)
        assert status == 200, body


async def test_forwarded_for_from_an_untrusted_peer_is_not_believed(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    gateway, url = stack.start_gateway("gateway-untrusting")  # no TRUSTED_PROXIES
    gateway.wait_ready()
    try:
        # A fresh X-Forwarded-For on every guess would be a fresh window if the header counted.
        for _ in range(FAILED_AUTHENTICATIONS_PER_MIN):
            status, _, _ = await _status_from(http, url, _random_client(), BOGUS_KEY)
            assert status == 401
        status, headers, body = await _status_from(http, url, _random_client(), BOGUS_KEY)
        assert status == 429, body
        assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert 1 <= int(headers["Retry-After"]) <= 60
    finally:
        gateway.stop()


async def test_a_key_never_has_a_looser_rate_limit_than_the_key_that_created_it(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    parent = await _create_key(http, stack, account.headers, name="slow parent", rate_limit=3)
    as_parent = _bearer(parent["api_key"])
    inherited = await _create_key(http, stack, as_parent, name="no limit asked")
    assert inherited["rate_limit"] == 3
    tighter = await _create_key(http, stack, as_parent, name="tighter", rate_limit=2)
    assert tighter["rate_limit"] == 2
    async with http.post(
        f"{stack.gateway_url}/v1/api-keys",
        json={"name": "looser", "rate_limit": 1000},
        headers=as_parent,
    ) as resp:
        body = await _json(resp)
        assert resp.status == 400, body
        assert body["error"]["code"] == "INVALID_PARAMETER"
        assert body["error"]["details"] == {"field": "rate_limit"}
    # The child is held to the limit it inherited: 3 answers in the window, then 429.
    statuses = [
        (await _usage(http, stack.gateway_url, _bearer(inherited["api_key"])))[0] for _ in range(6)
    ]
    assert statuses == [200] * 3 + [429] * 3


async def test_revoking_a_key_revokes_every_key_made_from_it(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    """A stolen key that minted itself successors: revoking it must end them all."""
    stolen = await _create_key(http, stack, account.headers, name="stolen")
    child = await _create_key(http, stack, _bearer(stolen["api_key"]), name="successor")
    grandchild = await _create_key(http, stack, _bearer(child["api_key"]), name="its successor")
    bystander = await _create_key(http, stack, account.headers, name="unrelated")
    for key in (child, grandchild):  # they work before the revocation (and are cached)
        assert (await _usage(http, stack.gateway_url, _bearer(key["api_key"])))[0] == 200

    async with http.delete(
        f"{stack.gateway_url}/v1/api-keys/{stolen['key_id']}", headers=account.headers
    ) as resp:
        assert resp.status in (200, 204), await resp.text()

    async def refused(key: dict[str, Any]) -> bool:
        status, _, body = await _usage(http, stack.gateway_url, _bearer(key["api_key"]))
        return status == 401 and body["error"]["code"] == "INVALID_API_KEY"

    async def successors_refused() -> bool:
        return await refused(child) and await refused(grandchild)

    # Revocation reaches every gateway within a second (events evict cached keys).
    await eventually(successors_refused, 10, "the successors refused", 0.1)
    assert (await _usage(http, stack.gateway_url, _bearer(bystander["api_key"])))[0] == 200
    async with http.get(f"{stack.gateway_url}/v1/api-keys", headers=account.headers) as resp:
        live = {key["key_id"] for key in (await _json(resp))["data"]}
    assert {stolen["key_id"], child["key_id"], grandchild["key_id"]}.isdisjoint(live)
    assert bystander["key_id"] in live
