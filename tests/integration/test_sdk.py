"""The Python SDK (clients/python, ``qrforge.client``) against the running system: every answer
the API gives parses into its typed record without losing a field, pages are followed, a 429
and a 503 are retried the way the server asks, and a POST whose answer was lost is resent with
its Idempotency-Key and done once."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec
import pytest

from qrforge.client import AsyncClient, Client, RateLimitError, RetryPolicy, models
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.sdk_models import assert_same_value
from tests.support.stack import ApiAccount, Stack

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, keeping every response it passed on (read in full)."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        response.request = request
        self.responses.append(response)
        return response


class LosingFirstAnswer(RecordingTransport):
    """Sends the request, lets the server do it, then loses the first answer to ``path``
    (a connection reset after the server answered)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == self.path and not self.lost:
            self.lost += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


@pytest.fixture(scope="module")
def sdk_account(stack: Stack) -> ApiAccount:
    return stack.create_account("sdk", plan="pro")


@pytest.fixture
def recorded(stack: Stack, sdk_account: ApiAccount) -> Iterator[tuple[Client, RecordingTransport]]:
    transport = RecordingTransport()
    with Client(sdk_account.api_key, stack.gateway_url, transport=transport) as client:
        yield client, transport


def _covers(transport: RecordingTransport, result: Any) -> None:
    """The last JSON answer's ``data`` (and ``pagination``) is all in ``result``."""
    response = transport.responses[-1]
    assert response.headers["content-type"].startswith("application/json"), response
    envelope = response.json()
    if isinstance(result, models.Page):
        assert_same_value(envelope["pagination"], result.pagination.to_dict(), "pagination")
        parsed: Any = [item.to_dict() for item in result.items]
    elif isinstance(result, list):
        parsed = [item.to_dict() for item in result]
    else:
        parsed = result.to_dict()
    assert_same_value(envelope["data"], parsed, str(response.request.url.path))


async def test_every_answer_parses_into_its_model(
    stack: Stack, recorded: tuple[Client, RecordingTransport]
) -> None:
    client, seen = recorded
    static = client.generate_qr(
        "wifi",
        {"ssid": "Cafe", "password": "s3cretpass", "encryption": "WPA"},
        include_image=True,
        name="Cafe wifi",
        tags=["sdk", "wifi"],
        design={"fg_color": "#1a237e", "frame": {"style": "banner-bottom", "text": "SCAN ME"}},
    )
    _covers(seen, static)
    assert static.tags == ["sdk", "wifi"]
    assert static.image_base64 is not None
    assert decode_single_qr(base64.b64decode(static.image_base64)).startswith("WIFI:")
    dynamic = client.create_dynamic(
        "Poster",
        "https://example.com/poster",
        protection={"max_scans": 10, "expiry_date": "2099-01-01"},
    )
    _covers(seen, dynamic)
    locked = client.create_dynamic(
        "Locked", "https://example.com/locked", protection={"password": "letmein"}
    )
    _covers(seen, locked)
    assert locked.protection.password_protected and not dynamic.protection.password_protected
    for call in (
        lambda: client.get_qr_code(static.qr_id),
        lambda: client.get_qr_code(dynamic.qr_id),
        lambda: client.update_qr_code(dynamic.qr_id, name="Poster 2"),
        lambda: client.set_destination(dynamic.qr_id, "https://example.com/poster-2"),
        lambda: client.list_qr_codes(limit=5),
        lambda: client.batch_create(
            [
                {"type": "text", "content": "one"},
                {"type": "url", "content": "nope"},
                {"kind": "dynamic", "name": "B", "destination_url": "https://example.com/b"},
            ]
        ),
    ):
        _covers(seen, call())

    # Scans, so the statistics have rows to parse.
    async with httpx.AsyncClient() as http:
        for i in range(2):
            answer = await http.get(
                dynamic.short_url, headers={"User-Agent": IPHONE, "X-Forwarded-For": f"9.9.9.{i}"}
            )
            assert answer.status_code == 302

    async def scanned() -> models.CodeStats | None:
        stats = client.code_stats(dynamic.qr_id)
        return stats if stats.total_scans == 2 else None

    _covers(seen, await eventually(scanned, timeout_s=30, what="2 scans counted"))
    stats_calls: tuple[Callable[[], Any], ...] = (
        lambda: client.time_series(dynamic.qr_id, "hour", tz="Europe/Paris"),
        lambda: client.breakdown(dynamic.qr_id, "countries"),
        lambda: client.breakdown(dynamic.qr_id, "cities"),
        lambda: client.breakdown(dynamic.qr_id, "referrers"),
        lambda: client.device_breakdown(dynamic.qr_id),
        client.overview,
        lambda: client.generate_barcode("EAN13", "590123412345", metadata={"sku": "A1"}),
        client.list_barcodes,
        client.list_api_keys,
        client.usage,
        lambda: client.create_design("Brand", {"fg_color": "#1a237e", "dot_style": "round"}),
        client.list_designs,
    )
    for call in stats_calls:
        _covers(seen, call())
    design = client.list_designs().items[0]
    _covers(seen, client.get_design(design.design_id))
    _covers(seen, client.update_design(design.design_id, design={"dot_style": "dots"}))
    _covers(seen, client.delete_design(design.design_id))
    barcode = client.list_barcodes().items[0]
    _covers(seen, client.get_barcode(barcode.barcode_id))
    key = client.create_api_key("sdk test", ["read"])
    _covers(seen, key)
    _covers(seen, client.revoke_api_key(key.key_id))
    tagged = client.update_barcode(barcode.barcode_id, ["shelf", "sdk"])
    _covers(seen, tagged)
    assert tagged.tags == ["shelf", "sdk"]
    _covers(seen, client.delete_barcode(barcode.barcode_id))
    _covers(seen, client.delete_qr_code(static.qr_id))

    image = client.download_qr_code(dynamic.qr_id, format="png", size=300)
    assert image.media_type == "image/png"
    assert decode_single_qr(image.content) == dynamic.short_url
    made = client.generate_qr_image("url", "https://example.com/img")
    assert made.qr_id is not None and made.qr_id.startswith("qr_")
    assert decode_single_qr(made.content) == "https://example.com/img"
    decoded = client.decode_image(made.content)
    _covers(seen, decoded)
    assert [(c.format, c.text) for c in decoded.results] == [("QR", "https://example.com/img")]
    assert client.decode_image(made.content, formats=["EAN13", "CODE128"]).results == []
    only_qr = client.decode_image(made.content, formats=["QR"])
    assert [(c.format, c.text) for c in only_qr.results] == [("QR", "https://example.com/img")]


def test_v1_1_answers_parse_into_their_models(
    stack: Stack, recorded: tuple[Client, RecordingTransport]
) -> None:
    """Routing, short domains, webhooks and imports: each answer parses with no field lost."""
    client, seen = recorded
    domains = client.list_domains()
    _covers(seen, domains)
    assert sum(domain.default for domain in domains) == 1 and len(domains) >= 2
    other = next(domain for domain in domains if not domain.default)
    slug = f"sdk-{time.time_ns()}"
    routed = client.create_dynamic(
        "Routed",
        "https://example.com/default",
        slug=slug,
        domain=other.domain,
        rules=[
            {"if": {"os": ["ios"], "country": ["FR"]}, "destination_url": "https://example.com/i"},
            {"if": {"query": {"src": "mail"}}, "destination_url": "https://example.com/m"},
        ],
        variants=[
            {"destination_url": "https://example.com/a", "weight": 70},
            {"destination_url": "https://example.com/b", "weight": 30},
        ],
        expired_url="https://example.com/over",
        forward_query=True,
        utm={"source": "poster", "medium": "qr", "campaign": "spring", "term": "q"},
        tags=["routed"],
    )
    _covers(seen, routed)
    assert (routed.slug, routed.domain) == (slug, other.domain)
    assert routed.short_url == f"{other.base_url}/{slug}"
    assert routed.rules[0].if_.os == ["ios"] and routed.rules[1].if_.query == {"src": "mail"}
    assert [v.weight for v in routed.variants] == [70, 30]
    assert routed.utm is not None and routed.utm.term == "q" and routed.utm.content is None
    assert routed.forward_query and routed.tags == ["routed"]
    for call in (
        lambda: client.get_qr_code(routed.qr_id),
        lambda: client.update_qr_code(routed.qr_id, variants=[], utm=None, tags=["a", "b"]),
        lambda: client.list_qr_codes(tag="a"),
        lambda: client.route_stats(routed.qr_id, "rules"),
        lambda: client.route_stats(routed.qr_id, "variants"),
    ):
        _covers(seen, call())
    rule_rows = client.route_stats(routed.qr_id, "rules")
    assert [row.index for row in rule_rows] == [0, 1, None]
    found = client.list_qr_codes(q="ROUTED", tag="a")
    _covers(seen, found)
    assert [code.qr_id for code in found.items] == [routed.qr_id]
    tags = client.list_tags(limit=100)
    _covers(seen, tags)
    assert {(t.tag, t.qr_codes) for t in tags.items} >= {("a", 1), ("b", 1)}
    codes_before = client.list_qr_codes(limit=1).pagination.total
    preview = client.preview_qr("text", "sdk preview", design={"frame": {"style": "box"}})
    assert preview.media_type == "image/png" and preview.qr_id is None
    assert decode_single_qr(preview.content) == "sdk preview"
    assert client.list_qr_codes(limit=1).pagination.total == codes_before

    # Webhooks: an allow-listed address where nothing listens, so deliveries just fail.
    hook = client.create_webhook(
        "http://127.0.0.1:9/hooks", ["scan.created"], qr_ids=[routed.qr_id], description="SDK"
    )
    _covers(seen, hook)
    assert hook.secret.startswith("whsec_") and hook.qr_ids == [routed.qr_id]
    delivery = client.test_webhook(hook.webhook_id)
    _covers(seen, delivery)
    assert delivery.event_type == "webhook.test"
    for webhook_call in (
        lambda: client.get_webhook(hook.webhook_id),
        lambda: client.list_webhooks(limit=5),
        lambda: client.update_webhook(hook.webhook_id, active=False, description="SDK off"),
        lambda: client.list_deliveries(hook.webhook_id),
        lambda: client.retry_delivery(hook.webhook_id, delivery.delivery_id),
        lambda: client.delete_webhook(hook.webhook_id),
    ):
        _covers(seen, webhook_call())

    job = client.start_import(b"type,content,tags\ntext,imported,sdk\n", "qrforge")
    _covers(seen, job)
    assert job.import_id.startswith("imp_") and job.rows == 1
    _covers(seen, client.get_import(job.import_id))


async def test_pages_are_followed_sync_and_async(stack: Stack) -> None:
    account = stack.create_account("sdk-pages")
    with Client(account.api_key, stack.gateway_url) as client:
        made = [client.generate_qr("text", f"page {i}").qr_id for i in range(5)]
        assert [c.qr_id for c in client.iter_qr_codes(page_size=2)] == made[::-1]
    async with AsyncClient(account.api_key, stack.gateway_url) as aclient:
        seen = [c.qr_id async for c in aclient.iter_qr_codes(page_size=2, kind="static")]
        assert seen == made[::-1]
        code = await aclient.get_qr_code(made[0])
        assert isinstance(code, models.StaticQrCode) and code.content == "page 0"


def test_a_429_is_retried_after_the_wait_the_server_asks(stack: Stack) -> None:
    account = stack.create_account("sdk-small", rate_limit=2)
    waits: list[float] = []
    transport = RecordingTransport()
    with Client(
        account.api_key,
        stack.gateway_url,
        retry=RetryPolicy(max_retries=2, max_delay_s=120),
        transport=transport,
        sleep=waits.append,
    ) as client:
        client.usage()
        client.usage()
        with pytest.raises(RateLimitError) as refused:
            client.usage()
    assert refused.value.code == "RATE_LIMIT_EXCEEDED" and refused.value.status == 429
    limited = [r for r in transport.responses if r.status_code == 429]
    assert len(limited) == 3  # the first try and two retries
    # Each wait is what the 429 before it said (Retry-After seconds), not a guess.
    assert waits == [float(r.headers["Retry-After"]) for r in limited[:2]]
    assert all(0 < wait <= 60 for wait in waits)
    with (
        Client(
            account.api_key,
            stack.gateway_url,
            retry=RetryPolicy(max_retries=1, max_delay_s=0.5),
            sleep=waits.append,
        ) as capped,
        pytest.raises(RateLimitError),
    ):
        capped.usage()
    assert waits[-1] == 0.5  # capped


def _render(stack: Stack) -> ServiceProcess:
    return next(p for p in stack.processes if p.name == "render")


def test_a_503_from_a_stopped_backend_is_retried_until_it_is_back(
    stack: Stack, sdk_account: ApiAccount
) -> None:
    render = _render(stack)
    render.stop()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        if not waits:
            render.start()  # the backend comes back while the client waits
            render.wait_ready(60)
        waits.append(seconds)
        time.sleep(seconds)

    transport = RecordingTransport()
    try:
        with Client(
            sdk_account.api_key,
            stack.gateway_url,
            retry=RetryPolicy(max_retries=8, max_delay_s=2),
            transport=transport,
            sleep=wait,
        ) as client:
            code = client.generate_qr("text", "back again", include_image=True)
    finally:
        if render.process is None:
            render.start()
            render.wait_ready(60)
    first = transport.responses[0]
    assert first.status_code == 503
    assert first.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert waits
    assert code.image_base64 is not None
    assert decode_single_qr(base64.b64decode(code.image_base64)) == "back again"


def test_a_lost_answer_to_a_post_is_resent_and_creates_once(stack: Stack) -> None:
    account = stack.create_account("sdk-idempotent")
    transport = LosingFirstAnswer("/v1/qrcodes/dynamic")
    with Client(
        account.api_key, stack.gateway_url, transport=transport, sleep=lambda _: None
    ) as client:
        code = client.create_dynamic("Once", "https://example.com/once")
        assert transport.lost == 1
        sent = [r for r in transport.responses if r.request.url.path == "/v1/qrcodes/dynamic"]
        assert len(sent) == 2
        keys = {r.request.headers["Idempotency-Key"] for r in sent}
        assert len(keys) == 1  # the same key on the resend
        assert sent[1].headers.get("Idempotent-Replayed") == "true"
        assert msgspec.json.decode(sent[0].content)["data"]["qr_id"] == code.qr_id
        assert [c.qr_id for c in client.iter_qr_codes()] == [code.qr_id]
