"""``formats`` of a decode: the names results carry, each standing for the readers behind it."""

from __future__ import annotations

import pytest

from services.render.image_decoding import (
    MAX_FORMAT_NAMES,
    READABLE_FORMATS,
    decode_image,
    format_name,
    reader_formats,
)
from services.render.render_jobs import BarcodeSpec, QRSpec, render_barcode, render_qr
from services.runtime.errors import ApiError
from tests.support.decode_inputs import page_of


def test_every_name_a_result_can_carry_is_a_name_formats_takes() -> None:
    for members in READABLE_FORMATS.values():
        for member in members:
            assert format_name(member) in READABLE_FORMATS
    assert {"QR", "MICROQR", "RMQR", "DATAMATRIX", "AZTEC", "PDF417", "EAN13", "CODE128"} <= set(
        READABLE_FORMATS
    )


def test_a_page_is_read_for_the_formats_named_only() -> None:
    qr = render_qr(QRSpec("the qr code", size=300)).data
    datamatrix = render_barcode(BarcodeSpec("DATAMATRIX", "PN:4711", width=200, height=200)).data
    page, _ = page_of([qr, datamatrix])

    def found(*names: str) -> list[tuple[str, str]]:
        return sorted((symbol.format, symbol.text) for symbol in decode_image(page, names))

    everything = [("DATAMATRIX", "PN:4711"), ("QR", "the qr code")]
    assert found() == everything
    assert found("QR") == [everything[1]]
    assert found("DATAMATRIX") == [everything[0]]
    assert found("DATAMATRIX", "QR") == everything
    assert found("EAN13", "CODE128") == []


@pytest.mark.parametrize("names", [("QR", "NOPE"), ("qr",), ("",)])
def test_a_name_no_reader_has_is_refused_before_the_image_is_read(names: tuple[str, ...]) -> None:
    with pytest.raises(ApiError) as refused:
        decode_image(b"not even an image", names)
    assert (refused.value.code, refused.value.field) == ("INVALID_PARAMETER", "formats")
    assert "QR" in refused.value.message


def test_too_many_names_are_refused() -> None:
    with pytest.raises(ApiError) as refused:
        reader_formats(["QR"] * (MAX_FORMAT_NAMES + 1))
    assert refused.value.field == "formats"
