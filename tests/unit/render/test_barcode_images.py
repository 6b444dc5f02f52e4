"""render_barcode: each symbology decodes back to its value, in PNG and SVG."""

from __future__ import annotations

import io

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from services.render.render_jobs import BarcodeSpec, render_barcode
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode, raster

F = zxingcpp.BarcodeFormat
CASES = [
    ("EAN13", "5901234123457", F.EAN13, "5901234123457"),
    ("EAN8", "96385074", F.EAN8, "96385074"),
    ("UPCA", "036000291452", F.UPCA, "0036000291452"),  # zxing reports UPC-A as EAN-13
    ("CODE128", "QRForge-128/x?", F.Code128, "QRForge-128/x?"),
    ("CODE39", "CODE-39 $/+%.", F.Code39, "CODE-39 $/+%."),
    ("ITF", "00012345678905", F.ITF, "00012345678905"),
]


@pytest.mark.parametrize(("symbology", "value", "fmt", "expected"), CASES)
@pytest.mark.parametrize("output", ["png", "svg"])
@pytest.mark.parametrize("show_text", [True, False])
def test_decodes_to_value(
    symbology: str, value: str, fmt: F, expected: str, output: str, show_text: bool
) -> None:
    image = render_barcode(BarcodeSpec(symbology, value, output=output, show_text=show_text))
    assert image.content_type == ("image/png" if output == "png" else "image/svg+xml")
    assert image.version == 0 and image.error_correction == ""
    assert decode(image.data, image.content_type, fmt) == [expected]


@pytest.mark.parametrize(("width", "height"), [(400, 200), (250, 80), (1200, 300), (113, 60)])
@pytest.mark.parametrize("output", ["png", "svg"])
def test_width_and_height_are_honoured(width: int, height: int, output: str) -> None:
    image = render_barcode(
        BarcodeSpec("EAN13", "5901234123457", output=output, width=width, height=height)
    )
    assert raster(image.data, image.content_type).size == (width, height)
    assert decode(image.data, image.content_type, F.EAN13) == ["5901234123457"]


def test_bars_are_whole_pixel_modules_with_quiet_zones() -> None:
    image = render_barcode(
        BarcodeSpec("EAN13", "5901234123457", width=400, height=200, show_text=False)
    )
    gray = np.asarray(Image.open(io.BytesIO(image.data)))
    row = gray[100] < 128
    dark = np.flatnonzero(row)
    module_px = 400 // (11 + 95 + 7)
    assert dark[-1] - dark[0] + 1 == 95 * module_px  # first bar's edge to the last bar's edge
    assert dark[0] >= 11 * module_px and 400 - dark[-1] - 1 >= 7 * module_px
    runs = np.diff(np.flatnonzero(np.diff(row.astype(int)) != 0))
    assert all(run % module_px == 0 for run in runs)
    assert set(np.unique(gray)) <= {0, 255}


def test_ean_digits_are_drawn_in_groups() -> None:
    with_text = np.asarray(
        Image.open(io.BytesIO(render_barcode(BarcodeSpec("EAN13", "5901234123457")).data))
    )
    without = np.asarray(
        Image.open(
            io.BytesIO(render_barcode(BarcodeSpec("EAN13", "5901234123457", show_text=False)).data)
        )
    )
    ink = (with_text < 128) & ~(without < 128)
    cols = np.flatnonzero(ink.any(axis=0))
    module_px = 400 // 113
    x0 = (400 - 113 * module_px) // 2 + 11 * module_px
    assert cols[0] < x0  # the first digit stands in the left quiet zone
    # Guard bars reach down between the digit groups: the text band is not one solid run.
    bottom_rows = with_text[-30:] < 128
    assert bottom_rows[:, x0 + 46 * module_px].any()


@pytest.mark.parametrize(
    ("symbology", "value", "code"),
    [
        ("CODE39", "lowercase", "INVALID_BARCODE_VALUE"),
        ("CODE39", "A*B", "INVALID_BARCODE_VALUE"),
        ("CODE128", "héllo", "INVALID_BARCODE_VALUE"),
        ("ITF", "123", "INVALID_BARCODE_VALUE"),
        ("ITF", "12a4", "INVALID_BARCODE_VALUE"),
        ("EAN13", "5901234123458", "INVALID_EAN"),
        ("EAN13", "590123412345", "INVALID_EAN"),
        ("UPCA", "03600029145X", "INVALID_EAN"),
        ("EAN8", "9638507", "INVALID_EAN"),
        ("CODE128", "", "INVALID_BARCODE_VALUE"),
    ],
)
def test_values_that_cannot_be_encoded(symbology: str, value: str, code: str) -> None:
    with pytest.raises(ApiError) as info:
        render_barcode(BarcodeSpec(symbology, value))
    assert info.value.code == code
    assert info.value.field == "value"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (BarcodeSpec("EAN13", "5901234123457", width=100), "width"),
        (BarcodeSpec("CODE128", "X" * 60, width=400), "width"),
        (BarcodeSpec("EAN13", "5901234123457", height=10), "height"),
        (BarcodeSpec("EAN13", "5901234123457", output="gif"), "output"),
        (BarcodeSpec("QR", "x"), "format"),
    ],
)
def test_bad_parameters(spec: BarcodeSpec, field: str) -> None:
    with pytest.raises(ApiError) as info:
        render_barcode(spec)
    assert info.value.code == "INVALID_PARAMETER"
    assert info.value.field == field
