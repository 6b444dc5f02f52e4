"""Product barcodes: validate, render (verified by decoding), store, and show.

``QR`` goes through the QR renderer; every other symbology through RenderBarcode. The stored
record is the spec, so downloads and public images are re-rendered with a strong ETag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qrforge.v1 import render_pb2
from services.gateway.backends.render import RENDERER_GENERATION, Rendered
from services.gateway.context import GatewayContext
from services.gateway.http.timestamps import format_rfc3339
from services.runtime.grpc_client import call_unary


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
    spec = _barcode_request(record)
    if output:
        spec.output = output
    digest = hashlib.sha256(
        RENDERER_GENERATION + b"barcode" + spec.SerializeToString(deterministic=True)
    )
    return f'"{digest.hexdigest()[:32]}"'


async def render_stored_barcode(
    ctx: GatewayContext, record: StoredBarcode, output: str | None = None
) -> Rendered:
    timeout = ctx.settings.render_timeout_s
    if record.symbology == "QR":
        qr = _qr_request(record)
        qr.account_id = record.account_id  # whose turn at the render service; not in the ETag
        if output:
            qr.format = output
        image = await call_unary(ctx.render.RenderQR, qr, timeout=timeout, name="render.RenderQR")
    else:
        spec = _barcode_request(record)
        spec.account_id = record.account_id
        if output:
            spec.output = output
        image = await call_unary(
            ctx.render.RenderBarcode, spec, timeout=timeout, name="render.RenderBarcode"
        )
    return Rendered(image.data, image.content_type, image.version, image.error_correction)
