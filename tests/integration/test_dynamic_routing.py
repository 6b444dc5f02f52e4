"""Dynamic codes that route (API.md "Dynamic codes v1.1"), through the real gateway, redirect
and analytics processes: rules by device, OS, country, language and query; weighted sticky
variants; slugs on two short domains; fallbacks; UTM and query merging; stats per rule and per
variant equal to the 302s served."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import SECOND_SHORT_DOMAIN
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.stack import ApiAccount, Stack

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
GB_IP, FR_IP, US_IP, SE_IP = "81.2.69.160", "90.84.1.1", "8.8.8.8", "2.2.2.2"


@pytest.fixture(scope="module")
def routing_account(stack: Stack) -> ApiAccount:
    return stack.create_account("routing", plan="enterprise", rate_limit=1_000_000, max_codes=0)


@pytest.fixture
def owner(api: ApiClient, routing_account: ApiAccount) -> ApiClient:
    return api.as_account(routing_account)


async def scan(
    http: aiohttp.ClientSession,
    url: str,
    *,
    ua: str = WINDOWS,
    ip: str = US_IP,
    language: str = "",
    host: str | None = None,
) -> aiohttp.ClientResponse:
    headers = {"User-Agent": ua, "X-Forwarded-For": ip}
    if language:
        headers["Accept-Language"] = language
    if host:
        headers["Host"] = host
    async with http.get(url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp


def location(resp: aiohttp.ClientResponse) -> str:
    assert resp.status == 302, resp.status
    return resp.headers["Location"]


async def wait_for_total(owner: ApiClient, qr_id: str, total: int) -> None:
    async def counted() -> bool:
        stats = (await owner.stats(qr_id)).data()
        assert stats["total_scans"] <= total, stats["total_scans"]
        return bool(stats["total_scans"] == total)

    await eventually(counted, 30.0, f"{total} scans of {qr_id} in the stats")


async def route_stats(owner: ApiClient, qr_id: str, kind: str) -> dict[Any, dict[str, Any]]:
    rows = (await owner.request("GET", f"/v1/qrcodes/{qr_id}/stats/{kind}")).data()
    return {row["index"]: row for row in rows}


async def test_each_rule_kind_routes_first_match_wins_and_stats_count_per_rule(
    owner: ApiClient, http: aiohttp.ClientSession
) -> None:
    rules = [
        {"if": {"os": ["ios"], "device": ["mobile"]}, "destination_url": "https://apps.apple.com/x"},
        {"if": {"os": ["android"]}, "destination_url": "https://play.google.com/x"},
        {"if": {"device": ["tablet"]}, "destination_url": "https://example.com/tablet"},
        {"if": {"country": ["FR"]}, "destination_url": "https://example.com/fr"},
        {"if": {"language": ["de"]}, "destination_url": "https://example.com/de"},
        {"if": {"query": {"src": "poster"}}, "destination_url": "https://example.com/poster"},
        {"if": {"os": ["linux"], "country": ["GB"]}, "destination_url": "https://example.com/gb-linux"},
    ]  # fmt: skip
    code = (
        await owner.create_dynamic(
            {"name": "Routed", "destination_url": "https://example.com/web", "rules": rules}
        )
    ).data(201)
    assert code["rules"] == rules
    url = code["short_url"]
    assert decode_single_qr((await owner.fetch(code["image_url"])).body) == url

    cases = [
        (dict(ua=IPHONE, ip=FR_IP), 0),  # iOS and in France: the first rule wins
        (dict(ua=ANDROID, ip=FR_IP, language="de"), 1),
        (dict(ua=IPAD), 2),  # iPadOS is ios but a tablet: not rule 0
        (dict(ua=WINDOWS, ip=FR_IP), 3),
        (dict(ua=WINDOWS, language="en;q=0.5,de;q=0.9"), 4),  # q-values: de preferred
        (dict(ua=WINDOWS, language="de;q=0,en"), None),  # q=0: not German
        (dict(ua=LINUX, ip=GB_IP), 6),
        (dict(ua=LINUX, ip=SE_IP), None),
        (dict(ua=WINDOWS, language="fr-CH, fr;q=0.9"), None),
    ]
    served: Counter[int | None] = Counter()
    for headers, expected in cases:
        resp = await scan(http, url, **headers)
        want = code["destination_url"] if expected is None else rules[expected]["destination_url"]
        assert location(resp) == want, (headers, expected)
        served[expected] += 1
    resp = await scan(http, f"{url}?src=poster")
    assert location(resp) == "https://example.com/poster"
    served[5] += 1
    resp = await scan(http, f"{url}?src=other")
    assert location(resp) == code["destination_url"]
    served[None] += 1

    await wait_for_total(owner, code["qr_id"], sum(served.values()))
    by_rule = await route_stats(owner, code["qr_id"], "rules")
    assert {index: row["scans"] for index, row in by_rule.items() if row["scans"]} == dict(served)
    assert by_rule[None]["destination_url"] == code["destination_url"]
    assert by_rule[2]["destination_url"] == "https://example.com/tablet"


async def test_variants_split_by_weight_stay_sticky_and_stats_match_exactly(
    owner: ApiClient, http: aiohttp.ClientSession
) -> None:
    variants = [
        {"destination_url": "https://example.com/a", "weight": 70},
        {"destination_url": "https://example.com/b", "weight": 30},
    ]
    code = (
        await owner.create_dynamic(
            {"name": "A/B", "destination_url": "https://example.com/", "variants": variants}
        )
    ).data(201)
    url = code["short_url"]
    rng = random.Random(16)
    visitors = [
        (f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{i % 250 + 1}", ua)
        for i, ua in enumerate([IPHONE, ANDROID, WINDOWS, LINUX] * 2500)
    ]
    index_of = {v["destination_url"]: i for i, v in enumerate(variants)}
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:
        semaphore = asyncio.Semaphore(32)

        async def visit(ip: str, ua: str) -> int:
            async with semaphore:
                return index_of[location(await scan(session, url, ua=ua, ip=ip))]

        first = await asyncio.gather(*(visit(ip, ua) for ip, ua in visitors))
        again = await asyncio.gather(*(visit(ip, ua) for ip, ua in visitors[:300]))
    assert again == first[:300]  # every visitor keeps their variant
    share_a = first.count(0) / len(first)
    assert 0.68 <= share_a <= 0.72, share_a

    served = Counter(first) + Counter(again)
    await wait_for_total(owner, code["qr_id"], len(first) + len(again))
    by_variant = await route_stats(owner, code["qr_id"], "variants")
    assert by_variant[0]["scans"] == served[0] and by_variant[1]["scans"] == served[1]
    assert by_variant[None]["scans"] == 0
    for index in (0, 1):  # a visitor is an IP and a user agent, as analytics counts uniques
        visitors_of = {v for v, i in zip(visitors, first, strict=True) if i == index}
        assert by_variant[index]["unique_scans"] == len(visitors_of)


async def test_slugs_reserved_charset_case_and_one_winner_among_50(
    owner: ApiClient, http: aiohttp.ClientSession
) -> None:
    base = {"name": "Slug", "destination_url": "https://example.com/slug"}
    for slug in ("docs", "Healthz", "ab", "a b c", "été-sale", "x" * 65, 42):
        resp = await owner.create_dynamic({**base, "slug": slug})
        assert resp.status == 400 and resp.envelope["error"]["details"]["field"] == "slug", slug

    race = f"spring-{random.randrange(10**9)}"
    # Tried before it exists: the 404 a replica caches must not outlive the creation.
    early = (await owner.request("GET", "/v1/domains")).data()[0]["base_url"] + f"/{race}"
    assert (await scan(http, early)).status == 404
    answers = await asyncio.gather(
        *(owner.create_dynamic({**base, "slug": race}) for _ in range(50))
    )
    statuses = Counter(resp.status for resp in answers)
    assert statuses == {201: 1, 409: 49}, statuses
    assert {r.error_code for r in answers if r.status == 409} == {"SLUG_TAKEN"}
    (winner,) = [r.data(201) for r in answers if r.status == 201]
    assert winner["slug"] == race and winner["short_url"] == early

    async def live() -> bool:
        return (await scan(http, early)).status == 302

    await eventually(live, 1.0, "a new slug live within 1 s after its 404 was cached")

    upper = (await owner.create_dynamic({**base, "slug": race.upper(), "destination_url":
                                         "https://example.com/upper"})).data(201)  # fmt: skip
    assert location(await scan(http, winner["short_url"])) == "https://example.com/slug"
    assert location(await scan(http, upper["short_url"])) == "https://example.com/upper"


async def test_two_domains_serve_one_slug_to_different_codes(
    owner: ApiClient, http: aiohttp.ClientSession, stack: Stack
) -> None:
    domains = (await owner.request("GET", "/v1/domains")).data()
    default_name = stack.redirect_url.removeprefix("http://")
    second_name = SECOND_SHORT_DOMAIN.removeprefix("http://")
    assert domains == [
        {"domain": default_name, "base_url": stack.redirect_url, "default": True},
        {"domain": second_name, "base_url": SECOND_SHORT_DOMAIN, "default": False},
    ]
    slug = f"menu-{random.randrange(10**9)}"
    here = (
        await owner.create_dynamic(
            {"name": "Here", "destination_url": "https://example.com/here", "slug": slug}
        )
    ).data(201)
    there = (
        await owner.create_dynamic(
            {
                "name": "There",
                "destination_url": "https://example.com/there",
                "slug": slug,
                "domain": second_name,
            }
        )
    ).data(201)
    assert here["domain"] == default_name and there["domain"] == second_name
    assert there["short_url"] == f"{SECOND_SHORT_DOMAIN}/{slug}"
    assert decode_single_qr((await owner.fetch(there["image_url"])).body) == there["short_url"]
    unknown = await owner.create_dynamic({**{"name": "x", "destination_url": "https://e.com"},
                                          "domain": "evil.example"})  # fmt: skip
    assert unknown.status == 400 and unknown.envelope["error"]["details"]["field"] == "domain"

    path = f"{stack.redirect_url}/{slug}"
    assert location(await scan(http, path)) == "https://example.com/here"
    assert location(await scan(http, path, host=second_name)) == "https://example.com/there"
    # The trusted proxy (127.0.0.1 here) names the host in X-Forwarded-Host.
    async with http.get(
        path, headers={"X-Forwarded-Host": second_name}, allow_redirects=False
    ) as resp:
        assert location(resp) == "https://example.com/there"
    async with http.get(
        f"{stack.redirect_url}/{slug}x", headers={"Host": second_name}, allow_redirects=False
    ) as resp:
        assert resp.status == 404


async def test_patching_slug_and_domain_moves_the_short_url(
    owner: ApiClient, http: aiohttp.ClientSession, stack: Stack
) -> None:
    second_name = SECOND_SHORT_DOMAIN.removeprefix("http://")
    old, new, taken = (f"{name}-{random.randrange(10**9)}" for name in ("old", "new", "taken"))
    code = (
        await owner.create_dynamic(
            {"name": "Moving", "destination_url": "https://example.com/moving", "slug": old}
        )
    ).data(201)
    await owner.create_dynamic({"name": "Other", "destination_url": "https://e.com", "slug": taken})
    assert location(await scan(http, f"{stack.redirect_url}/{old}")) == "https://example.com/moving"

    clash = await owner.request("PATCH", f"/v1/qrcodes/{code['qr_id']}", json_body={"slug": taken})
    assert (clash.status, clash.error_code) == (409, "SLUG_TAKEN")
    removed = await owner.request("PATCH", f"/v1/qrcodes/{code['qr_id']}", json_body={"slug": None})
    assert (removed.status, removed.envelope["error"]["details"]["field"]) == (400, "slug")

    moved = (
        await owner.request(
            "PATCH", f"/v1/qrcodes/{code['qr_id']}", json_body={"slug": new, "domain": second_name}
        )
    ).data()
    assert (moved["slug"], moved["domain"]) == (new, second_name)
    assert moved["short_url"] == f"{SECOND_SHORT_DOMAIN}/{new}"
    # The image follows the new short URL; the old one (cached as a hit before) is gone.
    assert decode_single_qr((await owner.fetch(moved["image_url"])).body) == moved["short_url"]

    async def old_url_gone() -> bool:
        return (await scan(http, f"{stack.redirect_url}/{old}")).status == 404

    await eventually(old_url_gone, 2.0, "the old short URL no longer redirects")
    reached = await scan(http, f"{stack.redirect_url}/{new}", host=second_name)
    assert location(reached) == "https://example.com/moving"
    static = (await owner.generate({"type": "text", "content": "hi"})).data()
    refused = await owner.request(
        "PATCH", f"/v1/qrcodes/{static['qr_id']}", json_body={"slug": new}
    )
    assert (refused.status, refused.error_code) == (400, "NOT_DYNAMIC")


async def test_expired_url_utm_and_forwarded_query(
    owner: ApiClient, http: aiohttp.ClientSession
) -> None:
    code = (
        await owner.create_dynamic(
            {
                "name": "Promo",
                "destination_url": "https://bücher.example/k%C3%A4se?lang=de&utm_source=own#top",
                "utm": {"source": "qr", "medium": "print", "campaign": "spring sale/é"},
                "forward_query": True,
                "expired_url": "https://brand.example/home",
                "protection": {"max_scans": 1},
            }
        )
    ).data(201)
    assert code["utm"] == {"source": "qr", "medium": "print", "campaign": "spring sale/é"}
    resp = await scan(http, f"{code['short_url']}?ref=flyer&lang=fr&x=a%26b+c")
    assert location(resp) == (
        "https://xn--bcher-kva.example/k%C3%A4se?lang=de&utm_source=own&utm_medium=print"
        "&utm_campaign=spring%20sale%2F%C3%A9&ref=flyer&x=a%26b%20c#top"
    )
    # Out of scans: the fallback, not the 410 page, and not counted.
    for _ in range(2):
        assert location(await scan(http, code["short_url"])) == "https://brand.example/home"

    inactive = (
        await owner.create_dynamic(
            {"name": "Off", "destination_url": "https://example.com/on",
             "expired_url": "https://brand.example/off"}
        )
    ).data(201)  # fmt: skip
    assert (await owner.patch_code(inactive["qr_id"], {"active": False})).status == 200

    async def fallback() -> bool:
        resp = await scan(http, inactive["short_url"])
        return location(resp) == "https://brand.example/off"

    await eventually(fallback, 1.0, "the inactive code's fallback within 1 s")
    await wait_for_total(owner, code["qr_id"], 1)


async def test_password_protects_whatever_rule_matches_and_patch_is_live(
    owner: ApiClient, http: aiohttp.ClientSession
) -> None:
    code = (
        await owner.create_dynamic(
            {
                "name": "Locked",
                "destination_url": "https://example.com/web",
                "rules": [{"if": {"os": ["ios"]}, "destination_url": "https://apps.apple.com/x"}],
                "protection": {"password": "opensesame"},
            }
        )
    ).data(201)
    url = code["short_url"]
    async with http.get(f"{url}?src=a", headers={"User-Agent": IPHONE}) as resp:
        assert resp.status == 200
        assert f'action="/{code["slug"]}?src=a"' in await resp.text()
    async with http.post(
        url, data={"password": "opensesame"}, headers={"User-Agent": IPHONE},
        allow_redirects=False,
    ) as resp:  # fmt: skip
        assert location(resp) == "https://apps.apple.com/x"

    patched = await owner.patch_code(
        code["qr_id"],
        {"rules": [{"if": {"os": ["ios"]}, "destination_url": "https://apps.apple.com/y"}],
         "protection": {"password": None}},
    )  # fmt: skip
    assert patched.status == 200

    async def live() -> bool:
        return location(await scan(http, url, ua=IPHONE)) == "https://apps.apple.com/y"

    await eventually(live, 1.0, "the new rule live at the redirect within 1 s")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rules": [{"if": {"os": ["ios"]}, "destination_url": "https://e.com"}] * 3
          + [{"if": {"country": ["FRA"]}, "destination_url": "https://e.com"}]},
         "rules[3].if.country[0]"),
        ({"rules": [{"if": {}, "destination_url": "https://e.com"}]}, "rules[0].if"),
        ({"rules": [{"if": {"device": ["phone"]}, "destination_url": "https://e.com"}]},
         "rules[0].if.device[0]"),
        ({"rules": [{"if": {"os": ["ios"]}, "destination_url": "ftp://e.com"}]},
         "rules[0].destination_url"),
        ({"rules": [{"if": {"os": ["ios"]}, "destination_url": "https://e.com"}] * 21}, "rules"),
        ({"variants": [{"destination_url": "https://e.com", "weight": 0}]}, "variants[0].weight"),
        ({"utm": {"source": "a", "medium": "b"}}, "utm.campaign"),
        ({"expired_url": "javascript:alert(1)"}, "expired_url"),
        ({"forward_query": "yes"}, "forward_query"),
    ],
)  # fmt: skip
async def test_validation_points_into_the_lists(
    owner: ApiClient, body: dict[str, Any], field: str
) -> None:
    resp = await owner.create_dynamic({"name": "Bad", "destination_url": "https://e.com", **body})
    assert resp.status == 400, resp.text
    assert resp.envelope["error"]["code"] == "INVALID_PARAMETER"
    assert resp.envelope["error"]["details"]["field"] == field


async def test_batch_items_and_idempotent_replay_take_the_new_fields(owner: ApiClient) -> None:
    slug = f"batch-{random.randrange(10**9)}"
    items: list[dict[str, Any]] = [
        {"kind": "dynamic", "name": "B1", "destination_url": "https://example.com/1",
         "slug": slug, "variants": [{"destination_url": "https://example.com/v", "weight": 5}]},
        {"kind": "dynamic", "name": "B2", "destination_url": "https://example.com/2",
         "slug": slug},
    ]  # fmt: skip
    first = await owner.request(
        "POST", "/v1/qrcodes/batch", json_body={"items": items}, idempotency_key=slug
    )
    results = first.data()["results"]
    assert results[0]["success"] and results[0]["data"]["slug"] == slug
    assert results[0]["data"]["variants"] == items[0]["variants"]
    assert results[1]["error"]["code"] == "SLUG_TAKEN"
    again = await owner.request(
        "POST", "/v1/qrcodes/batch", json_body={"items": items}, idempotency_key=slug
    )
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
