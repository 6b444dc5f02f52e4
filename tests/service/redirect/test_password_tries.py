"""Password guessing against the real processes: 5 wrong tries per IP per code in 15 min, also
when the guesses arrive all at once, and across replicas when they share Redis.

"Password checks" are counted from outside twice: by the answers that are not 429 and by the
redirect's own ``qrforge_redirect_password_checks_total`` on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.service.redirect.conftest import Codes, Redirect, make_redirect
from tests.support.processes import free_port

WRONG_TRIES_ALLOWED = 5
BURST = 199  # wrong guesses sent at once; the right password follows them
REDIS_URL = "redis://127.0.0.1:6379/0"
OTHER_VISITOR = "203.0.113.77"


def password_checks(redirect: Redirect) -> Counter[str]:
    """The redirect's own count of password verifications (scrypt runs), by result."""
    url = f"http://127.0.0.1:{redirect.process.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    checks: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name == "qrforge_redirect_password_checks":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    checks[sample.labels["result"]] += int(sample.value)
    return checks


def checks_of(replicas: Sequence[Redirect]) -> Counter[str]:
    total: Counter[str] = Counter()
    for replica in replicas:
        total += password_checks(replica)
    return total


async def try_password(
    http: aiohttp.ClientSession, redirect: Redirect, short_code: str, password: str, ip: str
) -> int:
    async with http.post(
        f"{redirect.base_url}/{short_code}",
        data={"password": password},
        headers={"X-Forwarded-For": ip},  # the test client (127.0.0.1) is a trusted proxy
        allow_redirects=False,
    ) as resp:
        await resp.read()
        return resp.status


async def guess_at_once(
    replicas: Sequence[Redirect], short_code: str, ip: str, count: int = BURST
) -> list[int]:
    """``count`` wrong passwords from one IP, all in flight together, spread over replicas."""
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector) as burst:
        return await asyncio.gather(
            *(
                try_password(burst, replicas[i % len(replicas)], short_code, f"guess {i}", ip)
                for i in range(count)
            )
        )


async def assert_burst_gets_five_checks(
    replicas: Sequence[Redirect], codes: Codes, http: aiohttp.ClientSession, ip: str
) -> None:
    code = await codes.insert(password="the right one")
    before = checks_of(replicas)

    statuses = await guess_at_once(replicas, code.short_code, ip)
    assert Counter(statuses) == {401: WRONG_TRIES_ALLOWED, 429: BURST - WRONG_TRIES_ALLOWED}
    # The right password, after the fifth wrong try: refused like the rest, on every replica.
    for replica in replicas:
        assert await try_password(http, replica, code.short_code, "the right one", ip) == 429

    checks = checks_of(replicas) - before
    assert checks == {"wrong": WRONG_TRIES_ALLOWED}
    # Someone else, at another address, still gets in.
    right = await try_password(http, replicas[0], code.short_code, "the right one", OTHER_VISITOR)
    assert right == 302


async def assert_right_password_frees_its_try(
    replicas: Sequence[Redirect], codes: Codes, http: aiohttp.ClientSession, ip: str
) -> None:
    """Only wrong tries count (API.md): a success within the five gives its try back."""
    code = await codes.insert(password="the right one")
    statuses = [
        await try_password(http, replicas[i % len(replicas)], code.short_code, "wrong", ip)
        for i in range(WRONG_TRIES_ALLOWED - 1)
    ]
    assert statuses == [401] * (WRONG_TRIES_ALLOWED - 1)
    assert await try_password(http, replicas[0], code.short_code, "the right one", ip) == 302
    # The fifth wrong try is still there to take, and after it even the right password waits.
    assert await try_password(http, replicas[-1], code.short_code, "wrong", ip) == 401
    for replica in replicas:
        assert await try_password(http, replica, code.short_code, "the right one", ip) == 429


# --- one redirect process, tries counted in-process ---------------------------------------


async def test_wrong_passwords_at_once_get_five_checks_then_429(
    redirect: Redirect, codes: Codes, http: aiohttp.ClientSession
) -> None:
    await assert_burst_gets_five_checks([redirect], codes, http, "198.51.100.20")


async def test_right_password_within_five_tries_succeeds(
    redirect: Redirect, codes: Codes, http: aiohttp.ClientSession
) -> None:
    await assert_right_password_frees_its_try([redirect], codes, http, "198.51.100.21")


async def test_one_ipv6_host_rotating_addresses_in_its_64_shares_five_tries(
    redirect: Redirect, codes: Codes, http: aiohttp.ClientSession
) -> None:
    """A host holds a whole /64: a new address per guess is still the same guesser."""
    code = await codes.insert(password="the right one")
    statuses = [
        await try_password(
            http, redirect, code.short_code, f"guess {i}", f"2001:db8:1:2::{i + 1:x}"
        )
        for i in range(40)
    ]
    assert Counter(statuses) == {401: WRONG_TRIES_ALLOWED, 429: 40 - WRONG_TRIES_ALLOWED}
    # Another /64 is another visitor.
    assert (
        await try_password(http, redirect, code.short_code, "the right one", "2001:db8:1:3::1")
        == 302
    )


# --- two replicas sharing Redis -----------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def replicas(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Redirect, Redirect]]:
    pair = (
        make_redirect(
            f"redirect-redis-{name}",
            database_url,
            amqp_url,
            tmp_path_factory.mktemp(f"spool-redis-{name}"),
            REDIS_URL=REDIS_URL,
        )
        for name in ("a", "b")
    )
    started = tuple(pair)
    await asyncio.gather(*(replica.start() for replica in started))
    try:
        yield started[0], started[1]
    finally:
        for replica in started:
            assert await replica.stop() == 0


async def test_replicas_sharing_redis_share_the_five_tries(
    replicas: tuple[Redirect, Redirect], codes: Codes, http: aiohttp.ClientSession
) -> None:
    await assert_burst_gets_five_checks(replicas, codes, http, "198.51.100.30")


async def test_right_password_within_five_tries_succeeds_across_replicas(
    replicas: tuple[Redirect, Redirect], codes: Codes, http: aiohttp.ClientSession
) -> None:
    await assert_right_password_frees_its_try(replicas, codes, http, "198.51.100.31")


async def test_redis_down_refuses_password_tries_with_503(
    database_url: str,
    amqp_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    codes: Codes,
    http: aiohttp.ClientSession,
) -> None:
    """Without its shared count a replica cannot bound guessing, so it checks no password;
    codes without one keep redirecting."""
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    redirect = make_redirect(
        "redirect-redis-down",
        database_url,
        amqp_url,
        tmp_path_factory.mktemp("spool-redis-down"),
        REDIS_URL=nothing_listens,
    )
    await redirect.start()
    try:
        protected = await codes.insert(password="the right one")
        plain = await codes.insert()
        before = password_checks(redirect)
        for password in ("wrong", "the right one"):
            async with http.post(
                f"{redirect.base_url}/{protected.short_code}",
                data={"password": password},
                allow_redirects=False,
            ) as resp:
                assert resp.status == 503
                assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
                assert int(resp.headers["Retry-After"]) > 0
                assert "Temporarily unavailable" in await resp.text()
        assert password_checks(redirect) == before
        async with http.get(
            f"{redirect.base_url}/{plain.short_code}", allow_redirects=False
        ) as resp:
            assert resp.status == 302
    finally:
        assert await redirect.stop() == 0
