"""The render jobs: the two functions the gRPC servicer hands to its worker pool, and the specs
they take (a facade over :mod:`~services.render.qr_images` and
:mod:`~services.render.barcode_images`).

Both functions are pure (no I/O), take and return picklable frozen dataclasses, and raise
:class:`~services.runtime.errors.ApiError` for anything a client should see.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.render.barcode_images import render_barcode
from services.render.qr_images import plan_qr, render_qr
from services.render.specs import BarcodeSpec, QRDesign, QRSpec, RenderedImage
from services.runtime.errors import ApiError

__all__ = [
    "BarcodeSpec",
    "QRDesign",
    "QRSpec",
    "RenderedImage",
    "qr_outcome",
    "render_barcode",
    "render_qr",
    "render_qr_group",
]


def qr_outcome(spec: QRSpec) -> RenderedImage:
    """``spec``'s verified image, or with ``plan_only`` what drawing it would decide and no
    image (:func:`~services.render.qr_images.plan_qr`)."""
    return plan_qr(spec) if spec.plan_only else render_qr(spec)


def render_qr_group(specs: Sequence[QRSpec]) -> list[RenderedImage | ApiError]:
    """Several codes in one job, one trip to a worker and back: each code's
    :func:`qr_outcome`, or the ApiError raised for it."""
    outcomes: list[RenderedImage | ApiError] = []
    for spec in specs:
        try:
            outcomes.append(qr_outcome(spec))
        except ApiError as error:
            outcomes.append(error)
    return outcomes
