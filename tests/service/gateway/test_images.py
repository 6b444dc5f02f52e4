"""Stored codes' images: downloads and public URLs, strong ETags and 304s (nothing drawn), the
public image cache, formats and sizes, and ids that name no image."""

from __future__ import annotations

from typing import Any

from tests.service.gateway.fakes import FakeBackends
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr

CONTENT = "https://example.com/menu"


async def stored_code(api: ApiClient) -> dict[str, Any]:
    data: dict[str, Any] = (await api.generate({"type": "url", "content": CONTENT})).data()
    return data


async def test_download_is_the_image_with_a_strong_etag_and_304_draws_nothing(
    api: ApiClient, backends: FakeBackends
) -> None:
    qr_id = (await stored_code(api))["qr_id"]
    first = await api.download(qr_id)
    assert first.status == 200 and first.headers["Content-Type"] == "image/png"
    assert decode_single_qr(first.body) == CONTENT
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert first.headers["Content-Disposition"] == f'attachment; filename="{qr_id}.png"'
    assert first.headers["Cache-Control"] == "private, no-cache"
    drawn = len(backends.render.script.requests("RenderQR"))

    again = await api.download(qr_id, headers={"If-None-Match": f'"other", {etag}'})
    assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
    assert len(backends.render.script.requests("RenderQR")) == drawn


async def test_download_in_another_format_and_size(api: ApiClient, backends: FakeBackends) -> None:
    qr_id = (await stored_code(api))["qr_id"]
    png_etag = (await api.download(qr_id)).headers["ETag"]
    svg = await api.download(qr_id, format="svg", size="256")
    assert svg.status == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    assert svg.body.lstrip().startswith(b"<?xml") or b"<svg" in svg.body[:200]
    assert svg.headers["Content-Disposition"] == f'attachment; filename="{qr_id}.svg"'
    assert svg.headers["ETag"] != png_etag
    last = backends.render.script.requests("RenderQR")[-1]
    assert (last.format, last.size, last.payload) == ("svg", 256, CONTENT)


async def test_download_parameters_are_checked(api: ApiClient) -> None:
    qr_id = (await stored_code(api))["qr_id"]
    for params, field in (
        ({"format": "gif"}, "format"),
        ({"size": "99"}, "size"),
        ({"size": "4097"}, "size"),
        ({"size": "５１２"}, "size"),  # full-width digits are not a number here
    ):
        answer = await api.request("GET", f"/v1/qrcodes/{qr_id}/download", params=params)
        assert answer.status == 400, params
        assert answer.envelope["error"]["code"] == "INVALID_PARAMETER"
        assert answer.envelope["error"]["details"] == {"field": field}


async def test_public_image_is_cacheable_drawn_once_and_conditional(
    api: ApiClient, backends: FakeBackends
) -> None:
    code = await stored_code(api)
    public = api.as_key(None)  # the public URL needs no key
    path = f"/i/{code['qr_id']}.png"
    first = await public.request("GET", path)
    assert first.status == 200 and first.headers["Cache-Control"] == "public, max-age=86400"
    assert decode_single_qr(first.body) == CONTENT
    drawn = len(backends.render.script.requests("RenderQR"))

    second = await public.request("GET", path)
    assert (second.status, second.body) == (200, first.body)
    assert len(backends.render.script.requests("RenderQR")) == drawn  # from the image cache

    conditional = await public.request(
        "GET", path, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert (conditional.status, conditional.body) == (304, b"")


async def test_public_urls_that_name_no_image_are_404(api: ApiClient) -> None:
    code = await stored_code(api)
    public = api.as_key(None)
    for path, error in (
        (f"/i/{code['qr_id']}.gif", "QR_NOT_FOUND"),
        ("/i/qr_0000000000000000.png", "QR_NOT_FOUND"),
        ("/i/nonsense.png", "QR_NOT_FOUND"),
        ("/i/bc_0000000000000000.png", "BARCODE_NOT_FOUND"),
    ):
        answer = await public.request("GET", path)
        assert (answer.status, answer.envelope["error"]["code"]) == (404, error), path


async def test_a_deleted_code_has_no_image_any_more(api: ApiClient) -> None:
    code = await stored_code(api)
    path = f"/i/{code['qr_id']}.png"
    assert (await api.as_key(None).request("GET", path)).status == 200
    deleted = await api.delete_code(code["qr_id"])
    assert deleted.data() == {"qr_id": code["qr_id"], "deleted": True}
    assert (await api.as_key(None).request("GET", path)).status == 404
    assert (await api.download(code["qr_id"])).error_code == "QR_NOT_FOUND"
    assert (await api.delete_code(code["qr_id"])).status == 404


async def test_barcode_download_is_conditional_too(api: ApiClient, backends: FakeBackends) -> None:
    created = (await api.generate_barcode({"format": "EAN13", "value": "590123412345"})).data()
    assert created["value"] == "5901234123457"  # the check digit, computed
    path = f"/v1/barcodes/{created['barcode_id']}/download"
    first = await api.request("GET", path)
    assert first.status == 200 and first.headers["Content-Type"] == "image/png"
    drawn = backends.render.script.requests("RenderBarcode")
    assert [(sent.symbology, sent.value) for sent in drawn] == [("EAN13", "5901234123457")] * 2
    again = await api.request("GET", path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert len(backends.render.script.requests("RenderBarcode")) == 2  # nothing drawn
