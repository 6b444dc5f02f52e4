"""Barcodes v1.1 and GS1 through the public API (API.md "Barcodes v1.1 and GS1"): every new
format in every output is stored, listed, downloaded and served, and decodes with zxing-cpp to
exactly its content (GS1 symbols as GS1, with group separators where the element string
needs them); GS1 errors name the AI; gs1_digital_link QR codes carry the Digital Link URI."""

from __future__ import annotations

import pytest
import zxingcpp

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr, raster_image

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
CONTENT_TYPES = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "eps": "application/postscript",
}
# (format, value sent, value stored, what a scanner transmits)
CASES = [
    ("DATAMATRIX", "Part 4711-B lot ünï", "Part 4711-B lot ünï", "Part 4711-B lot ünï"),
    ("PDF417", "SHIP TO: ACME, 1 Main St", "SHIP TO: ACME, 1 Main St", None),
    ("AZTEC", "TICKET#42 seat 17C", "TICKET#42 seat 17C", None),
    (
        "GS1_128",
        "(00)106141411234567897(420)75001(3103)001250",
        "(00)106141411234567897(420)75001(3103)001250",
        f"00106141411234567897420{'75001'}{GS}3103001250",
    ),
    (
        "GS1_DATAMATRIX",
        "(01)09506000134352(10)LOT42(17)261231",
        "(01)09506000134352(10)LOT42(17)261231",
        f"010950600013435210LOT42{GS}17261231",
    ),
    (
        "GS1_QR",
        # The raw (scanned) form is accepted and stored in its human form.
        f"010950600013435221SER1{GS}17261200",
        "(01)09506000134352(21)SER1(17)261200",
        f"010950600013435221SER1{GS}17261200",
    ),
    ("ITF14", "1540014128876", "15400141288763", "15400141288763"),
    ("UPCE", "0123456", "01234565", None),
    ("CODE93", "CODE93 Full ASCII!", "CODE93 Full ASCII!", "CODE93 Full ASCII!"),
    ("CODABAR", "40156", "A40156A", "A40156A"),
]


def _decoded(data: bytes, content_type: str, fmt: str) -> str:
    gray = raster_image(data, content_type).convert("L")
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats([FORMATS[fmt]]), text_mode=zxingcpp.TextMode.Plain
    )
    assert len(results) == 1, (fmt, content_type, results)
    result = results[0]
    assert (result.content_type == zxingcpp.ContentType.GS1) == fmt.startswith("GS1_")
    if fmt == "UPCE":
        extra = result.extra  # zxing's text is the expanded EAN-13
        assert isinstance(extra, dict)
        upce: str = extra["UPCE"]
        return upce
    text: str = result.text
    return text


@pytest.mark.parametrize(("fmt", "sent", "stored", "transmitted"), CASES)
async def test_every_format_in_every_output_decodes_to_its_content(
    api: ApiClient, fmt: str, sent: str, stored: str, transmitted: str | None
) -> None:
    expected = transmitted or stored
    created = await api.generate_barcode(
        {"format": fmt, "value": sent, "output": "eps", "width": 600, "height": 300}
    )
    data = created.data()
    assert (data["format"], data["value"], data["output"]) == (fmt, stored, "eps")
    assert data["image_url"].endswith(f"/i/{data['barcode_id']}.eps")
    for output, content_type in CONTENT_TYPES.items():
        # The public image of each extension, and the download of each format.
        image = await api.fetch(data["image_url"].removesuffix(".eps") + f".{output}")
        assert image.status == 200 and image.headers["Content-Type"] == content_type
        assert _decoded(image.body, content_type, fmt) == expected, output
        download = await api.request(
            "GET", f"/v1/barcodes/{data['barcode_id']}/download", params={"format": output}
        )
        assert download.status == 200 and download.headers["Content-Type"] == content_type
        assert download.headers["Content-Disposition"].endswith(f'.{output}"')
        assert _decoded(download.body, content_type, fmt) == expected, output
    record = (await api.request("GET", f"/v1/barcodes/{data['barcode_id']}")).data()
    assert record["value"] == stored and record["format"] == fmt


async def test_image_bytes_through_accept(api: ApiClient) -> None:
    value = "(01)09506000134352(17)261231(10)LOT42"
    for content_type in ("application/pdf", "application/postscript"):
        resp = await api.generate_barcode(
            {"format": "GS1_128", "value": value, "width": 700}, accept=content_type
        )
        assert resp.status == 200 and resp.headers["Content-Type"] == content_type
        assert _decoded(resp.body, content_type, "GS1_128") == ("01095060001343521726123110LOT42")
        listed = (await api.list_barcodes(limit="5")).data()
        assert resp.headers["X-Barcode-Id"] in {item["barcode_id"] for item in listed}


@pytest.mark.parametrize(
    ("body", "code", "details"),
    [
        (
            {"format": "GS1_128", "value": "(01)09506000134353(17)261231"},
            "INVALID_GS1",
            {"field": "value", "ai": "01", "expected_check_digit": "2"},
        ),
        (
            {"format": "GS1_DATAMATRIX", "value": "(01)09506000134352(17)261331"},
            "INVALID_GS1",
            {"field": "value", "ai": "17"},
        ),
        (
            {"format": "GS1_QR", "value": "(01)09506000134352(99)X"},
            "INVALID_GS1",
            {"field": "value", "ai": "99"},
        ),
        (
            {"format": "GS1_QR", "value": f"010950600013435210LOT4217261231{'X' * 10}"},
            "INVALID_GS1",
            {"field": "value", "ai": "10"},
        ),
        (
            {"format": "ITF14", "value": "15400141288764"},
            "INVALID_EAN",
            {"field": "value", "expected_check_digit": "3"},
        ),
        ({"format": "UPCE", "value": "2123456"}, "INVALID_EAN", {"field": "value"}),
        ({"format": "CODABAR", "value": "A1X2B"}, "INVALID_BARCODE_VALUE", {"field": "value"}),
        (
            {"format": "DATAMATRIX", "value": "A" * 300, "width": 100, "height": 50},
            "INVALID_PARAMETER",
            {"field": "height"},
        ),
        (
            {"format": "PDF417", "value": "x", "output": "gif"},
            "INVALID_PARAMETER",
            {"field": "output"},
        ),
    ],
)
async def test_errors_name_the_field_and_the_ai(
    api: ApiClient, body: dict[str, object], code: str, details: dict[str, str]
) -> None:
    resp = await api.generate_barcode(body)
    assert resp.status == 400, resp.text
    assert resp.error_code == code
    assert resp.envelope["error"]["details"] == details


async def test_gs1_digital_link_qr_codes(api: ApiClient) -> None:
    content = {"gtin": "09506000134352", "lot": "LOT42", "expiry": "2026-12-31"}
    resp = await api.generate({"type": "gs1_digital_link", "content": content}, accept="image/png")
    assert resp.status == 200, resp.text
    assert decode_single_qr(resp.body) == "https://id.gs1.org/01/09506000134352/10/LOT42?17=261231"
    batch = await api.batch(
        [
            {"type": "gs1_digital_link", "content": {"gtin": "9506000134352", "serial": "S/1"}},
            {"type": "gs1_digital_link", "content": {"gtin": "09506000134353"}},
        ]
    )
    results = batch.data()["results"]
    assert results[0]["success"] is True
    image = await api.fetch(results[0]["data"]["image_url"])
    assert decode_single_qr(image.body) == "https://id.gs1.org/01/09506000134352/21/S%2F1"
    assert results[1]["success"] is False
    assert results[1]["error"]["code"] == "INVALID_CONTENT"
    assert results[1]["error"]["details"]["field"] == "content.gtin"
