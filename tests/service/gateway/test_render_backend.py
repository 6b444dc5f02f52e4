"""Creating codes against a render service that answers, refuses, crashes, stalls or is gone:
what the API user sees, and that nothing is stored when nothing could be drawn."""

from __future__ import annotations

import base64

import grpc

from services.runtime.errors import ApiError
from tests.service.gateway.conftest import REDIRECT_BASE_URL, StartGateway, dead_address
from tests.service.gateway.fakes import Abort, FakeBackends
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.stack import ApiAccount

URL_BODY = {"type": "url", "content": "https://example.com/spring?utm=flyer"}
UNAVAILABLE = {
    "success": False,
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "A backing service is unavailable, try again",
    },
}


async def stored_count(api: ApiClient) -> int:
    answer = await api.list_codes()
    assert answer.status == 200, answer.body
    total: int = answer.envelope["pagination"]["total"]
    return total


async def test_generate_stores_the_code_and_its_public_image_decodes(
    api: ApiClient, account: ApiAccount, backends: FakeBackends
) -> None:
    body = {**URL_BODY, "size": 400, "design": {"fg_color": "#1a237e"}, "name": "Flyer"}
    data = (await api.generate(body)).data()
    assert data["kind"] == "static" and data["content"] == URL_BODY["content"]
    assert data["name"] == "Flyer" and data["design"]["fg_color"] == "#1a237e"
    assert data["image_url"] == f"https://api.example.test/i/{data['qr_id']}.png"
    (sent,) = backends.render.script.requests("RenderQR")
    assert (sent.payload, sent.size, sent.design.fg_color) == (URL_BODY["content"], 400, "#1a237e")
    assert sent.account_id == account.account_id  # render takes turns between accounts
    image = await api.request("GET", f"/i/{data['qr_id']}.png")
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    assert decode_single_qr(image.body) == URL_BODY["content"]


async def test_generate_answers_the_image_itself_when_accept_asks_for_it(api: ApiClient) -> None:
    answer = await api.generate({"type": "text", "content": "hello gateway"}, accept="image/png")
    assert answer.status == 200 and answer.headers["Content-Type"] == "image/png"
    assert decode_single_qr(answer.body) == "hello gateway"
    record = (await api.get_code(answer.headers["X-QR-Id"])).data()
    assert record["content"] == "hello gateway"


async def test_wifi_content_is_encoded_as_a_wifi_payload(api: ApiClient) -> None:
    content = {"ssid": "Cafe;Corner", "password": "s3cret:pass", "encryption": "WPA"}
    answer = await api.generate({"type": "wifi", "content": content}, accept="image/png")
    assert decode_single_qr(answer.body) == r"WIFI:T:WPA;S:Cafe\;Corner;P:s3cret\:pass;;"


async def test_dynamic_code_image_encodes_its_short_url(api: ApiClient) -> None:
    answer = await api.create_dynamic(
        {"name": "Spring", "destination_url": "https://example.com/spring", "include_image": True}
    )
    data = answer.data(201)
    assert data["short_url"].startswith(f"{REDIRECT_BASE_URL}/")
    assert decode_single_qr(base64.b64decode(data["image_base64"])) == data["short_url"]
    assert data["total_scans"] == 0


async def test_embed_get_draws_without_storing(api: ApiClient) -> None:
    answer = await api.request(
        "GET",
        "/v1/qrcodes/generate",
        params={"type": "text", "content": "embedded", "format": "png"},
    )
    assert answer.status == 200 and answer.headers["Content-Type"] == "image/png"
    assert answer.headers["Cache-Control"] == "private, max-age=300"
    assert decode_single_qr(answer.body) == "embedded"
    assert await stored_count(api) == 0


async def test_a_render_slower_than_its_timeout_is_503_and_stores_nothing(
    start_gateway: StartGateway, backends: FakeBackends, account: ApiAccount, api: ApiClient
) -> None:
    impatient = (await start_gateway(RENDER_TIMEOUT_S="0.3")).as_account(account)
    backends.render.script.delays["RenderQR"] = 1.0
    answer = await impatient.generate(URL_BODY)
    assert (answer.status, answer.envelope) == (503, UNAVAILABLE)
    assert await stored_count(api) == 0


async def test_render_down_is_503_for_creates_and_embeds(
    start_gateway: StartGateway, account: ApiAccount, api: ApiClient
) -> None:
    gateway = (await start_gateway(RENDER_ADDR=dead_address())).as_account(account)
    for answer in (
        await gateway.generate(URL_BODY),
        await gateway.create_dynamic({"name": "x", "destination_url": "https://example.com"}),
        await gateway.request(
            "GET", "/v1/qrcodes/generate", params={"type": "text", "content": "x"}
        ),
    ):
        assert (answer.status, answer.envelope) == (503, UNAVAILABLE)
    assert await stored_count(api) == 0


async def test_a_bare_unavailable_status_from_render_is_503(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.render.script.failures["RenderQR"] = Abort(grpc.StatusCode.UNAVAILABLE)
    answer = await api.generate(URL_BODY)
    assert (answer.status, answer.envelope) == (503, UNAVAILABLE)


async def test_render_refusing_the_design_reaches_the_client_as_its_own_error(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.render.script.failures["RenderQR"] = ApiError(
        "UNSCANNABLE_DESIGN", "Contrast between fg_color and bg_color is too low"
    )
    answer = await api.generate({**URL_BODY, "design": {"fg_color": "#eeeeee"}})
    assert answer.status == 422
    assert answer.envelope["error"] == {
        "code": "UNSCANNABLE_DESIGN",
        "message": "Contrast between fg_color and bg_color is too low",
    }
    assert await stored_count(api) == 0


async def test_render_field_errors_keep_their_field(api: ApiClient, backends: FakeBackends) -> None:
    backends.render.script.failures["RenderQR"] = ApiError(
        "DATA_TOO_LONG", "Too much data for a QR code", field="content"
    )
    answer = await api.generate({"type": "text", "content": "x" * 100})
    assert answer.status == 422
    assert answer.envelope["error"]["details"] == {"field": "content"}


async def test_a_render_crash_is_a_plain_500(api: ApiClient, backends: FakeBackends) -> None:
    backends.render.script.failures["RenderQR"] = RuntimeError("segfault in the drawing code")
    answer = await api.generate(URL_BODY)
    assert answer.status == 500
    assert answer.envelope["error"] == {"code": "INTERNAL_ERROR", "message": "Internal error"}
    assert b"segfault" not in answer.body
