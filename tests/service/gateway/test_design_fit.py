"""design.fit at the gateway, against a render fake that answers as fitting would: what the
fields of the request carry, and how the level, logo size and warnings drawn reach the record,
its later reads and the image answers (the drawing itself: tests/unit/render/test_qr_fit.py)."""

from __future__ import annotations

import base64
import io

from PIL import Image

from qrforge.v1 import render_pb2
from tests.service.gateway.fakes import FakeBackends
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr

URL = "https://example.com/fit"


def _logo() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _raised(request: render_pb2.RenderQRRequest) -> tuple[str, float, list[tuple[str, str]]]:
    return "H", 0.0, [("LEVEL_RAISED", "error correction raised from M to H")]


async def test_fit_and_the_chosen_level_reach_render(
    api: ApiClient, backends: FakeBackends
) -> None:
    (await api.generate({"type": "text", "content": "a"})).data()
    (await api.generate({"type": "text", "content": "b", "error_correction": "Q"})).data()
    (await api.generate({"type": "text", "content": "c", "design": {"fit": "strict"}})).data()
    sent = backends.render.script.requests("RenderQR")
    assert [(r.fit, r.error_correction, r.error_correction_requested) for r in sent] == [
        ("", "M", False),  # auto is left unset: the request (and its ETag) is as before
        ("", "Q", True),
        ("strict", "M", False),
    ]


async def test_a_raised_level_is_shown_stored_and_named_on_images(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.render.fitting = _raised
    data = (await api.generate({"type": "url", "content": URL, "include_image": True})).data()
    assert data["applied"] == {"error_correction": "H", "logo_size": None}
    assert data["error_correction"] == "H"
    assert data["warnings"] == [
        {"code": "LEVEL_RAISED", "message": "error correction raised from M to H"}
    ]
    assert decode_single_qr(base64.b64decode(data["image_base64"])) == URL
    stored = (await api.get_code(data["qr_id"])).data()
    assert (stored["applied"], stored["warnings"]) == (data["applied"], data["warnings"])

    download = await api.download(data["qr_id"])
    assert download.status == 200 and download.headers["X-QR-Warnings"] == "LEVEL_RAISED"
    (redraw,) = backends.render.script.requests("RenderQR")[-1:]
    # Redrawn at the level stored, as a chosen one: fitting gives the same image again.
    assert (redraw.error_correction, redraw.error_correction_requested) == ("H", True)

    as_image = await api.generate(
        {"type": "url", "content": URL}, accept="image/png", idempotency_key="fit-replay"
    )
    assert as_image.headers["X-QR-Warnings"] == "LEVEL_RAISED"
    replay = await api.generate(
        {"type": "url", "content": URL}, accept="image/png", idempotency_key="fit-replay"
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["X-QR-Warnings"] == "LEVEL_RAISED"
    embed = await api.request("GET", "/v1/qrcodes/generate", params={"type": "url", "content": URL})
    assert embed.status == 200 and embed.headers["X-QR-Warnings"] == "LEVEL_RAISED"


async def test_payload_warnings_come_before_render_ones(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.render.fitting = _raised
    wifi = {"ssid": "MonWifi", "password": "pass", "encryption": "WPA"}
    data = (await api.generate({"type": "wifi", "content": wifi})).data()
    assert [warning["code"] for warning in data["warnings"]] == [
        "WIFI_PASSWORD_LENGTH",
        "LEVEL_RAISED",
    ]
    embed = await api.request(
        "GET",
        "/v1/qrcodes/generate",
        params={
            "type": "wifi",
            "content": '{"ssid": "MonWifi", "password": "pass", "encryption": "WPA"}',
        },
    )
    assert embed.headers["X-QR-Warnings"] == "WIFI_PASSWORD_LENGTH,LEVEL_RAISED"


async def test_a_reduced_logo_is_the_applied_size(api: ApiClient, backends: FakeBackends) -> None:
    backends.render.fitting = lambda request: ("H", 0.31, [("LOGO_REDUCED", "0.4 to 0.31")])
    body = {"type": "url", "content": URL, "design": {"logo_data": _logo(), "logo_size": 0.4}}
    data = (await api.generate(body)).data()
    assert data["applied"] == {"error_correction": "H", "logo_size": 0.31}
    assert data["design"]["logo_size"] == 0.4
    listed = (await api.list_codes()).data()
    assert [row["applied"] for row in listed if row["qr_id"] == data["qr_id"]] == [data["applied"]]
