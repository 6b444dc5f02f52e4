"""gRPC transport of the render service: messages in, plain specs to the worker pool, bytes out."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from functools import partial
from typing import Final

from qrforge.v1 import render_pb2, render_pb2_grpc
from services.render.heap_tuning import keep_freed_heap
from services.render.image_decoding import DecodedSymbol, decode_image, reader_formats
from services.render.render_jobs import qr_outcome, render_barcode, render_qr, render_qr_group
from services.render.specs import BarcodeSpec, Frame, Gradient, QRDesign, QRSpec, RenderedImage
from services.render.worker_pool import WorkerPool
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

# Bounds one batch call's work and size; a gateway coalesces far fewer.
MAX_BATCH_ITEMS: Final = 64
# Codes of one account drawn in one worker job: small enough that other accounts' jobs still
# get their turn between an account's groups.
GROUP_ITEMS: Final = 8


def warm_up_worker() -> None:
    """Pool initializer: the heap set to keep its buffers between renders, then one code drawn
    so imports and caches are warm before the first call."""
    keep_freed_heap()
    render_qr(QRSpec(payload="warm-up"))


# Unset proto fields (empty, zero) take the specs' own defaults, written once in specs.py.
_DEFAULT_QR: Final = QRSpec(payload="")
_DEFAULT_BARCODE: Final = BarcodeSpec(symbology="", value="")


def qr_spec_from(request: render_pb2.RenderQRRequest) -> QRSpec:
    design, defaults = request.design, _DEFAULT_QR.design
    return QRSpec(
        payload=request.payload,
        format=request.format or _DEFAULT_QR.format,
        size=request.size or _DEFAULT_QR.size,
        error_correction=request.error_correction or _DEFAULT_QR.error_correction,
        quiet_zone=request.quiet_zone,  # 0 is a valid quiet zone: callers always set it
        design=QRDesign(
            fg_color=design.fg_color or defaults.fg_color,
            bg_color=design.bg_color or defaults.bg_color,
            dot_style=design.dot_style or defaults.dot_style,
            corner_style=design.corner_style or defaults.corner_style,
            logo=design.logo or None,
            logo_size=design.logo_size or defaults.logo_size,
            eye_color=design.eye_color,
            eye_inner_color=design.eye_inner_color,
            eye_inner_style=design.eye_inner_style,
            gradient=(
                Gradient(
                    type=design.gradient.type,
                    colors=tuple(design.gradient.colors),
                    angle=design.gradient.angle,
                )
                if design.HasField("gradient")
                else None
            ),
            frame=(
                Frame(
                    style=design.frame.style,
                    text=design.frame.text,
                    color=design.frame.color,
                    text_color=design.frame.text_color,
                )
                if design.HasField("frame")
                else None
            ),
        ),
        fit=request.fit or _DEFAULT_QR.fit,
        error_correction_requested=request.error_correction_requested,
        plan_only=request.plan_only,
    )


def barcode_spec_from(request: render_pb2.RenderBarcodeRequest) -> BarcodeSpec:
    return BarcodeSpec(
        symbology=request.symbology,
        value=request.value,
        output=request.output or _DEFAULT_BARCODE.output,
        width=request.width or _DEFAULT_BARCODE.width,
        height=request.height or _DEFAULT_BARCODE.height,
        show_text=request.show_text,
    )


def error_message(error: ApiError) -> render_pb2.RenderError:
    details = json.dumps(error.details, separators=(",", ":")) if error.details else ""
    return render_pb2.RenderError(code=error.code, message=error.message, details_json=details)


def to_message(image: RenderedImage) -> render_pb2.RenderedImage:
    return render_pb2.RenderedImage(
        data=image.data,
        content_type=image.content_type,
        version=image.version,
        error_correction=image.error_correction,
        logo_size_applied=image.logo_size,
        warnings=[
            render_pb2.FitWarning(code=warning.code, message=warning.message)
            for warning in image.warnings
        ],
    )


def symbol_message(symbol: DecodedSymbol) -> render_pb2.DecodedSymbol:
    return render_pb2.DecodedSymbol(
        format=symbol.format,
        text=symbol.text,
        position=[render_pb2.Point(x=x, y=y) for x, y in symbol.position],
    )


class RenderServicer(render_pb2_grpc.RenderServiceServicer):
    """Runs each render in the worker pool so the event loop keeps accepting calls; the
    pool takes turns between the accounts the requests name.

    An :class:`~services.runtime.errors.ApiError` raised in a worker is pickled back and
    re-raised here, where the interceptor maps it to a status.
    """

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool

    async def RenderQR(  # noqa: N802 - gRPC method name
        self, request: render_pb2.RenderQRRequest, context: object
    ) -> render_pb2.RenderedImage:
        image = await self._pool.run(qr_outcome, qr_spec_from(request), request.account_id)
        return to_message(image)

    async def RenderBarcode(  # noqa: N802 - gRPC method name
        self, request: render_pb2.RenderBarcodeRequest, context: object
    ) -> render_pb2.RenderedImage:
        image = await self._pool.run(render_barcode, barcode_spec_from(request), request.account_id)
        return to_message(image)

    async def RenderQRBatch(  # noqa: N802 - gRPC method name
        self, request: render_pb2.RenderQRBatchRequest, context: object
    ) -> render_pb2.RenderQRBatchResponse:
        """Each account's items go to the workers in groups of up to ``GROUP_ITEMS`` (one job
        each, queued for that account), so the trip to a worker is paid per group."""
        items = request.items
        if len(items) > MAX_BATCH_ITEMS:
            raise ApiError(
                "INVALID_PARAMETER", f"A render batch holds at most {MAX_BATCH_ITEMS} items"
            )
        by_account: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            by_account.setdefault(item.account_id, []).append(index)
        outcomes: list[render_pb2.RenderOutcome] = [render_pb2.RenderOutcome()] * len(items)

        async def render_group(indices: list[int]) -> None:
            specs = [qr_spec_from(items[index]) for index in indices]
            results: Sequence[RenderedImage | ApiError]
            try:
                results = await self._pool.run(render_qr_group, specs, items[indices[0]].account_id)
            except ApiError as error:
                results = [error] * len(indices)
            except Exception:
                log.exception("a batched render failed")
                failed = ApiError("INTERNAL_ERROR", "The image could not be rendered")
                results = [failed] * len(indices)
            for index, result in zip(indices, results, strict=True):
                outcomes[index] = (
                    render_pb2.RenderOutcome(error=error_message(result))
                    if isinstance(result, ApiError)
                    else render_pb2.RenderOutcome(image=to_message(result))
                )

        await asyncio.gather(
            *(
                render_group(indices[start : start + GROUP_ITEMS])
                for indices in by_account.values()
                for start in range(0, len(indices), GROUP_ITEMS)
            )
        )
        return render_pb2.RenderQRBatchResponse(outcomes=outcomes)

    async def DecodeImage(  # noqa: N802 - gRPC method name
        self, request: render_pb2.DecodeImageRequest, context: object
    ) -> render_pb2.DecodeImageResponse:
        """Decoding is CPU-bound like a render, so it takes the account's turn in the same
        pool; the image's limits are checked in the worker, before any pixel is decoded."""
        formats = tuple(request.formats)
        reader_formats(formats)  # an unknown name is refused before the image takes a turn
        decode = partial(decode_image, formats=formats)
        symbols = await self._pool.run(decode, request.image, request.account_id)
        return render_pb2.DecodeImageResponse(results=[symbol_message(s) for s in symbols])
