"""The v1.1 barcode formats (API.md "Barcodes v1.1 and GS1"): every format in every output
decodes with zxing-cpp to exactly its content; GS1 symbols decode as GS1, with the group
separators where the element string needs them; 2D symbols fill their bounding box with
whole-pixel modules."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from services.render.barcode_images import render_barcode
from services.render.barcode_layout import layout_barcode
from services.render.barcode_matrix import encode_matrix, layout_matrix
from services.render.barcode_pattern import encode_barcode
from services.render.specs import BarcodeSpec
from services.runtime.errors import ApiError
from tests.support.decoding import raster_image

GS = "\x1d"
FORMATS = {
    "DATAMATRIX": zxingcpp.BarcodeFormat.DataMatrix,
    "PDF417": zxingcpp.BarcodeFormat.PDF417,
    "AZTEC": zxingcpp.BarcodeFormat.Aztec,
    "GS1_128": zxingcpp.BarcodeFormat.Code128,
    "GS1_DATAMATRIX": zxingcpp.BarcodeFormat.DataMatrix,
    "GS1_QR": zxingcpp.BarcodeFormat.QRCode,
    "ITF14": zxingcpp.BarcodeFormat.ITF,
    "UPCE": zxingcpp.BarcodeFormat.UPCE,
    "CODE93": zxingcpp.BarcodeFormat.Code93,
    "CODABAR": zxingcpp.BarcodeFormat.Codabar,
}
# (format, value as the API stores it, what a reader transmits: the GS1 element string with
# FNC1 as a group separator after each variable-length field that is not last).
CASES = [
    ("DATAMATRIX", "Part 4711-B / lot ünï", "Part 4711-B / lot ünï"),
    ("PDF417", "SHIP TO: ACME, 1 Main St, Springfield 12345", None),
    ("AZTEC", "TICKET#42 seat 17C", None),
    (
        "GS1_128",
        "(01)09506000134352(10)LOT42(17)261231",
        f"010950600013435210LOT42{GS}17261231",
    ),
    (
        "GS1_DATAMATRIX",
        "(01)09506000134352(21)SER1(10)LOT42(3103)001250",
        f"010950600013435221SER1{GS}10LOT42{GS}3103001250",
    ),
    (
        "GS1_QR",
        "(00)106141411234567897(400)PO-77(410)9501101020917",
        f"00106141411234567897400PO-77{GS}4109501101020917",
    ),
    ("ITF14", "15400141288763", None),
    ("UPCE", "01234565", None),
    ("CODE93", "CODE93 Full ASCII!", None),
    ("CODABAR", "A40156B", None),
]
OUTPUTS = ("png", "svg", "pdf", "eps")


def _decode(data: bytes, content_type: str, fmt: str) -> list[zxingcpp.Barcode]:
    gray = raster_image(data, content_type).convert("L")
    return list(
        zxingcpp.read_barcodes(
            gray,
            formats=zxingcpp.BarcodeFormats([FORMATS[fmt]]),
            text_mode=zxingcpp.TextMode.Plain,
        )
    )


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(("fmt", "value", "element_string"), CASES)
def test_every_format_and_output_decodes_to_its_content(
    fmt: str, value: str, element_string: str | None, output: str
) -> None:
    image = render_barcode(BarcodeSpec(fmt, value, output=output, width=600, height=300))
    results = _decode(image.data, image.content_type, fmt)
    assert len(results) == 1, results
    result = results[0]
    if fmt.startswith("GS1_"):
        assert result.content_type == zxingcpp.ContentType.GS1
        assert result.text == element_string
    elif fmt == "UPCE":
        # zxing transmits UPC-E expanded to EAN-13; the symbol's own 8 digits are its extras.
        assert isinstance(result.extra, dict) and result.extra["UPCE"] == value
    else:
        assert result.content_type != zxingcpp.ContentType.GS1
        assert result.text == value


def test_gs1_128_prints_its_ais_in_brackets() -> None:
    value = "(01)09506000134352(10)LOT42(17)261231"
    # The human-readable line is the element string with its AIs in brackets, as labels print
    # it: the SVG's text, the same line the raster draws under the bars.
    svg = render_barcode(BarcodeSpec("GS1_128", value, output="svg", width=800)).data.decode()
    assert f">{value}</text>" in svg
    layout = layout_barcode(encode_barcode("GS1_128", value), 800, 200, show_text=True)
    assert [item.text for item in layout.texts] == [value]
    png = render_barcode(BarcodeSpec("GS1_128", value, width=800, height=200)).data
    gray = np.asarray(raster_image(png, "image/png").convert("L"))
    below_bars = gray[layout.bottom :]
    assert (below_bars < 128).any()  # the text is drawn
    # A reader's own HRI of the symbol is the same string.
    hri = zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.HRI)
    assert [r.text for r in hri] == [value]


def test_a_2d_symbol_keeps_its_aspect_in_the_bounding_box() -> None:
    png = render_barcode(BarcodeSpec("DATAMATRIX", "ABC123", width=400, height=200)).data
    gray = np.asarray(raster_image(png, "image/png").convert("L"))
    assert gray.shape == (200, 400)
    dark = np.argwhere(gray < 128)
    (top, left), (bottom, right) = dark.min(axis=0), dark.max(axis=0)
    assert bottom - top == right - left  # square, whole-pixel modules
    # 12x12 modules + 2 x 2 quiet: 200 // 16 = 12 px per module, centred.
    assert encode_matrix("DATAMATRIX", "ABC123").dark.shape == (12, 12)
    assert bottom - top + 1 == 12 * 12
    assert abs((left + right) / 2 - 199.5) <= 1 and abs((top + bottom) / 2 - 99.5) <= 1


def test_pdf417_rows_are_three_modules_high() -> None:
    matrix = encode_matrix("PDF417", "PDF417")
    layout = layout_matrix(matrix, 1000, 1000)
    rows, columns = matrix.dark.shape
    assert layout.module_px == min(1000 // (columns + 4), 1000 // (3 * rows + 4))
    assert {h for *_, h in layout.rects()} == {3 * layout.module_px}


@pytest.mark.parametrize(
    ("spec", "code", "field"),
    [
        (BarcodeSpec("DATAMATRIX", "A" * 1001), "INVALID_BARCODE_VALUE", "value"),
        (BarcodeSpec("DATAMATRIX", "A" * 200, width=40, height=40), "INVALID_PARAMETER", "width"),
        (BarcodeSpec("PDF417", "A" * 50, width=2000, height=20), "INVALID_PARAMETER", "height"),
        (BarcodeSpec("GS1_128", "(01)09506000134353"), "INVALID_GS1", "value"),
        (BarcodeSpec("GS1_DATAMATRIX", "(17)261332"), "INVALID_GS1", "value"),
        (BarcodeSpec("ITF14", "15400141288764"), "INVALID_EAN", "value"),
        (BarcodeSpec("UPCE", "01234566"), "INVALID_EAN", "value"),
        (BarcodeSpec("CODABAR", "A12X4B"), "INVALID_BARCODE_VALUE", "value"),
    ],
)
def test_what_render_refuses(spec: BarcodeSpec, code: str, field: str) -> None:
    with pytest.raises(ApiError) as info:
        render_barcode(spec)
    assert (info.value.code, info.value.field) == (code, field)


@pytest.mark.parametrize(
    ("fmt", "value", "ai"),
    [
        ("GS1_128", "(01)09506000134353", "01"),
        ("GS1_DATAMATRIX", "(01)09506000134352(17)261332", "17"),
        ("GS1_QR", "(01)09506000134352(10)A B", "10"),
    ],
)
def test_render_names_the_ai_libzint_refuses(fmt: str, value: str, ai: str) -> None:
    # Render re-checks what it is given: libzint's GS1 checks, their AI carried over.
    with pytest.raises(ApiError) as info:
        render_barcode(BarcodeSpec(fmt, value))
    assert info.value.code == "INVALID_GS1"
    assert info.value.details == {"field": "value", "ai": ai}


def test_itf14_has_bearer_bars_touching_its_bars() -> None:
    value = "15400141288763"
    layout = layout_barcode(encode_barcode("ITF14", value), 600, 250, show_text=True)
    png = render_barcode(BarcodeSpec("ITF14", value, width=600, height=250)).data
    gray = np.asarray(raster_image(png, "image/png").convert("L"))
    (x, y, w, h), (_, y2, _, _) = layout.bearers
    # Solid across the symbol and its quiet zones, right above and below the bars.
    assert (gray[y : y + h, x : x + w] == 0).all()
    assert (gray[y2 : y2 + h, x : x + w] == 0).all()
    assert y + h == layout.top and y2 == layout.bottom
    assert w == (135 + 20) * layout.module_px
