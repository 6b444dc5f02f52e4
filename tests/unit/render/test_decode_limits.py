"""The decode endpoint's image bounds: bytes, type, header pixels and JPEG scans are refused
before a pixel is decoded, and the decoder finds what the images hold."""

from __future__ import annotations

import io
import time

import pytest
import zxingcpp
from PIL import Image

from services.render.decode_limits import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    check_image_pixels,
    image_kind,
    open_bounded_image,
)
from services.render.image_decoding import decode_image, format_name
from services.render.render_jobs import BarcodeSpec, QRSpec, render_barcode, render_qr
from services.runtime.errors import ApiError
from tests.support.decode_inputs import claimed_size_png, page_of, phone_photo, reencoded
from tests.support.hostile_logos import blank_png, jpeg_scan_bomb


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def _refusal(data: bytes) -> ApiError:
    with pytest.raises(ApiError) as raised:
        open_bounded_image(data)
    return raised.value


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (_png(2, 2), "png"),
        (reencoded(_png(2, 2), "JPEG"), "jpeg"),
        (reencoded(_png(2, 2), "WEBP"), "webp"),
    ],
)
def test_kind_comes_from_the_magic_bytes(data: bytes, kind: str) -> None:
    assert image_kind(data) == kind
    assert open_bounded_image(data).size == (2, 2)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"GIF89a" + bytes(100),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"\x89PNG\r\n\x1a\n",  # the signature and nothing else
        b"\xff\xd8\xff\xe0" + bytes(10),
    ],
)
def test_what_is_not_an_image_is_invalid_image(data: bytes) -> None:
    assert _refusal(data).code == "INVALID_IMAGE"


def test_more_than_the_byte_limit_is_payload_too_large() -> None:
    assert _refusal(_png(2, 2) + bytes(MAX_IMAGE_BYTES)).code == "PAYLOAD_TOO_LARGE"


def test_a_decompression_bomb_is_refused_from_its_header_at_once() -> None:
    bomb = claimed_size_png(100_000, 100_000)
    assert len(bomb) < 2048
    started = time.perf_counter()
    error = _refusal(bomb)
    assert error.code == "INVALID_IMAGE"
    assert "megapixels" in error.message
    assert time.perf_counter() - started < 0.1
    with pytest.raises(ApiError, match="megapixels"):
        decode_image(bomb)  # the worker's job checks first too


def test_the_pixel_limit_is_inclusive() -> None:
    check_image_pixels(8000, MAX_IMAGE_PIXELS // 8000)
    with pytest.raises(ApiError):
        check_image_pixels(8000, MAX_IMAGE_PIXELS // 8000 + 1)
    with pytest.raises(ApiError):
        check_image_pixels(0, 10)


def test_a_real_image_over_the_pixel_limit_is_refused_undecoded() -> None:
    assert _refusal(blank_png(8000, 5001)).code == "INVALID_IMAGE"


def test_a_jpeg_of_too_many_scans_is_refused() -> None:
    assert _refusal(jpeg_scan_bomb()).code == "INVALID_IMAGE"


def test_a_truncated_image_is_invalid_image_when_decoded() -> None:
    png = render_qr(QRSpec(payload="truncated")).data
    with pytest.raises(ApiError) as raised:
        decode_image(png[: len(png) // 2])
    assert raised.value.code == "INVALID_IMAGE"


def test_a_photographed_code_decodes_with_its_corners_in_the_photo() -> None:
    payload = "https://qrforge.example/p/1234567?utm_source=print"
    photo = phone_photo(render_qr(QRSpec(payload=payload, size=600)).data, side=1000)
    [symbol] = decode_image(photo)
    assert (symbol.format, symbol.text) == ("QR", payload)
    # The printed code spans about 0.12..0.88 of the photo (decode_inputs._TILTED_CORNERS).
    for x, y in symbol.position:
        assert 100 < x < 900 and 100 < y < 900, symbol.position


def test_several_codes_and_formats_on_one_page_are_all_found() -> None:
    qr = render_qr(QRSpec(payload="page one", size=300)).data
    ean = render_barcode(BarcodeSpec(symbology="EAN13", value="5901234123457")).data
    code128 = render_barcode(BarcodeSpec(symbology="CODE128", value="QRF-2026-0001")).data
    page, boxes = page_of([qr, ean, code128])
    found = sorted((symbol.format, symbol.text) for symbol in decode_image(page))
    assert found == [("CODE128", "QRF-2026-0001"), ("EAN13", "5901234123457"), ("QR", "page one")]
    for symbol in decode_image(page):
        assert any(
            all(
                left - 5 <= x <= right + 5 and top - 5 <= y <= bottom + 5
                for x, y in symbol.position
            )
            for left, top, right, bottom in boxes
        ), symbol


def test_a_transparent_background_reads_as_paper() -> None:
    grey = Image.open(io.BytesIO(render_qr(QRSpec(payload="clear")).data)).convert("L")
    rgba = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    rgba.putalpha(grey.point(lambda level: 255 - level))  # dark modules opaque, paper clear
    out = io.BytesIO()
    rgba.save(out, "PNG")
    assert [symbol.text for symbol in decode_image(out.getvalue())] == ["clear"]


def test_an_image_without_codes_decodes_to_nothing() -> None:
    assert decode_image(_png(300, 200)) == []


def test_format_names_follow_the_barcode_routes() -> None:
    assert format_name(zxingcpp.BarcodeFormat.QRCode) == "QR"
    assert format_name(zxingcpp.BarcodeFormat.EAN13) == "EAN13"
    assert format_name(zxingcpp.BarcodeFormat.Code128) == "CODE128"
    assert format_name(zxingcpp.BarcodeFormat.DataMatrix) == "DATAMATRIX"
