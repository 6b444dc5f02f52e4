"""Validation of the routing fields (API.md "Dynamic codes v1.1"): what is stored, and errors
whose ``details.field`` points into the lists."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.qrcodes.routing import (
    parse_domain,
    parse_slug,
    routing_columns,
)
from services.runtime.errors import ApiError
from services.runtime.short_links import ShortDomains

URL = "https://example.com/x"
DOMAINS = ShortDomains.from_config("https://qr.example", ["https://go.brand.example"])


def refused(body: dict[str, Any]) -> str | None:
    with pytest.raises(ApiError) as caught:
        routing_columns(body)
    assert caught.value.code == "INVALID_PARAMETER"
    return caught.value.field


def test_a_full_spec_is_stored_normalised() -> None:
    columns = routing_columns(
        {
            "rules": [
                {
                    "if": {
                        "device": ["desktop", "mobile", "mobile"],
                        "os": ["ios"],
                        "country": ["fr", "BE"],
                        "language": ["FR", "de"],
                        "query": {"src": "poster"},
                    },
                    "destination_url": URL,
                }
            ],
            "variants": [{"destination_url": URL, "weight": 1000}],
            "expired_url": URL,
            "forward_query": True,
            "utm": {"source": "qr", "medium": "print", "campaign": "spring", "term": None},
        }
    )
    assert columns == {
        "rules": [
            {
                "if": {
                    "device": ["mobile", "desktop"],
                    "os": ["ios"],
                    "country": ["BE", "FR"],
                    "language": ["de", "fr"],
                    "query": {"src": "poster"},
                },
                "destination_url": URL,
            }
        ],
        "variants": [{"destination_url": URL, "weight": 1000}],
        "expired_url": URL,
        "forward_query": True,
        "utm": {"source": "qr", "medium": "print", "campaign": "spring"},
    }


def test_null_clears_and_absent_leaves_alone() -> None:
    assert routing_columns({}) == {}
    assert routing_columns(
        {"rules": None, "variants": None, "expired_url": None, "forward_query": None, "utm": None}
    ) == {"rules": [], "variants": [], "expired_url": None, "forward_query": False, "utm": None}


OK_RULE = {"if": {"os": ["ios"]}, "destination_url": URL}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rules": {}}, "rules"),
        ({"rules": [OK_RULE] * 21}, "rules"),
        ({"rules": [OK_RULE, OK_RULE, OK_RULE, {"if": {"country": ["FRA"]}, "destination_url": URL}]}, "rules[3].if.country[0]"),
        ({"rules": [OK_RULE, {"if": {"country": "FR"}, "destination_url": URL}]}, "rules[1].if.country"),
        ({"rules": [{"if": {"country": []}, "destination_url": URL}]}, "rules[0].if.country"),
        ({"rules": [{"if": {"os": ["symbian"]}, "destination_url": URL}]}, "rules[0].if.os[0]"),
        ({"rules": [{"if": {"os": ["other"]}, "destination_url": URL}]}, "rules[0].if.os[0]"),
        ({"rules": [{"if": {"device": ["bot"]}, "destination_url": URL}]}, "rules[0].if.device[0]"),
        ({"rules": [{"if": {"language": ["french"]}, "destination_url": URL}]}, "rules[0].if.language[0]"),
        ({"rules": [{"if": {"query": {"a": 1}}, "destination_url": URL}]}, "rules[0].if.query.a"),
        ({"rules": [{"if": {"query": {}}, "destination_url": URL}]}, "rules[0].if.query"),
        ({"rules": [{"if": {"weather": ["rain"]}, "destination_url": URL}]}, "rules[0].if.weather"),
        ({"rules": [{"if": {}, "destination_url": URL}]}, "rules[0].if"),
        ({"rules": [{"destination_url": URL}]}, "rules[0].if"),
        ({"rules": [{"if": {"os": ["ios"]}}]}, "rules[0].destination_url"),
        ({"rules": [{"if": {"os": ["ios"]}, "destination_url": "mailto:a@b.c"}]}, "rules[0].destination_url"),
        ({"rules": [{**OK_RULE, "then": 1}]}, "rules[0].then"),
        ({"rules": ["x"]}, "rules[0]"),
        ({"variants": [{"destination_url": URL, "weight": 1}] * 11}, "variants"),
        ({"variants": [{"destination_url": URL}]}, "variants[0].weight"),
        ({"variants": [{"destination_url": URL, "weight": 1001}]}, "variants[0].weight"),
        ({"variants": [{"destination_url": URL, "weight": True}]}, "variants[0].weight"),
        ({"variants": [{"destination_url": URL, "weight": 1}, {"weight": 1}]}, "variants[1].destination_url"),
        ({"utm": "qr"}, "utm"),
        ({"utm": {"source": "a", "medium": "b"}}, "utm.campaign"),
        ({"utm": {"source": "a", "medium": "b", "campaign": "c", "term": ""}}, "utm.term"),
        ({"utm": {"source": "a", "medium": "b", "campaign": "c" * 201}}, "utm.campaign"),
        ({"utm": {"source": "a", "medium": "b", "campaign": "c", "id": "x"}}, "utm.id"),
        ({"expired_url": "javascript:alert(1)"}, "expired_url"),
        ({"forward_query": 1}, "forward_query"),
    ],
)  # fmt: skip
def test_errors_point_into_the_lists(body: dict[str, Any], field: str) -> None:
    assert refused(body) == field


@pytest.mark.parametrize("slug", ["abc", "Spring-Sale_2026", "x" * 64])
def test_slugs_accepted_as_given(slug: str) -> None:
    assert parse_slug(slug) == slug


@pytest.mark.parametrize(
    "slug", ["ab", "x" * 65, "spring sale", "été", "a/b", "a.b", "docs", "API", "Healthz", 7, ""]
)
def test_slugs_refused(slug: object) -> None:
    with pytest.raises(ApiError) as caught:
        parse_slug(slug)
    assert caught.value.field == "slug"


def test_domains() -> None:
    assert parse_domain(None, DOMAINS) == ""
    assert parse_domain("qr.example", DOMAINS) == ""
    assert parse_domain("GO.brand.example", DOMAINS) == "go.brand.example"
    for bad in ("evil.example", 3, "x" * 300):
        with pytest.raises(ApiError) as caught:
            parse_domain(bad, DOMAINS)
        assert caught.value.field == "domain"
