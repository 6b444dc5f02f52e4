"""JPEG, WebP and EPS through the real system (API.md "Designs v1.1": ``format`` on static,
dynamic, embed, download and public image routes alike). Every image is decoded back
(JPEG/WebP through Pillow, EPS through Ghostscript) and compared with what was encoded."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr_image

URL = "https://example.com/formats?ref=print"
NEW_FORMATS = {"jpeg": "image/jpeg", "webp": "image/webp", "eps": "application/postscript"}
ALL_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", **NEW_FORMATS}
STYLED = {"fg_color": "#1a237e", "dot_style": "classy-rounded", "corner_style": "extra-rounded"}


def _logo_data() -> str:
    image = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((6, 6, 114, 114), fill=(230, 81, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


DESIGNS = {
    "plain": {},
    "styled": STYLED,
    "logo": {**STYLED, "logo_data": _logo_data(), "logo_size": 0.2},
}


@pytest.mark.parametrize("design", sorted(DESIGNS))
@pytest.mark.parametrize("fmt", sorted(NEW_FORMATS))
async def test_stored_code_in_a_new_format_and_its_public_image(
    api: ApiClient, fmt: str, design: str
) -> None:
    body = {"type": "url", "content": URL, "format": fmt, "size": 400, "design": DESIGNS[design]}
    if design == "logo":
        body["error_correction"] = "H"
    created = (await api.generate(body)).data()
    assert created["format"] == fmt
    assert created["image_url"].endswith(f"/i/{created['qr_id']}.{fmt}")
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    assert image.headers["Content-Type"] == NEW_FORMATS[fmt]
    assert decode_single_qr_image(image.body, NEW_FORMATS[fmt]) == URL


@pytest.mark.parametrize("fmt", sorted(NEW_FORMATS))
async def test_accept_header_answers_the_image_bytes(api: ApiClient, fmt: str) -> None:
    mime = NEW_FORMATS[fmt]
    response = await api.generate({"type": "text", "content": f"accept {fmt}"}, accept=mime)
    assert response.status == 200, response.text
    assert response.headers["Content-Type"] == mime
    assert response.headers["X-QR-Id"].startswith("qr_")
    assert decode_single_qr_image(response.body, mime) == f"accept {fmt}"


@pytest.mark.parametrize("fmt", sorted(NEW_FORMATS))
async def test_embed_path_takes_the_format(api: ApiClient, fmt: str) -> None:
    response = await api.request(
        "GET",
        "/v1/qrcodes/generate",
        params={"type": "url", "content": URL, "format": fmt, "dot_style": "round"},
    )
    assert response.status == 200, response.text
    assert response.headers["Content-Type"] == NEW_FORMATS[fmt]
    assert decode_single_qr_image(response.body, NEW_FORMATS[fmt]) == URL


@pytest.mark.parametrize("fmt", sorted(NEW_FORMATS))
async def test_dynamic_code_in_a_new_format(api: ApiClient, fmt: str) -> None:
    created = (
        await api.create_dynamic(
            {"name": f"print {fmt}", "destination_url": URL, "format": fmt, "design": STYLED}
        )
    ).data(201)
    image = await api.fetch(created["image_url"])
    assert image.headers["Content-Type"] == NEW_FORMATS[fmt]
    assert decode_single_qr_image(image.body, NEW_FORMATS[fmt]) == created["short_url"]


async def test_one_code_downloads_and_serves_in_every_format_each_with_its_own_etag(
    api: ApiClient,
) -> None:
    created = (
        await api.generate({"type": "url", "content": URL, "size": 300, "design": STYLED})
    ).data()
    qr_id = created["qr_id"]
    etags: dict[str, str] = {}
    for fmt, mime in ALL_FORMATS.items():
        download = await api.download(qr_id, format=fmt)
        assert download.status == 200, download.text
        assert download.headers["Content-Type"] == mime
        assert download.headers["Content-Disposition"] == f'attachment; filename="{qr_id}.{fmt}"'
        assert decode_single_qr_image(download.body, mime) == URL
        etags[fmt] = download.headers["ETag"]

        public = await api.fetch(f"{api.base_url}/i/{qr_id}.{fmt}")
        assert public.status == 200, public.text
        assert public.headers["Content-Type"] == mime
        assert public.headers["ETag"] == etags[fmt]
        assert public.body == download.body
        again = await api.fetch(
            f"{api.base_url}/i/{qr_id}.{fmt}", headers={"If-None-Match": etags[fmt]}
        )
        assert again.status == 304
    assert len(set(etags.values())) == len(ALL_FORMATS)


async def test_unknown_formats_are_refused(api: ApiClient) -> None:
    created = (await api.generate({"type": "text", "content": "gif?"})).data()
    download = await api.download(created["qr_id"], format="gif")
    assert (download.status, download.error_code) == (400, "INVALID_PARAMETER")
    assert "jpeg" in download.envelope["error"]["message"]
    public = await api.fetch(f"{api.base_url}/i/{created['qr_id']}.gif")
    assert public.status == 404
    generate = await api.generate({"type": "text", "content": "x", "format": "tiff"})
    assert (generate.status, generate.error_code) == (400, "INVALID_PARAMETER")


async def test_accept_picks_the_first_type_the_route_offers(api: ApiClient) -> None:
    """A browser-style Accept naming WebP first: QR routes answer WebP, barcode routes (PNG
    and SVG only) the PNG named next, not a refusal."""
    accept = "image/webp,image/png;q=0.9,*/*;q=0.8"
    qr = await api.generate({"type": "text", "content": "browser"}, accept=accept)
    assert qr.headers["Content-Type"] == "image/webp"
    assert decode_single_qr_image(qr.body, "image/webp") == "browser"
    barcode = await api.request(
        "POST",
        "/v1/barcodes/generate",
        json_body={"format": "EAN13", "value": "590123412345"},
        headers={"Accept": accept},
    )
    assert barcode.status == 200, barcode.text
    assert barcode.headers["Content-Type"] == "image/png"
