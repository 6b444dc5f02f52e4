"""From a validated request or a stored record to the render service and back.

Images are a pure function of the render request, so the strong ETag is a hash of that request
(plus the renderer generation): a conditional download is answered with 304 without drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from qrforge.v1 import render_pb2, render_pb2_grpc
from services.gateway.qrcodes.fit_warnings import CodeWarning
from services.gateway.qrcodes.options import DEFAULT_DESIGN, Frame, Gradient, QROptions
from services.gateway.qrcodes.records import StoredQR
from services.runtime.coalescing import Coalescer
from services.runtime.errors import HTTP_STATUS, ApiError
from services.runtime.grpc_client import call_unary

# Bump when the renderer's output changes for the same request, to invalidate cached images.
RENDERER_GENERATION: Final = b"4"

CONTENT_TYPES: Final = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "eps": "application/postscript",
}
# What an Accept header may name: our types, plus the unregistered names clients use for them.
FORMAT_BY_CONTENT_TYPE: Final = {
    **{mime: fmt for fmt, mime in CONTENT_TYPES.items()},
    "image/jpg": "jpeg",
    "image/eps": "eps",
    "image/x-eps": "eps",
    "application/eps": "eps",
}


# Only renders known to be cheap (well under a millisecond: a plain or styled raster or SVG of
# at most 1024 px, a short payload, no logo, no frame) are coalesced into RenderQRBatch calls,
# where a gRPC call's own cost is most of theirs. Anything heavier goes alone, as RenderQR: a batch is
# answered when its last item is drawn, so a heavy item would hold up the light ones of other
# accounts travelling with it, which the render service's fair turns exist to prevent.
COALESCED_FORMATS: Final = frozenset({"png", "svg"})
COALESCED_MAX_SIZE: Final = 1024
COALESCED_MAX_PAYLOAD: Final = 512
BATCH_MAX_ITEMS: Final = 32
BATCHES_IN_FLIGHT: Final = 2


@dataclass(frozen=True, slots=True)
class RenderBackend:
    """The render service as the gateway calls it: its stub and the deadline of every call.
    Small QR renders of concurrent requests travel together (see ``coalescing``).

    ``singles_in_flight`` (0: no bound) caps the QR renders sent alone at once, for a caller
    that starts many (the import worker): the rest wait here, where no deadline runs, rather
    than in render's queue behind the account's own, where theirs would."""

    stub: render_pb2_grpc.RenderServiceAsyncStub
    timeout_s: float
    singles_in_flight: int = 0
    batches: Coalescer[render_pb2.RenderQRRequest, render_pb2.RenderedImage] = field(
        init=False, repr=False, compare=False
    )
    singles: asyncio.Semaphore | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        batches = Coalescer(
            "render_qr",
            self._render_batch,
            max_batch=BATCH_MAX_ITEMS,
            max_in_flight=BATCHES_IN_FLIGHT,
        )
        object.__setattr__(self, "batches", batches)
        singles = asyncio.Semaphore(self.singles_in_flight) if self.singles_in_flight else None
        object.__setattr__(self, "singles", singles)

    async def _render_batch(
        self, items: Sequence[render_pb2.RenderQRRequest]
    ) -> list[render_pb2.RenderedImage | ApiError]:
        response = await call_unary(
            self.stub.RenderQRBatch,
            render_pb2.RenderQRBatchRequest(items=items),
            timeout=self.timeout_s,
            name="render.RenderQRBatch",
        )
        return [_outcome(outcome) for outcome in response.outcomes]

    async def render_qr(self, request: render_pb2.RenderQRRequest) -> render_pb2.RenderedImage:
        if is_cheap(request):
            return await self.batches.submit(request)
        async with self.singles or contextlib.nullcontext():
            return await call_unary(
                self.stub.RenderQR, request, timeout=self.timeout_s, name="render.RenderQR"
            )


def is_cheap(request: render_pb2.RenderQRRequest) -> bool:
    """Whether ``request`` may travel in a coalesced batch (see ``COALESCED_FORMATS``)."""
    return (
        request.format in COALESCED_FORMATS
        and request.size <= COALESCED_MAX_SIZE
        and len(request.payload) <= COALESCED_MAX_PAYLOAD
        and not request.design.logo
        # A frame is drawn, encoded and verified a second time around the code: not cheap.
        and request.design.frame.style in ("", "none")
    )


def _outcome(outcome: render_pb2.RenderOutcome) -> render_pb2.RenderedImage | ApiError:
    if outcome.HasField("image"):
        return outcome.image
    error = outcome.error
    if error.code not in HTTP_STATUS:
        return ApiError("INTERNAL_ERROR", "Internal error")
    details = json.loads(error.details_json) if error.details_json else None
    return ApiError(
        error.code, error.message, details=details if isinstance(details, dict) else None
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    """A verified image; for QR codes the level and logo size drawn (0.0 without a logo) and
    the warnings of fitting (and of the payload, once the caller adds them). A planned code's
    (``plan_only``) has everything but the image: ``data`` is empty."""

    data: bytes
    content_type: str
    version: int
    error_correction: str
    logo_size: float = 0.0
    warnings: tuple[CodeWarning, ...] = ()


def stored_design(options: QROptions) -> dict[str, Any]:
    """The design as the catalog keeps it: logo bytes live in the logos table, by hash."""
    design = options.design
    kept: dict[str, Any] = {
        "fg_color": design.fg_color,
        "bg_color": design.bg_color,
        "dot_style": design.dot_style,
        "corner_style": design.corner_style,
    }
    if design.fit != DEFAULT_DESIGN.fit:
        kept["fit"] = design.fit
    # Only when given: codes stored before these fields existed read back the same.
    for name in ("eye_color", "eye_inner_color", "eye_inner_style"):
        if getattr(design, name) is not None:
            kept[name] = getattr(design, name)
    if design.gradient is not None:
        kept["gradient"] = {
            "type": design.gradient.type,
            "colors": list(design.gradient.colors),
            "angle": design.gradient.angle,
        }
    if design.frame is not None:
        kept["frame"] = {
            key: value
            for key, value in (
                ("style", design.frame.style),
                ("text", design.frame.text),
                ("color", design.frame.color),
                ("text_color", design.frame.text_color),
            )
            if value is not None
        }
    if design.has_logo:
        kept["logo_size"] = design.logo_size
        if design.logo_url:
            kept["logo_url"] = design.logo_url
    return kept


def _fit_field(fit: str) -> str:
    """``fit`` as the render request carries it: the default is left unset, so the requests
    (and ETags) of designs that do not name it stay what they were before ``fit`` existed."""
    return "" if fit == DEFAULT_DESIGN.fit else fit


def _gradient_message(gradient: Gradient | None) -> render_pb2.QRGradient | None:
    if gradient is None:
        return None
    return render_pb2.QRGradient(
        type=gradient.type, colors=list(gradient.colors), angle=gradient.angle
    )


def _stored_gradient_message(stored: Any) -> render_pb2.QRGradient | None:
    """The gradient a stored design keeps (see :func:`stored_design`), as render takes it."""
    if not isinstance(stored, dict):
        return None
    return render_pb2.QRGradient(
        type=str(stored.get("type", "linear")),
        colors=[str(color) for color in stored.get("colors", [])],
        angle=int(stored.get("angle", 0)),
    )


def _frame_message(frame: Frame | None) -> render_pb2.QRFrame | None:
    if frame is None:
        return None
    return render_pb2.QRFrame(
        style=frame.style,
        text=frame.text,
        color=frame.color or "",
        text_color=frame.text_color or "",
    )


def _stored_frame_message(stored: Any) -> render_pb2.QRFrame | None:
    """The frame a stored design keeps (see :func:`stored_design`), as render takes it."""
    if not isinstance(stored, dict):
        return None
    return render_pb2.QRFrame(
        style=str(stored.get("style", "")),
        text=str(stored.get("text", "")),
        color=str(stored.get("color") or ""),
        text_color=str(stored.get("text_color") or ""),
    )


def request_from_options(payload: str, options: QROptions) -> render_pb2.RenderQRRequest:
    design = options.design
    return render_pb2.RenderQRRequest(
        payload=payload,
        format=options.format,
        size=options.size,
        error_correction=options.error_correction,
        quiet_zone=options.quiet_zone,
        design=render_pb2.QRDesign(
            fg_color=design.fg_color,
            bg_color=design.bg_color,
            dot_style=design.dot_style,
            corner_style=design.corner_style,
            logo=design.logo_data or b"",
            logo_size=design.logo_size,
            eye_color=design.eye_color or "",
            eye_inner_color=design.eye_inner_color or "",
            eye_inner_style=design.eye_inner_style or "",
            gradient=_gradient_message(design.gradient),
            frame=_frame_message(design.frame),
        ),
        fit=_fit_field(design.fit),
        error_correction_requested=options.error_correction_requested,
    )


def request_from_record(
    record: StoredQR, logo: bytes | None, *, fmt: str | None = None, size: int | None = None
) -> render_pb2.RenderQRRequest:
    design = record.design
    return render_pb2.RenderQRRequest(
        payload=record.payload,
        format=fmt or record.format,
        size=size or record.size,
        error_correction=record.error_correction,
        quiet_zone=record.quiet_zone,
        design=render_pb2.QRDesign(
            fg_color=design.get("fg_color", DEFAULT_DESIGN.fg_color),
            bg_color=design.get("bg_color", DEFAULT_DESIGN.bg_color),
            dot_style=design.get("dot_style", DEFAULT_DESIGN.dot_style),
            corner_style=design.get("corner_style", DEFAULT_DESIGN.corner_style),
            logo=logo or b"",
            logo_size=float(design.get("logo_size", DEFAULT_DESIGN.logo_size)),
            eye_color=design.get("eye_color") or "",
            eye_inner_color=design.get("eye_inner_color") or "",
            eye_inner_style=design.get("eye_inner_style") or "",
            gradient=_stored_gradient_message(design.get("gradient")),
            frame=_stored_frame_message(design.get("frame")),
        ),
        fit=_fit_field(design.get("fit", DEFAULT_DESIGN.fit)),
        # The level stored is the one drawn (a raised one included): drawn again as it is,
        # the same fitting gives the same logo size.
        error_correction_requested=True,
    )


def etag_for(
    request: render_pb2.RenderQRRequest | render_pb2.RenderBarcodeRequest, kind: bytes = b""
) -> str:
    """The strong ETag of the image ``request`` draws. ``kind`` keeps two families of images
    apart (barcodes hash ``b"barcode"`` first) and must never change for a family, or every
    cached image of it goes stale."""
    digest = hashlib.sha256(
        RENDERER_GENERATION + kind + request.SerializeToString(deterministic=True)
    )
    return f'"{digest.hexdigest()[:32]}"'


async def render(
    backend: RenderBackend,
    request: render_pb2.RenderQRRequest,
    account_id: str,
    *,
    plan_only: bool = False,
) -> Rendered:
    """Render ``request`` for ``account_id``: the render service takes turns between accounts.
    With ``plan_only``, only what drawing it would decide comes back (``data`` empty; see
    ``plan_only`` in render.proto): for a code stored without its image.

    The account travels on a copy, so ``request`` (and an ETag made from it) stays free of it.
    """
    billed = render_pb2.RenderQRRequest()
    billed.CopyFrom(request)
    billed.account_id = account_id
    billed.plan_only = plan_only
    image = await backend.render_qr(billed)
    return Rendered(
        image.data,
        image.content_type,
        image.version,
        image.error_correction,
        logo_size=image.logo_size_applied,
        warnings=tuple(CodeWarning(warning.code, warning.message) for warning in image.warnings),
    )


async def render_barcode(
    backend: RenderBackend, request: render_pb2.RenderBarcodeRequest, account_id: str
) -> Rendered:
    """Like :func:`render`, for a linear or 2D barcode other than QR."""
    billed = render_pb2.RenderBarcodeRequest()
    billed.CopyFrom(request)
    billed.account_id = account_id
    image = await call_unary(
        backend.stub.RenderBarcode,
        billed,
        timeout=backend.timeout_s,
        name="render.RenderBarcode",
    )
    return Rendered(image.data, image.content_type, image.version, image.error_correction)


async def decode_image(
    backend: RenderBackend, image: bytes, account_id: str, formats: Sequence[str] = ()
) -> list[render_pb2.DecodedSymbol]:
    """Every code render's decoder finds in ``image`` (of ``formats`` when named), decoded
    in its workers in ``account_id``'s turn (render checks the names, then the image's limits
    before decoding a pixel)."""
    response = await call_unary(
        backend.stub.DecodeImage,
        render_pb2.DecodeImageRequest(image=image, account_id=account_id, formats=formats),
        timeout=backend.timeout_s,
        name="render.DecodeImage",
    )
    return list(response.results)


async def render_options(
    backend: RenderBackend,
    payload: str,
    options: QROptions,
    account_id: str,
    *,
    plan_only: bool = False,
) -> Rendered:
    """Render ``payload`` drawn as ``options`` say, for ``account_id`` (only planned, with no
    image, under ``plan_only``: see :func:`render`).

    The renderer names ``design.logo_data`` when it refuses a logo (it only ever sees bytes);
    a logo the client gave as ``logo_url`` is reported on that field, as LOGO_FETCH_FAILED.
    """
    try:
        return await render(
            backend, request_from_options(payload, options), account_id, plan_only=plan_only
        )
    except ApiError as error:
        if options.design.logo_url is None or error.field != "design.logo_data":
            raise
        raise ApiError(
            "LOGO_FETCH_FAILED", f"logo_url: {error.message}", field="design.logo_url"
        ) from None
