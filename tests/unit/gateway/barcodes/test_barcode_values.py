"""Barcode values and requests: check digits computed and verified, charsets, options."""

from __future__ import annotations

import pytest

from services.gateway.barcodes.values import (
    BarcodeOptions,
    normalize_barcode_value,
    parse_barcode_request,
)
from services.runtime.errors import ApiError


def value_error(symbology: str, value: object) -> ApiError:
    with pytest.raises(ApiError) as info:
        normalize_barcode_value(symbology, value)
    return info.value


@pytest.mark.parametrize(
    ("symbology", "value", "expected"),
    [
        ("EAN13", "590123412345", "5901234123457"),  # API seed example
        ("EAN13", "5901234123457", "5901234123457"),
        ("EAN13", "400638133393", "4006381333931"),
        ("EAN13", "000000000000", "0000000000000"),
        ("EAN8", "9638507", "96385074"),
        ("EAN8", "96385074", "96385074"),
        ("UPCA", "03600029145", "036000291452"),
        ("UPCA", "036000291452", "036000291452"),
        ("ITF", "12345678", "12345678"),
        ("ITF", "00012345678905", "00012345678905"),
        ("CODE39", "ABC-123 $/+%.", "ABC-123 $/+%."),
        ("CODE128", "Hello, World! ~{}", "Hello, World! ~{}"),
        ("QR", "any text — ünïcode", "any text — ünïcode"),
        ("ean-13", "590123412345", "5901234123457"),
        ("upc_a", "03600029145", "036000291452"),
    ],
)
def test_valid_values(symbology: str, value: str, expected: str) -> None:
    assert normalize_barcode_value(symbology, value) == expected


@pytest.mark.parametrize(
    ("symbology", "value", "expected_digit"),
    [
        ("EAN13", "5901234123458", "7"),
        ("EAN8", "96385070", "4"),
        ("UPCA", "036000291459", "2"),
    ],
)
def test_wrong_check_digit_is_never_fixed(symbology: str, value: str, expected_digit: str) -> None:
    err = value_error(symbology, value)
    assert err.code == "INVALID_EAN"
    assert err.details == {"field": "value", "expected_check_digit": expected_digit}


@pytest.mark.parametrize(
    ("symbology", "value"),
    [
        ("EAN13", "59012341234"),  # 11 digits
        ("EAN13", "59012341234571"),  # 14 digits
        ("EAN13", "59012341234A"),
        ("EAN13", " 590123412345"),
        ("EAN13", ""),
        ("EAN8", "963850"),
        ("EAN8", "963850745"),
        ("UPCA", "0360002914"),
        ("UPCA", "0360002914523"),
        ("UPCA", "03600029145x"),
    ],
)
def test_bad_ean_shape(symbology: str, value: str) -> None:
    err = value_error(symbology, value)
    assert (err.code, err.field) == ("INVALID_EAN", "value")


@pytest.mark.parametrize(
    ("symbology", "value"),
    [
        ("ITF", "12345"),  # odd digit count
        ("ITF", "12a4"),
        ("ITF", ""),
        ("ITF", "12" * 41),
        ("CODE39", "abc"),  # lowercase
        ("CODE39", "AB*C"),
        ("CODE39", "ÀB"),
        ("CODE128", "tab\there"),
        ("CODE128", "café"),
        ("CODE128", "x" * 81),
        ("CODE128", ""),
        ("QR", ""),
        ("QR", "   "),
    ],
)
def test_unencodable_values(symbology: str, value: str) -> None:
    err = value_error(symbology, value)
    assert (err.code, err.field) == ("INVALID_BARCODE_VALUE", "value")


def test_code128_length_edge() -> None:
    assert normalize_barcode_value("CODE128", "x" * 80) == "x" * 80


def test_numeric_json_value_is_a_type_error() -> None:
    err = value_error("EAN13", 590123412345)
    assert (err.code, err.field) == ("INVALID_PARAMETER", "value")


@pytest.mark.parametrize("symbology", ["MAXICODE", "", "EAN"])
def test_unknown_format(symbology: str) -> None:
    err = value_error(symbology, "123")
    assert (err.code, err.field) == ("INVALID_PARAMETER", "format")


# --- whole request -----------------------------------------------------------------------


def test_request_defaults() -> None:
    options = parse_barcode_request({"format": "EAN13", "value": "590123412345"})
    assert options == BarcodeOptions(
        format="EAN13",
        value="5901234123457",
        output="png",
        width=400,
        height=200,
        show_text=True,
        metadata={},
    )


def test_request_full() -> None:
    metadata = {"sku": "A-1", "name": "Widget", "price": 9.99, "fragile": True, "lot": None}
    options = parse_barcode_request(
        {
            "format": "CODE128",
            "value": "A-1",
            "output": "SVG",
            "width": 100,
            "height": 4096,
            "show_text": False,
            "metadata": metadata,
        }
    )
    assert options == BarcodeOptions("CODE128", "A-1", "svg", 100, 4096, False, metadata)
    assert options.metadata is not metadata


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"value": "123"}, "INVALID_PARAMETER", "format"),
        ({"format": "EAN13"}, "INVALID_PARAMETER", "value"),
        (
            {"format": "EAN13", "value": "590123412345", "output": "gif"},
            "INVALID_PARAMETER",
            "output",
        ),
        ({"format": "QR", "value": "x", "width": 99}, "INVALID_PARAMETER", "width"),
        ({"format": "QR", "value": "x", "width": 4097}, "INVALID_PARAMETER", "width"),
        ({"format": "QR", "value": "x", "width": True}, "INVALID_PARAMETER", "width"),
        ({"format": "QR", "value": "x", "height": 49}, "INVALID_PARAMETER", "height"),
        ({"format": "QR", "value": "x", "height": "200"}, "INVALID_PARAMETER", "height"),
        ({"format": "QR", "value": "x", "show_text": 1}, "INVALID_PARAMETER", "show_text"),
        ({"format": "QR", "value": "x", "metadata": [1]}, "INVALID_PARAMETER", "metadata"),
        (
            {"format": "QR", "value": "x", "metadata": {"tags": ["x"]}},
            "INVALID_PARAMETER",
            "metadata.tags",
        ),
        (
            {"format": "QR", "value": "x", "metadata": {"nested": {"a": 1}}},
            "INVALID_PARAMETER",
            "metadata.nested",
        ),
        (
            {"format": "QR", "value": "x", "metadata": {"a": float("nan")}},
            "INVALID_PARAMETER",
            "metadata",
        ),
        (
            {"format": "QR", "value": "x", "metadata": {"blob": "x" * (16 * 1024)}},
            "INVALID_PARAMETER",
            "metadata",
        ),
        ({"format": "ITF", "value": "123"}, "INVALID_BARCODE_VALUE", "value"),
        ({"format": "EAN8", "value": "12345678"}, "INVALID_EAN", "value"),
    ],
)
def test_request_rejections(body: dict[str, object], code: str, field: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_barcode_request(body)
    assert (info.value.code, info.value.field) == (code, field)


def test_metadata_size_edge() -> None:
    # {"b":"…"} is 8 bytes of JSON around the string.
    metadata = {"b": "x" * (16 * 1024 - 8)}
    assert parse_barcode_request({"format": "QR", "value": "x", "metadata": metadata}).metadata == (
        metadata
    )


# --- v1.1 formats (API.md "Barcodes v1.1 and GS1") ------------------------------------------


@pytest.mark.parametrize(
    ("symbology", "value", "expected"),
    [
        ("ITF14", "1540014128876", "15400141288763"),
        ("ITF14", "15400141288763", "15400141288763"),
        ("UPCE", "0123456", "01234565"),  # expands to 01234500006, check digit 5
        ("UPCE", "01234565", "01234565"),
        ("UPCE", "0654321", "06543217"),  # last digit 1: 06510000432
        ("UPCE", "1234563", "12345639"),  # last digit 3, number system 1: 12340000056
        ("UPCE", "0123454", "01234543"),  # last digit 4: 01234000005
        ("CODABAR", "40156", "A40156A"),
        ("CODABAR", "B40156-$:/.+D", "B40156-$:/.+D"),
        ("CODE93", "Code 93 / full ASCII!", "Code 93 / full ASCII!"),
        ("DATAMATRIX", "Part 4711\nlot ünï", "Part 4711\nlot ünï"),
        ("PDF417", "x" * 1000, "x" * 1000),
        ("AZTEC", "TICKET 42", "TICKET 42"),
        (
            "GS1_128",
            "(01)09506000134352(17)261231(10)LOT42",
            "(01)09506000134352(17)261231(10)LOT42",
        ),
        ("GS1-128", "01095060001343521726123110LOT42", "(01)09506000134352(17)261231(10)LOT42"),
        ("GS1 DataMatrix", "(01)09506000134352(21)S1", "(01)09506000134352(21)S1"),
        ("gs1_qr", "(00)106141411234567897", "(00)106141411234567897"),
        ("Data Matrix", "x", "x"),
        ("UPC-E", "0123456", "01234565"),
        ("ITF-14", "1540014128876", "15400141288763"),
    ],
)
def test_v11_values(symbology: str, value: str, expected: str) -> None:
    assert normalize_barcode_value(symbology, value) == expected


@pytest.mark.parametrize(
    ("symbology", "value", "code", "details"),
    [
        ("ITF14", "15400141288764", "INVALID_EAN", {"expected_check_digit": "3"}),
        ("ITF14", "154001412887", "INVALID_EAN", {}),
        ("UPCE", "01234566", "INVALID_EAN", {"expected_check_digit": "5"}),
        ("UPCE", "2123456", "INVALID_EAN", {}),  # number system 0 or 1
        ("UPCE", "012345", "INVALID_EAN", {}),
        ("CODABAR", "A12X4B", "INVALID_BARCODE_VALUE", {}),
        ("CODABAR", "", "INVALID_BARCODE_VALUE", {}),
        ("CODE93", "ünï", "INVALID_BARCODE_VALUE", {}),
        ("CODE93", "x" * 81, "INVALID_BARCODE_VALUE", {}),
        ("DATAMATRIX", "a\x00b", "INVALID_BARCODE_VALUE", {}),
        ("PDF417", "x" * 1001, "INVALID_BARCODE_VALUE", {}),
        ("AZTEC", "   ", "INVALID_BARCODE_VALUE", {}),
        ("GS1_128", "(01)09506000134353", "INVALID_GS1", {"ai": "01", "expected_check_digit": "2"}),
        ("GS1_DATAMATRIX", "(17)261301", "INVALID_GS1", {"ai": "17"}),
        ("GS1_QR", "(99)X", "INVALID_GS1", {"ai": "99"}),
        # GS1-128 carries 48 characters: 16 + 22 + 22 here.
        (
            "GS1_128",
            "(01)09506000134352(10)ABCDEFGHIJKLMNOPQRST(21)ABCDEFGHIJKLMNOPQRST",
            "INVALID_GS1",
            {"ai": "21"},
        ),
    ],
)
def test_v11_rejections(symbology: str, value: str, code: str, details: dict[str, str]) -> None:
    err = value_error(symbology, value)
    assert err.code == code
    assert err.details == {"field": "value", **details}


def test_the_long_gs1_string_fits_a_2d_carrier() -> None:
    value = "(01)09506000134352(10)ABCDEFGHIJKLMNOPQRST(21)ABCDEFGHIJKLMNOPQRST"
    assert normalize_barcode_value("GS1_DATAMATRIX", value) == value


@pytest.mark.parametrize("output", ["png", "svg", "pdf", "eps", "PDF"])
def test_v11_outputs(output: str) -> None:
    options = parse_barcode_request({"format": "DATAMATRIX", "value": "x", "output": output})
    assert options.output == output.lower()
