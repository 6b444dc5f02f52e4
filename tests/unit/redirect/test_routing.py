"""The routing decision with plain values: every condition type and their combinations on
real user agents, Accept-Language quality values, variants by keyed hash, and how UTM and
forwarded parameters merge into destinations."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any, NamedTuple

import pytest

from services.redirect.routing import (
    VariantHasher,
    compile_routing,
    pick_variant,
    preferred_language,
    route,
    target,
)

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
MACOS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
FR_IP, GB_IP, US_IP = "90.84.1.1", "81.2.69.160", "8.8.8.8"
HASHER = VariantHasher(b"unit-test-key")


class Decision(NamedTuple):
    """route()'s answer with names, for readable assertions."""

    location: str
    rule: int | None
    variant: int | None


DEFAULT = "https://example.com/web"


def rule(destination: str, **condition: Any) -> dict[str, Any]:
    return {"if": condition, "destination_url": destination}


def decide(
    rules: list[dict[str, Any]],
    ua: str = WINDOWS,
    ip: str = US_IP,
    language: str = "",
    query: dict[str, str] | None = None,
    raw_query: str = "",
    *,
    variants: list[dict[str, Any]] | None = None,
    forward_query: bool = False,
    utm: dict[str, str] | None = None,
) -> Decision:
    routing = compile_routing(DEFAULT, rules, variants or [], forward_query, utm)
    assert routing is not None
    return Decision._make(route(routing, "qr_1", ip, ua, language, query or {}, raw_query, HASHER))


@pytest.mark.parametrize(
    ("ua", "device", "os_name"),
    [
        (IPHONE, "mobile", "ios"),
        (IPAD, "tablet", "ios"),
        (ANDROID_PHONE, "mobile", "android"),
        (ANDROID_TABLET, "tablet", "android"),
        (WINDOWS, "desktop", "windows"),
        (MACOS, "desktop", "macos"),
        (LINUX, "desktop", "linux"),
    ],
)
def test_device_and_os_conditions_on_real_agents(ua: str, device: str, os_name: str) -> None:
    by_device = [rule(f"https://d/{d}", device=[d]) for d in ("mobile", "tablet", "desktop")]
    assert decide(by_device, ua).location == f"https://d/{device}"
    by_os = [
        rule(f"https://o/{o}", os=[o]) for o in ("ios", "android", "windows", "macos", "linux")
    ]
    assert decide(by_os, ua).location == f"https://o/{os_name}"


def test_country_condition_from_the_geoip_data() -> None:
    rules = [rule("https://fr", country=["FR", "BE"]), rule("https://gb", country=["GB"])]
    assert decide(rules, ip=FR_IP) == Decision("https://fr", 0, None)
    assert decide(rules, ip=GB_IP) == Decision("https://gb", 1, None)
    assert decide(rules, ip=US_IP) == Decision(DEFAULT, None, None)
    assert decide(rules, ip="10.0.0.1") == Decision(DEFAULT, None, None)  # private: unknown
    assert decide(rules, ip=f"::ffff:{FR_IP}").rule == 0


@pytest.mark.parametrize(
    ("header", "preferred"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("en;q=0.5, de;q=0.9", "de"),
        ("de;q=0, en", "en"),
        ("*, fr;q=0.5", "fr"),
        ("fr;q=abc, en;q=0.1", "en"),
        ("FR-fr", "fr"),
        ("", ""),
        ("x-klingon, 12", ""),
    ],
)
def test_preferred_language_honours_quality_values(header: str, preferred: str) -> None:
    assert preferred_language(header) == preferred


def test_language_condition() -> None:
    rules = [rule("https://fr", language=["fr"]), rule("https://de", language=["de", "at"])]
    assert decide(rules, language="fr-CA,en;q=0.3").location == "https://fr"
    assert decide(rules, language="en,de;q=0.9").location == DEFAULT
    assert decide(rules, language="de-AT").location == "https://de"


def test_query_condition_needs_every_parameter() -> None:
    rules = [rule("https://p", query={"src": "poster", "v": "2"})]
    assert decide(rules, query={"src": "poster", "v": "2", "x": "1"}).location == "https://p"
    assert decide(rules, query={"src": "poster"}).location == DEFAULT


def test_conditions_of_one_rule_all_hold_and_the_first_matching_rule_wins() -> None:
    rules = [
        rule("https://fr-ios", os=["ios"], country=["FR"]),
        rule("https://ios", os=["ios"]),
        rule("https://fr", country=["FR"], language=["fr"]),
        rule("https://mobile-fr-en", device=["mobile"], country=["FR"], language=["en"]),
    ]
    assert decide(rules, IPHONE, FR_IP).rule == 0
    assert decide(rules, IPHONE, US_IP).rule == 1
    assert decide(rules, WINDOWS, FR_IP, "fr").rule == 2
    assert decide(rules, WINDOWS, FR_IP, "en").rule is None
    assert decide(rules, ANDROID_PHONE, FR_IP, "en").rule == 3


def test_variants_follow_the_weights_and_keep_each_visitor() -> None:
    variants = [
        {"destination_url": "https://a", "weight": 700},
        {"destination_url": "https://b", "weight": 200},
        {"destination_url": "https://c", "weight": 100},
    ]
    visits = [
        decide([], f"UA {i % 7}", f"198.51.{i // 256 % 256}.{i % 256}", variants=variants)
        for i in range(20_000)
    ]
    shares = Counter(decision.variant for decision in visits)
    assert abs(shares[0] / 20_000 - 0.7) < 0.015 and abs(shares[2] / 20_000 - 0.1) < 0.01
    assert all(
        d.location == ("https://a", "https://b", "https://c")[d.variant or 0] for d in visits
    )
    again = decide([], "UA 3", "198.51.0.3", variants=variants)
    assert again == visits[3]
    # A rule that matches comes before any variant.
    assert decide([rule("https://r", os=["windows"])], variants=variants).variant is None


def test_the_variant_hash_is_keyed() -> None:
    visitors = [(f"203.0.113.{i}", "UA") for i in range(64)]
    one = [VariantHasher(b"key one").point(ip, ua, "qr_1") % 2 for ip, ua in visitors]
    two = [VariantHasher(b"key two").point(ip, ua, "qr_1") % 2 for ip, ua in visitors]
    assert one != two
    assert (
        pick_variant((1, 3), 0) == 0
        and pick_variant((1, 3), 1) == 1
        and pick_variant((1, 3), 5) == 1
    )


def test_a_plain_code_compiles_to_nothing() -> None:
    assert compile_routing(DEFAULT, [], [], False, None) is None


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("https://e.com/p", "https://e.com/p?utm_source=qr&utm_medium=print&utm_campaign=a%20b%26c"),
        ("https://e.com/p?x=1#frag", "https://e.com/p?x=1&utm_source=qr&utm_medium=print&utm_campaign=a%20b%26c#frag"),
        ("https://e.com/p?utm_source=mine", "https://e.com/p?utm_source=mine&utm_medium=print&utm_campaign=a%20b%26c"),
        ("https://e.com/?", "https://e.com/?utm_source=qr&utm_medium=print&utm_campaign=a%20b%26c"),
        ("https://bücher.example/straße?q=%C3%A4", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4&utm_source=qr&utm_medium=print&utm_campaign=a%20b%26c"),
    ],
)  # fmt: skip
def test_utm_merges_with_the_destination_winning(destination: str, expected: str) -> None:
    utm = {"source": "qr", "medium": "print", "campaign": "a b&c"}
    assert target(destination, utm).url == expected


def test_forwarded_query_after_own_and_utm_parameters() -> None:
    routing_target = target(
        "https://e.com/p?lang=de#top", {"source": "qr", "medium": "m", "campaign": "c"}
    )
    assert routing_target.with_query("lang=fr&utm_source=x&ref=a%2Fb&e=%C3%A9+x") == (
        "https://e.com/p?lang=de&utm_source=qr&utm_medium=m&utm_campaign=c&ref=a%2Fb&e=%C3%A9%20x#top"
    )
    assert target("https://e.com/p", None).with_query("a=1") == "https://e.com/p?a=1"
    assert target("https://e.com/p", None).with_query("") == "https://e.com/p"
    assert target("https://e.com/p", None).with_query("a=" + "x" * 5000) == "https://e.com/p"


def test_forward_query_applies_to_rules_and_variants() -> None:
    decision = decide(
        [rule("https://r.example/x", os=["windows"])], raw_query="ref=poster", forward_query=True
    )
    assert decision == Decision("https://r.example/x?ref=poster", 0, None)


def test_a_query_rule_without_a_query_gives_way_to_the_next_rule() -> None:
    # A scan without a query skips the query conditions' loop: the same answer as with one.
    rules = [rule("https://q", query={"src": "poster"}), rule("https://w", os=["windows"])]
    assert decide(rules) == Decision("https://w", 1, None)
    assert decide(rules, query={"src": "flyer"}) == Decision("https://w", 1, None)
    assert decide(rules, query={"src": "poster"}) == Decision("https://q", 0, None)
    variants = [{"destination_url": "https://a", "weight": 1}]
    assert decide(rules[:1], variants=variants) == Decision("https://a", None, 0)


def test_the_variant_hash_is_the_documented_mac() -> None:
    # Visitors keep their variant across releases: the MAC is keyed BLAKE2b-64 (person
    # "qrf-variant") of "ip\nuser agent\ncode id", big-endian; invalid UTF-8 in a header
    # (a surrogate here) is hashed as its surrogate-pass bytes.
    for user_agent in (IPHONE, "bad \udcff agent"):
        text = f"203.0.113.7\n{user_agent}\nqr_1".encode(errors="surrogatepass")
        mac = hashlib.blake2b(text, key=b"unit-test-key", digest_size=8, person=b"qrf-variant")
        assert HASHER.point("203.0.113.7", user_agent, "qr_1") == int.from_bytes(
            mac.digest(), "big"
        )


@pytest.mark.parametrize("forward_query", [False, True])
def test_no_rule_and_no_variant_serves_the_default_with_the_query_if_forwarded(
    forward_query: bool,
) -> None:
    rules = [rule("https://r#f", os=["ios"]), rule("https://q", query={"src": "poster"})]
    routing = compile_routing(DEFAULT, rules, [], forward_query, None)
    assert routing is not None
    served = route(routing, "qr_1", US_IP, WINDOWS, "", {}, "y=2", HASHER)
    assert served == (DEFAULT + "?y=2" if forward_query else DEFAULT, None, None)
