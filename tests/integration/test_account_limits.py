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

from tests.support.api_client import ApiClient, ApiResponse
from tests.support.polling import eventually
from tests.support.stack import ApiAccount, Stack

REDIS_URL: Final = "redis://127.0.0.1:6379/0"
FAILED_AUTHENTICATIONS_PER_MIN: Final = 30  # the gateway's default
TRUSTING_LOOPBACK: Final = {"TRUSTED_PROXIES": "127.0.0.1/32"}
BOGUS_SECRET: Final = "sk_live_" + "B" * 40


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


def _assert_consistent(answer: ApiResponse) -> None:
    """A 200 from /v1/account/usage reports the very window its headers report."""
    if answer.status == 200:
        rate_limit = answer.envelope["data"]["rate_limit"]
        assert str(rate_limit["limit"]) == answer.headers["X-RateLimit-Limit"]
        assert str(rate_limit["remaining"]) == answer.headers["X-RateLimit-Remaining"]
        assert str(rate_limit["reset"]) == answer.headers["X-RateLimit-Reset"]


def _assert_limited(answer: ApiResponse, limit: int) -> None:
    assert answer.status == 429, answer.text
    assert answer.envelope["success"] is False
    assert answer.error_code == "RATE_LIMIT_EXCEEDED"
    assert answer.headers["X-RateLimit-Limit"] == str(limit)
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert answer.envelope["error"]["details"]["retry_after"] == int(answer.headers["Retry-After"])


async def test_keys_of_an_account_share_its_plan_limit(
    stack: Stack, gateways: list[str], http: aiohttp.ClientSession, api: ApiClient
) -> None:
    account = stack.create_account("four-keys", rate_limit=20)
    # Keys are made through the stack's own gateway, so the windows under test stay untouched.
    owner = api.as_account(account)
    secrets_ = [account.api_key]
    for _ in range(3):
        secrets_.append((await owner.create_api_key({"name": "extra"})).data(201)["api_key"])
    statuses, remaining = [], []
    for i, url in zip(range(60), cycle(gateways), strict=False):
        answer = await ApiClient(http, url, secrets_[i % 4]).usage()
        statuses.append(answer.status)
        if answer.status == 200:
            assert answer.headers["X-RateLimit-Limit"] == "20"
            remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
            _assert_consistent(answer)
        else:
            _assert_limited(answer, limit=20)
    assert statuses == [200] * 20 + [429] * 40
    assert remaining == list(range(19, -1, -1))


async def test_a_key_with_its_own_lower_limit(
    stack: Stack, gateways: list[str], http: aiohttp.ClientSession, api: ApiClient
) -> None:
    account = stack.create_account("own-limits", rate_limit=20)
    owner = api.as_account(account)  # the stack's own gateway, as above
    slow = (await owner.create_api_key({"name": "slow", "rate_limit": 5})).data(201)
    medium = (await owner.create_api_key({"name": "medium", "rate_limit": 10})).data(201)
    assert (slow["rate_limit"], medium["rate_limit"]) == (5, 10)
    keys = (await owner.list_api_keys()).envelope["data"]
    listed = {key["key_id"]: key["rate_limit"] for key in keys}
    assert listed[slow["key_id"]] == 5 and listed[medium["key_id"]] == 10
    assert sorted(listed.values(), key=lambda limit: limit or 0) == [None, 5, 10]
    urls = cycle(gateways)

    async def use(secret: str) -> ApiResponse:
        answer = await ApiClient(http, next(urls), secret).usage()
        _assert_consistent(answer)
        return answer

    def window(answer: ApiResponse) -> tuple[str, str]:
        return answer.headers["X-RateLimit-Limit"], answer.headers["X-RateLimit-Remaining"]

    # The slow key's own window is the tighter one: 5, then 429 while the account has room.
    for left in range(4, -1, -1):
        answer = await use(slow["api_key"])
        assert answer.status == 200
        assert window(answer) == ("5", str(left))
    for _ in range(2):
        _assert_limited(await use(slow["api_key"]), limit=5)
    # Its 5 accepted requests were the account's too; its 2 refused ones were not.
    for left in range(14, 3, -1):
        answer = await use(account.api_key)
        assert answer.status == 200
        assert window(answer) == ("20", str(left))
    # With 4 left in the account and 10 in the medium key's own window, the account is tighter.
    for left in range(3, -1, -1):
        answer = await use(medium["api_key"])
        assert answer.status == 200
        assert window(answer) == ("20", str(left))
    _assert_limited(await use(medium["api_key"]), limit=20)


@pytest.mark.parametrize("rate_limit", [0, -1, 2**31, 1.5, "5", True, [5]])
async def test_a_key_rate_limit_must_be_a_positive_integer(
    api: ApiClient, rate_limit: object
) -> None:
    answer = await api.create_api_key({"name": "bad limit", "rate_limit": rate_limit})
    assert answer.status == 400, answer.text
    assert answer.error_code == "INVALID_PARAMETER"
    assert answer.envelope["error"]["details"] == {"field": "rate_limit"}


async def test_a_key_never_outlives_the_key_that_created_it(api: ApiClient) -> None:
    parent_expiry = datetime.now(UTC) + timedelta(seconds=8)
    parent = (
        await api.create_api_key({"name": "short-lived", "expires_at": parent_expiry.isoformat()})
    ).data(201)
    as_parent = api.as_key(parent["api_key"])
    inherited = (await as_parent.create_api_key({"name": "no expiry asked"})).data(201)
    assert parent["expires_at"] is not None
    assert inherited["expires_at"] == parent["expires_at"]
    sooner = (parent_expiry - timedelta(seconds=3)).replace(microsecond=0)
    earlier = (
        await as_parent.create_api_key({"name": "extra", "expires_at": sooner.isoformat()})
    ).data(201)
    assert earlier["expires_at"] == sooner.strftime("%Y-%m-%dT%H:%M:%SZ")
    for later in (parent_expiry + timedelta(hours=1), (parent_expiry + timedelta(days=2)).date()):
        answer = await as_parent.create_api_key(
            {"name": "outliving", "expires_at": later.isoformat()}
        )
        assert answer.status == 400, answer.text
        assert answer.error_code == "INVALID_PARAMETER"
        assert answer.envelope["error"]["details"] == {"field": "expires_at"}
    # A key without an expiry still makes keys without one.
    assert (await api.create_api_key({"name": "extra"})).data(201)["expires_at"] is None

    listed = {key["key_id"]: key for key in (await api.list_api_keys()).envelope["data"]}
    assert listed[inherited["key_id"]]["expires_at"] == parent["expires_at"]
    as_inherited = api.as_key(inherited["api_key"])

    async def refused() -> ApiResponse | None:
        answer = await as_inherited.usage()
        return None if answer.status == 200 else answer

    # Polled slowly until the inherited expiry passes: only the last answer is a failed
    # authentication of this address.
    wait_s = max(0.0, (parent_expiry - datetime.now(UTC)).total_seconds()) + 10
    answer = await eventually(refused, wait_s, "the key refused once expired", 0.5)
    assert answer.status == 401, answer.text
    assert answer.error_code == "INVALID_API_KEY"


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


async def _usage_from(caller: ApiClient, client: object) -> ApiResponse:
    """``/v1/account/usage`` as if asked from ``client``, behind a proxy that says so."""
    return await caller.usage(headers={"X-Forwarded-For": str(client)})


async def test_failed_authentications_are_capped_per_client_address(
    stack: Stack, account: ApiAccount, gateways: list[str], http: aiohttp.ClientSession
) -> None:
    client = _random_client()
    urls = cycle(gateways)
    for _ in range(FAILED_AUTHENTICATIONS_PER_MIN):
        answer = await _usage_from(ApiClient(http, next(urls), BOGUS_SECRET), client)
        assert answer.status == 401, answer.text
    asked = _keys_authentications(stack)
    neighbour = client + 0xBEEF  # same /64: the same subscriber
    callers: tuple[tuple[ipaddress.IPv6Address, ApiAccount | str | None], ...] = (
        (client, BOGUS_SECRET),
        (neighbour, None),
        (client, account),
    )
    for address, auth in callers:
        answer = await _usage_from(ApiClient(http, next(urls), auth), address)
        assert answer.status == 429, answer.text
        assert answer.error_code == "RATE_LIMIT_EXCEEDED"
        retry_after = int(answer.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert answer.envelope["error"]["details"]["retry_after"] == retry_after
        assert "X-RateLimit-Limit" not in answer.headers  # not an authenticated response
    assert _keys_authentications(stack) == asked, "a refused address still reached keys"
    # Other addresses are not held back by this one.
    other = _random_client()
    answer = await _usage_from(ApiClient(http, next(urls), BOGUS_SECRET), other)
    assert answer.status == 401
    answer = await _usage_from(ApiClient(http, next(urls), account), other)
    assert answer.status == 200


async def test_a_burst_of_guesses_reaches_keys_a_few_more_times_than_the_cap_at_most(
    account: ApiAccount, gateways: list[str], http: aiohttp.ClientSession
) -> None:
    """Guesses sent all at once cannot all pass the failure check before the first failure is
    counted; and a key the gateways know keeps working from the guessed-from address (the
    guesser's NAT neighbours are not locked out)."""
    client = _random_client()
    for url in gateways:  # the neighbour's key, known to every gateway before the burst
        answer = await _usage_from(ApiClient(http, url, account), client)
        assert answer.status == 200
    burst = 300
    connector = aiohttp.TCPConnector(limit=burst)
    async with aiohttp.ClientSession(connector=connector) as flood:
        guessers = [ApiClient(flood, url, BOGUS_SECRET) for url in gateways]
        answers = await asyncio.gather(
            *(_usage_from(guessers[i % len(guessers)], client) for i in range(burst))
        )
    statuses = Counter(answer.status for answer in answers)
    assert set(statuses) == {401, 429}, statuses
    # Checked before and counted after keys answers: the overshoot is bounded by the few
    # authentications an address may have in flight on each gateway, not by the burst.
    in_flight_per_gateway = 4
    assert statuses[401] <= FAILED_AUTHENTICATIONS_PER_MIN + in_flight_per_gateway * len(gateways)
    for url in gateways:
        answer = await _usage_from(ApiClient(http, url, account), client)
        assert answer.status == 200, answer.text


async def test_forwarded_for_from_an_untrusted_peer_is_not_believed(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    gateway, url = stack.start_gateway("gateway-untrusting")  # no TRUSTED_PROXIES
    gateway.wait_ready()
    guesser = ApiClient(http, url, BOGUS_SECRET)
    try:
        # A fresh X-Forwarded-For on every guess would be a fresh window if the header counted.
        for _ in range(FAILED_AUTHENTICATIONS_PER_MIN):
            answer = await _usage_from(guesser, _random_client())
            assert answer.status == 401
        answer = await _usage_from(guesser, _random_client())
        assert answer.status == 429, answer.text
        assert answer.error_code == "RATE_LIMIT_EXCEEDED"
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
    finally:
        gateway.stop()


async def test_a_key_never_has_a_looser_rate_limit_than_the_key_that_created_it(
    api: ApiClient,
) -> None:
    parent = (await api.create_api_key({"name": "slow parent", "rate_limit": 3})).data(201)
    as_parent = api.as_key(parent["api_key"])
    inherited = (await as_parent.create_api_key({"name": "no limit asked"})).data(201)
    assert inherited["rate_limit"] == 3
    tighter = (await as_parent.create_api_key({"name": "tighter", "rate_limit": 2})).data(201)
    assert tighter["rate_limit"] == 2
    answer = await as_parent.create_api_key({"name": "looser", "rate_limit": 1000})
    assert answer.status == 400, answer.text
    assert answer.error_code == "INVALID_PARAMETER"
    assert answer.envelope["error"]["details"] == {"field": "rate_limit"}
    # The child is held to the limit it inherited: 3 answers in the window, then 429.
    as_inherited = api.as_key(inherited["api_key"])
    statuses = [(await as_inherited.usage()).status for _ in range(6)]
    assert statuses == [200] * 3 + [429] * 3


async def test_revoking_a_key_revokes_every_key_made_from_it(api: ApiClient) -> None:
    """A stolen key that minted itself successors: revoking it must end them all."""
    stolen = (await api.create_api_key({"name": "stolen"})).data(201)
    child = (await api.as_key(stolen["api_key"]).create_api_key({"name": "successor"})).data(201)
    grandchild = (
        await api.as_key(child["api_key"]).create_api_key({"name": "its successor"})
    ).data(201)
    bystander = (await api.create_api_key({"name": "unrelated"})).data(201)
    for key in (child, grandchild):  # they work before the revocation (and are cached)
        assert (await api.as_key(key["api_key"]).usage()).status == 200

    revoked = await api.revoke_api_key(stolen["key_id"])
    assert revoked.status in (200, 204), revoked.text

    async def refused(key: dict[str, Any]) -> bool:
        answer = await api.as_key(key["api_key"]).usage()
        return answer.status == 401 and answer.error_code == "INVALID_API_KEY"

    async def successors_refused() -> bool:
        return await refused(child) and await refused(grandchild)

    # Revocation reaches every gateway within a second (events evict cached keys).
    await eventually(successors_refused, 10, "the successors refused", 0.1)
    assert (await api.as_key(bystander["api_key"]).usage()).status == 200
    live = {key["key_id"] for key in (await api.list_api_keys()).envelope["data"]}
    assert {stolen["key_id"], child["key_id"], grandchild["key_id"]}.isdisjoint(live)
    assert bystander["key_id"] in live
