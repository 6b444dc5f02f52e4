"""A stored barcode's ETag is the hash of its RenderBarcodeRequest, whatever its symbology:
images cached by clients and CDNs under it must stay valid."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from qrforge.v1 import render_pb2
from services.gateway.backends.render import RENDERER_GENERATION, etag_for
from services.gateway.barcodes.records import StoredBarcode, barcode_etag


def _record(symbology: str) -> StoredBarcode:
    return StoredBarcode(
        barcode_id="bc_abc",
        account_id="acc_1",
        symbology=symbology,
        value="5901234123457",
        output="png",
        width=300,
        height=120,
        show_text=True,
        metadata={},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("symbology", ["EAN13", "QR"])
@pytest.mark.parametrize("output", [None, "svg"])
def test_barcode_etag_hashes_the_barcode_request(symbology: str, output: str | None) -> None:
    spec = render_pb2.RenderBarcodeRequest(
        symbology=symbology,
        value="5901234123457",
        output=output or "png",
        width=300,
        height=120,
        show_text=True,
    )
    digest = hashlib.sha256(
        RENDERER_GENERATION + b"barcode" + spec.SerializeToString(deterministic=True)
    )
    assert barcode_etag(_record(symbology), output) == f'"{digest.hexdigest()[:32]}"'


def test_barcode_and_qr_etags_of_the_same_bytes_differ() -> None:
    spec = render_pb2.RenderBarcodeRequest(symbology="EAN13", value="1")
    assert etag_for(spec, kind=b"barcode") != etag_for(spec)
