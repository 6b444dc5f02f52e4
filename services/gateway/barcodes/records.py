"""Product barcodes: validate, render (verified by decoding), store, and show.

``QR`` goes through the QR renderer; every other symbology through RenderBarcode. The stored
record is the spec, so downloads and public images are re-rendered with a strong ETag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qrforge.v1 import render_pb2
from services.gateway.backends.render import (
    RenderBackend,
    Rendered,
    etag_for,
    render,
    render_barcode,
)
from services.gateway.http.timestamps import format_rfc3339


@dataclass(frozen=True, slots=True)
class StoredBarcode:
    barcode_id: str
    account_id: str
    symbology: str
    value: str
    output: str
    width: int
    height: int
    show_text: bool
    metadata: dict[str, Any]
    created_at: datetime
    tags: list[str] = field(default_factory=list)


def barcode_json(record: StoredBarcode, public_base_url: str) -> dict[str, Any]:
    return {
        "barcode_id": record.barcode_id,
        "format": record.symbology,
        "value": record.value,
        "output": record.output,
        "width": record.width,
        "height": record.height,
        "show_text": record.show_text,
        "image_url": f"{public_base_url}/i/{record.barcode_id}.{record.output}",
        "download_url": f"{public_base_url}/v1/barcodes/{record.barcode_id}/download",
        "metadata": record.metadata,
        "tags": record.tags,
        "created_at": format_rfc3339(record.created_at),
    }


def _qr_request(record: StoredBarcode) -> render_pb2.RenderQRRequest:
    # A QR "barcode" is square: the smaller side, default design.
    return render_pb2.RenderQRRequest(
        payload=record.value,
        format=record.output,
        size=min(record.width, record.height),
        error_correction="M",
        quiet_zone=4,
    )


def _barcode_request(record: StoredBarcode) -> render_pb2.RenderBarcodeRequest:
    return render_pb2.RenderBarcodeRequest(
        symbology=record.symbology,
        value=record.value,
        output=record.output,
        width=record.width,
        height=record.height,
        show_text=record.show_text,
    )


def barcode_etag(record: StoredBarcode, output: str | None = None) -> str:
    # Hashed as a RenderBarcodeRequest whatever the symbology (QR included), as ever since
    # images were first cached: a different spec here would turn every ETag stale.
    spec = _barcode_request(record)
    if output:
        spec.output = output
    return etag_for(spec, kind=b"barcode")


def _render_request(
    record: StoredBarcode, output: str | None
) -> render_pb2.RenderQRRequest | render_pb2.RenderBarcodeRequest:
    if record.symbology == "QR":
        qr = _qr_request(record)
        if output:
            qr.format = output
        return qr
    spec = _barcode_request(record)
    if output:
        spec.output = output
    return spec


async def render_stored_barcode(
    backend: RenderBackend, record: StoredBarcode, output: str | None = None
) -> Rendered:
    request = _render_request(record, output)
    if isinstance(request, render_pb2.RenderQRRequest):
        return await render(backend, request, record.account_id)
    return await render_barcode(backend, request, record.account_id)
