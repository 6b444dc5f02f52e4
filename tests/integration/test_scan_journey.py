"""The whole life of a printed dynamic code, across every service as a process: create it,
scan it through the redirect service, repoint it, protect it, see the scans in the stats,
delete it."""

from __future__ import annotations

import aiohttp

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.stack import Stack

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


async def _scan(http: aiohttp.ClientSession, short_url: str, ip: str) -> aiohttp.ClientResponse:
    headers = {"User-Agent": PHONE, "X-Forwarded-For": ip}
    async with http.get(short_url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def test_print_scan_repoint_protect_count_delete(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    owner = api.as_account(stack.create_account("journey"))
    code = (
        await owner.create_dynamic(
            {"name": "Campaign", "destination_url": "https://example.com/launch"}
        )
    ).data(201)
    # What a phone reads off the flyer.
    short_url = decode_single_qr((await owner.fetch(code["image_url"])).body)
    assert short_url == code["short_url"]

    served = 0  # every 302 of a GET or a right password is exactly one scan
    for i in range(4):
        resp = await _scan(http, short_url, f"81.2.69.{160 + i}")
        served += 1
        assert resp.status == 302
        assert resp.headers["Location"] == "https://example.com/launch"
        assert resp.headers["Cache-Control"] == "no-store"
    async with http.head(short_url, allow_redirects=False) as resp:
        assert resp.status == 302  # not counted

    assert (await owner.set_destination(code["qr_id"], "https://example.com/sale")).status == 200

    async def repointed() -> bool:
        nonlocal served
        resp = await _scan(http, short_url, "81.2.69.170")
        served += 1
        return resp.headers["Location"] == "https://example.com/sale"

    await eventually(repointed, 1.0, "the destination change live at the redirect within 1 s")

    protected = await owner.patch_code(code["qr_id"], {"protection": {"password": "opensesame"}})
    assert protected.status == 200

    async def password_page() -> str | None:
        nonlocal served
        headers = {"User-Agent": PHONE, "X-Forwarded-For": "81.2.69.172"}
        async with http.get(short_url, headers=headers, allow_redirects=False) as resp:
            if resp.status == 302:  # the protection is not live yet: a scan like any other
                served += 1
                return None
            assert resp.status == 200, resp.status
            return await resp.text()

    page = await eventually(password_page, 5.0, "the password page at the redirect")
    assert "password" in page.lower()
    async with http.post(short_url, data={"password": "wrong"}, allow_redirects=False) as resp:
        assert resp.status == 401
    # The last scan, and the only one from the US: the marker the stats are awaited for.
    async with http.post(
        short_url,
        data={"password": "opensesame"},
        headers={"User-Agent": PHONE, "X-Forwarded-For": "8.8.8.8"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 302 and resp.headers["Location"] == "https://example.com/sale"
        served += 1

    async def last_scan_counted() -> bool:
        countries = await owner.request("GET", f"/v1/qrcodes/{code['qr_id']}/stats/countries")
        return any(row["country"] == "US" for row in countries.data())

    # Events are published and inserted in the order of the scans: anything counted wrongly
    # before the marker (the HEAD, the 200 form, the 401) is in the stats once the marker is.
    await eventually(last_scan_counted, 10.0, "the last scan in the stats")
    stats = (await owner.stats(code["qr_id"])).data()
    assert stats["total_scans"] == served
    assert stats["devices"]["mobile"] == 100.0 and stats["os"]["android"] == 100.0
    assert stats["top_country"] == "GB"

    assert (await owner.delete_code(code["qr_id"])).status == 200

    async def gone() -> bool:
        async with http.get(short_url, allow_redirects=False) as resp:
            return resp.status == 404

    await eventually(gone, 1.0, "the deleted code gone from the redirect within 1 s")
