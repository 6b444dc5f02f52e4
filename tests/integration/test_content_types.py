"""Every content type × every format through the gateway, each image decoded back to the exact
payload the type is defined to encode (SVG and PDF rasterised as a viewer would)."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pypdfium2
import pytest
import resvg_py
from PIL import Image

from services.gateway.qrcodes.payloads import build_payload
from tests.support.decoding import decode_single_qr
from tests.support.stack import ApiAccount, Stack

CONTENTS: dict[str, Any] = {
    "url": "https://example.com/p?id=42&ref=flyer",
    "text": "Grüße aus Köln — 10 % off",
    "phone": "+33612345678",
    "email": {"to": "hello@example.com", "subject": "Order #42 & more", "body": "Hi there"},
    "sms": {"phone": "+33612345678", "message": "STOP: 12"},
    "whatsapp": {"phone": "+33612345678", "message": "Bonjour !"},
    "wifi": {"ssid": 'Café; "Guest"', "password": "p@ss:word,1", "encryption": "WPA"},
    "vcard": {"first_name": "Zoë", "last_name": "Martin", "phone": "+33612345678", "email": "zoe@example.com", "organization": "ACME; Inc"},
    "maps": {"latitude": 48.8584, "longitude": 2.2945, "label": "Tour Eiffel"},
    "event": {"title": "Launch", "start": "2026-06-01T18:00:00Z", "end": "2026-06-01T20:00:00Z", "location": "Paris"},
    "payment": {"iban": "DE89370400440532013000", "amount": 12.5, "currency": "EUR", "name": "ACME GmbH"},
}  # fmt: skip


def _raster(data: bytes, fmt: str) -> bytes:
    if fmt == "png":
        return data
    if fmt == "svg":
        return bytes(resvg_py.svg_to_bytes(svg_string=data.decode(), background="white"))
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        image: Image.Image = page.render(scale=2).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize("qr_type", sorted(CONTENTS))
async def test_type_and_format_decode_to_the_payload(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession, qr_type: str, fmt: str
) -> None:
    body = {"type": qr_type, "content": CONTENTS[qr_type], "format": fmt, "size": 400}
    headers = {
        **account.headers,
        "Accept": {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[fmt],
    }
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/generate", json=body, headers=headers
    ) as resp:
        data = await resp.read()
        assert resp.status == 200, data[:300]
    assert decode_single_qr(_raster(data, fmt)) == build_payload(qr_type, CONTENTS[qr_type])
