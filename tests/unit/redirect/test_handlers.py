"""The cache-hit fast path builds its scan inline (a call less per scan): it must offer exactly
what :func:`capture` builds, and what the resolve → decide → respond path offers for the same
request (fake store and publisher, mocked requests)."""

from __future__ import annotations

import dataclasses
from time import monotonic
from typing import cast
from unittest import mock

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.redirect.code_cache import CodeCache
from services.redirect.codes import CodeRecord
from services.redirect.handlers import RedirectHandlers
from services.redirect.password_limiter import InProcessPasswordLimiter
from services.redirect.publisher import ScanPublisher
from services.redirect.resolver import CodeResolver
from services.redirect.routing import compile_routing
from services.redirect.scan_messages import Capture, capture, to_events
from services.redirect.storage import CodeStore
from services.runtime.client_ip import parse_networks
from services.runtime.scan_events import ScanEvent

CODE = "Abc1234"
RECORD = CodeRecord("qr_1", "acc_1", CODE, "https://example.com/x", None, None, 0, 0, True)
PROXY = "10.0.0.5"
VISITOR = "203.0.113.9"

# Long enough for every header to be cut at its limit.
FULL_HEADERS = {
    "User-Agent": "Mozilla/5.0 " + "u" * 600,
    "Referer": "https://ref.example/" + "r" * 2000,
    "Accept-Language": "fr-FR,fr;q=0.9," + "x" * 300,
    "X-Forwarded-For": VISITOR,
}
NO_HEADERS = {"X-Forwarded-For": VISITOR}


class RecordingPublisher:
    def __init__(self) -> None:
        self.offered: list[Capture] = []

    def offer(self, item: Capture) -> None:
        self.offered.append(item)


class OneRecordStore:
    def __init__(self, record: CodeRecord) -> None:
        self.record = record

    async def fetch(self, _code: str) -> CodeRecord | None:
        return self.record


def _handlers(
    publisher: RecordingPublisher, *, cached: bool, record: CodeRecord = RECORD
) -> RedirectHandlers:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    if cached:
        cache.put(CODE, record, monotonic())
    store = cast(CodeStore, OneRecordStore(record))
    return RedirectHandlers(
        CodeResolver(cache, store),
        store,
        cast(ScanPublisher, publisher),
        InProcessPasswordLimiter(),
        parse_networks((PROXY,)),
    )


def _request(headers: dict[str, str], query: str = "") -> web.BaseRequest:
    return make_mocked_request(
        "GET", f"/{CODE}{query}", headers=headers, protocol=mock.Mock(peername=(PROXY, 40000))
    )


def _event_without_id(item: Capture) -> ScanEvent:
    (line,) = to_events([item])
    event = msgspec.json.decode(line, type=ScanEvent)
    return msgspec.structs.replace(event, event_id="")


@pytest.mark.parametrize("headers", [FULL_HEADERS, NO_HEADERS], ids=["full", "none"])
def test_the_fast_path_offers_what_capture_builds(headers: dict[str, str]) -> None:
    publisher = RecordingPublisher()
    response = _handlers(publisher, cached=True).get_cached(_request(headers), CODE)
    assert response is not None
    assert response.status == 302
    (offered,) = publisher.offered
    expected = capture(
        offered[0],
        RECORD.qr_id,
        RECORD.account_id,
        VISITOR,
        headers.get("User-Agent", ""),
        headers.get("Referer", ""),
        headers.get("Accept-Language", ""),
    )
    assert offered == expected
    assert _event_without_id(offered) == _event_without_id(expected)


@pytest.mark.parametrize("headers", [FULL_HEADERS, NO_HEADERS], ids=["full", "none"])
async def test_a_cache_hit_and_a_miss_count_the_same_scan(headers: dict[str, str]) -> None:
    fast, slow = RecordingPublisher(), RecordingPublisher()
    assert _handlers(fast, cached=True).get_cached(_request(headers), CODE) is not None
    miss = _handlers(slow, cached=False)
    assert miss.get_cached(_request(headers), CODE) is None  # not cached: the slow path
    response = await miss.get(_request(headers), CODE)
    assert response.status == 302
    assert response.headers["Location"] == RECORD.destination_url
    ((_, *fast_rest),) = fast.offered
    ((_, *slow_rest),) = slow.offered
    assert fast_rest == slow_rest  # everything but the timestamp


ROUTED = dataclasses.replace(
    RECORD,
    routing=compile_routing(
        RECORD.destination_url,
        [{"if": {"query": {"src": "poster"}}, "destination_url": "https://example.com/poster"}],
        [
            {"destination_url": "https://example.com/a", "weight": 1},
            {"destination_url": "https://example.com/b", "weight": 1},
        ],
        True,
        {"source": "qr", "medium": "print", "campaign": "c"},
    ),
)


@pytest.mark.parametrize(
    ("query", "rule"), [("?src=poster&x=1", 0), ("?x=1", None)], ids=["rule", "variant"]
)
async def test_a_routed_code_goes_and_counts_alike_on_a_hit_and_a_miss(
    query: str, rule: int | None
) -> None:
    fast, slow = RecordingPublisher(), RecordingPublisher()
    hit = _handlers(fast, cached=True, record=ROUTED).get_cached(
        _request(FULL_HEADERS, query), CODE
    )
    assert hit is not None
    miss = await _handlers(slow, cached=False, record=ROUTED).get(
        _request(FULL_HEADERS, query), CODE
    )
    assert hit.headers["Location"] == miss.headers["Location"]
    assert "utm_source=qr" in hit.headers["Location"] and "x=1" in hit.headers["Location"]
    ((_, *fast_rest),) = fast.offered
    ((_, *slow_rest),) = slow.offered
    assert fast_rest == slow_rest
    assert fast_rest[-2] == rule and (fast_rest[-1] is None) == (rule is not None)
    assert _event_without_id(fast.offered[0]).rule == rule
