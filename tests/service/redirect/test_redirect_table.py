"""API.md's redirect table, row by row, against the real process: status, headers, page, and
exactly one scan event per counted redirect (none for HEAD, 404, 410, wrong passwords)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp

from tests.service.redirect.conftest import Broker, Codes, Redirect

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"


async def fetch(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: object
) -> tuple[int, dict[str, str], str]:
    async with http.request(method, url, allow_redirects=False, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, dict(resp.headers), await resp.text()


async def test_active_code_redirects_with_one_event(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    code = await codes.insert("https://example.com/landing?a=1&b=2")
    headers = {
        "User-Agent": UA,
        "Referer": "https://ref.example/",
        "Accept-Language": "fr-FR,fr;q=0.9",
        "X-Forwarded-For": "203.0.113.9",  # the test client's peer (127.0.0.1) is trusted
    }
    status, got, _ = await fetch(
        http, "GET", f"{redirect.base_url}/{code.short_code}", headers=headers
    )
    assert status == 302
    assert got["Location"] == code.destination_url
    assert got["Cache-Control"] == "no-store"

    events = await tap.wait_for(code.qr_id, 1)
    assert len(events) == 1
    event = events[0]
    assert event["account_id"] == "acc_redirect_test"
    assert event["ip"] == "203.0.113.9"
    assert event["user_agent"] == UA
    assert event["referer"] == "https://ref.example/"
    assert event["accept_language"] == "fr-FR,fr;q=0.9"
    assert len(event["event_id"]) == 32
    assert event["ts"].endswith("Z")


async def test_head_redirects_without_an_event(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    code = await codes.insert()
    status, got, _ = await fetch(http, "HEAD", f"{redirect.base_url}/{code.short_code}")
    assert status == 302
    assert got["Location"] == code.destination_url
    assert await tap.wait_for(code.qr_id, 0, timeout_s=0.5) == []


async def test_unknown_deleted_and_malformed_codes_are_404_pages(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    deleted = await codes.insert()
    await codes.pool.execute(
        "UPDATE qr_codes SET deleted_at = now() WHERE qr_id = $1", deleted.qr_id
    )
    for path in ["/Unknown123", f"/{deleted.short_code}", "/abc", "/abc-defgh", "/", "/a/b/c"]:
        status, got, body = await fetch(http, "GET", redirect.base_url + path)
        assert status == 404, path
        assert got["Content-Type"].startswith("text/html")
        assert "<html" in body
        assert "http://" not in body and "https://" not in body  # no external assets
    assert await tap.wait_for(deleted.qr_id, 0, timeout_s=0.5) == []


async def test_other_methods_on_a_code_are_405_without_an_event(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    code = await codes.insert()
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        status, got, body = await fetch(http, method, f"{redirect.base_url}/{code.short_code}")
        assert status == 405, method
        assert got["Allow"] == "GET, HEAD, POST"
        assert "<html" in body
    # A query string (some scanner apps add one) still reaches the code.
    status, got, _ = await fetch(http, "GET", f"{redirect.base_url}/{code.short_code}?src=qr")
    assert (status, got["Location"]) == (302, code.destination_url)
    assert len(await tap.wait_for(code.qr_id, 1)) == 1


async def test_expired_exhausted_and_inactive_codes_are_410_pages(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    expired = await codes.insert(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    exhausted = await codes.insert(max_scans=3, scan_count=3)
    inactive = await codes.insert(active=False)
    for code in (expired, exhausted, inactive):
        for method in ("GET", "HEAD"):
            status, got, _ = await fetch(http, method, f"{redirect.base_url}/{code.short_code}")
            assert status == 410, (code, method)
            assert got["Cache-Control"] == "no-store"
    for code in (expired, exhausted, inactive):
        assert await tap.wait_for(code.qr_id, 0, timeout_s=0.2) == []


async def test_password_form_wrong_and_right_password(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    code = await codes.insert("https://example.com/secret?x=<y>", password="open sesame")
    url = f"{redirect.base_url}/{code.short_code}"

    status, got, body = await fetch(http, "GET", url)
    assert status == 200
    assert got["Content-Type"].startswith("text/html")
    assert '<form method=post action="/' + code.short_code + '">' in body
    assert "name=viewport" in body and "<style>" in body
    assert "<y>" not in body  # the destination is never shown before the password

    status, _, body = await fetch(http, "POST", url, data={"password": "wrong"})
    assert status == 401
    assert "Wrong password" in body

    status, got, _ = await fetch(http, "POST", url, data={"password": "open sesame"})
    assert status == 302
    assert got["Location"] == code.destination_url
    assert got["Cache-Control"] == "no-store"
    assert len(await tap.wait_for(code.qr_id, 1)) == 1


async def test_more_than_five_wrong_passwords_per_ip_and_code_is_429(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    code = await codes.insert(password="right")
    url = f"{redirect.base_url}/{code.short_code}"
    attacker = {"X-Forwarded-For": "198.51.100.66"}
    for _ in range(5):
        status, _, _ = await fetch(http, "POST", url, data={"password": "nope"}, headers=attacker)
        assert status == 401
    status, got, body = await fetch(http, "POST", url, data={"password": "right"}, headers=attacker)
    assert status == 429
    assert int(got["Retry-After"]) > 0
    assert "Too many" in body
    # Another client is not affected.
    other = {"X-Forwarded-For": "198.51.100.67"}
    status, _, _ = await fetch(http, "POST", url, data={"password": "right"}, headers=other)
    assert status == 302
    events = await tap.wait_for(code.qr_id, 1)
    assert [e["ip"] for e in events] == ["198.51.100.67"]


async def test_max_scans_under_500_concurrent_scans(
    redirect: Redirect, codes: Codes, broker: Broker, http: aiohttp.ClientSession
) -> None:
    tap = await broker.tap()
    code = await codes.insert(max_scans=100)
    url = f"{redirect.base_url}/{code.short_code}"
    connector = aiohttp.TCPConnector(limit=500)
    async with aiohttp.ClientSession(connector=connector) as burst:
        results = await asyncio.gather(*(fetch(burst, "GET", url) for _ in range(500)))
    statuses = [status for status, _, _ in results]
    assert statuses.count(302) == 100
    assert statuses.count(410) == 400
    assert len(await tap.wait_for(code.qr_id, 100)) == 100
    count = await codes.pool.fetchval(
        "SELECT scan_count FROM qr_codes WHERE qr_id = $1", code.qr_id
    )
    assert count == 100


async def test_readiness_reports_dependencies(redirect: Redirect) -> None:
    ready = await asyncio.to_thread(redirect.readyz)
    assert ready["status"] == "ready"
    assert ready["dependencies"] == {"postgres": "up", "rabbitmq": "up"}
    assert ready["spool_events"] == 0
