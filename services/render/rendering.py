"""The render service's domain entry points, for the gRPC servicer (run in a process pool).

Both functions are pure (no I/O), take and return picklable frozen dataclasses, and raise
:class:`~services.runtime.errors.ApiError` for anything a client should see.
"""

from __future__ import annotations

from services.render.barcode_render import render_barcode
from services.render.qr_render import render_qr
from services.render.specs import BarcodeSpec, QRDesign, QRSpec, RenderedImage

__all__ = ["BarcodeSpec", "QRDesign", "QRSpec", "RenderedImage", "render_barcode", "render_qr"]
