"""plan_qr: what a stored code keeps from its render (version, level, logo size, warnings, or
the error), without the image, always the same as render_qr's for the same spec."""

from __future__ import annotations

import io
import random
import string
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from qrforge.v1 import render_pb2
from services.render.qr_images import plan_qr, render_qr
from services.render.qr_matrix import encode_qr, qr_version
from services.render.render_jobs import qr_outcome
from services.render.servicer import RenderServicer
from services.render.specs import Frame, QRDesign, QRSpec, RenderedImage
from services.render.worker_pool import WorkerPool
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode


def _logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


LOGO_PNG = _logo_png()


def _outcome(draw: Any, spec: QRSpec) -> tuple[Any, ...]:
    try:
        image: RenderedImage = draw(spec)
    except ApiError as error:
        return ("error", error.code, error.field, error.message)
    return (image.version, image.error_correction, image.logo_size, image.warnings)


def _payloads() -> list[str]:
    rnd = random.Random(19)
    alphabets = [string.digits, string.ascii_uppercase + " $%*+-./:", string.printable, "äö€漢字"]
    payloads = ["https://example.com/s/1", "x" * 2954, "x" * 2955, "1" * 7089, "", "a\udc80"]
    for _ in range(300):
        alphabet = rnd.choice(alphabets)
        length = rnd.choice([1, 7, 20, 60, 200, 800, 1600])
        payloads.append("".join(rnd.choice(alphabet) for _ in range(length)))
    return payloads


def test_the_version_without_the_matrix_is_the_encoders_for_every_level() -> None:
    for payload in _payloads():
        for level in "LMQH":
            try:
                expected: object = encode_qr(payload, level).version
            except ApiError as error:
                expected = error.code
            try:
                planned: object = qr_version(payload, level)
            except ApiError as error:
                planned = error.code
            assert planned == expected, (payload[:40], level)


PLAIN_SPECS = [
    QRSpec(payload="https://example.com/s/1"),
    QRSpec(payload="https://example.com/s/1", error_correction="H", quiet_zone=0),
    # Inverted: accepted with a warning under auto, refused under strict.
    QRSpec(payload="inverted", design=QRDesign(fg_color="#ffffff", bg_color="#000000")),
    QRSpec(
        payload="inverted",
        design=QRDesign(fg_color="#ffffff", bg_color="#000000"),
        fit="strict",
    ),
    QRSpec(payload="transparent", design=QRDesign(bg_color="transparent")),
    QRSpec(payload="low contrast", design=QRDesign(fg_color="#777777", bg_color="#888888")),
    # Too small for the version: INVALID_PARAMETER naming the size.
    QRSpec(payload="z" * 300, size=100),
    QRSpec(payload="y" * 3000, error_correction="H"),
    QRSpec(payload="", size=5000),
    QRSpec(payload="bad level", error_correction="X"),
]
# Designs whose fitting depends on the decode: planned by drawing them in full.
DRAWN_SPECS = [
    QRSpec(payload="https://example.com/logo", design=QRDesign(logo=LOGO_PNG, logo_size=0.4)),
    QRSpec(payload="dots", design=QRDesign(dot_style="dots", corner_style="round")),
    QRSpec(payload="svg", format="svg"),
    QRSpec(payload="jpeg", format="jpeg", size=120),
    QRSpec(payload="framed", design=QRDesign(frame=Frame(style="box", text="SCAN ME"))),
]


@pytest.mark.parametrize("spec", PLAIN_SPECS + DRAWN_SPECS, ids=lambda s: s.payload[:20])
def test_a_plan_decides_what_the_verified_render_decides(spec: QRSpec) -> None:
    assert _outcome(plan_qr, spec) == _outcome(render_qr, spec)


def test_plain_pngs_of_every_kind_of_payload_plan_as_they_render() -> None:
    for index, payload in enumerate(_payloads()[:120]):
        spec = QRSpec(payload=payload, error_correction="LMQH"[index % 4], size=1024)
        assert _outcome(plan_qr, spec) == _outcome(render_qr, spec), payload[:40]


def test_a_plan_carries_no_image() -> None:
    for spec in (PLAIN_SPECS[0], DRAWN_SPECS[0]):
        planned = plan_qr(spec)
        assert planned.data == b""
        assert planned.content_type == "image/png"
    # The fitted logo is the one drawing chose.
    assert plan_qr(DRAWN_SPECS[0]).logo_size == render_qr(DRAWN_SPECS[0]).logo_size


async def test_render_plans_a_request_that_asks_only_for_a_plan() -> None:
    pool = WorkerPool(1)
    try:
        servicer = RenderServicer(pool)
        context: Any = None
        request = render_pb2.RenderQRRequest(payload="https://example.com/p", account_id="a")
        planned = await servicer.RenderQR(replace_plan(request), context)
        drawn = await servicer.RenderQR(request, context)
        assert planned.data == b""
        assert decode(drawn.data, drawn.content_type) == ["https://example.com/p"]
        assert (planned.version, planned.error_correction) == (
            drawn.version,
            drawn.error_correction,
        )
        batch = await servicer.RenderQRBatch(
            render_pb2.RenderQRBatchRequest(items=[replace_plan(request), request]), context
        )
        first, second = (outcome.image for outcome in batch.outcomes)
        assert first.data == b""
        assert first.version == second.version
        assert decode(second.data, second.content_type) == ["https://example.com/p"]
    finally:
        pool.shutdown()


def replace_plan(request: render_pb2.RenderQRRequest) -> render_pb2.RenderQRRequest:
    planned = render_pb2.RenderQRRequest()
    planned.CopyFrom(request)
    planned.plan_only = True
    return planned


def test_a_spec_is_planned_only_when_it_says_so() -> None:
    spec = QRSpec(payload="https://example.com/q")
    assert qr_outcome(replace(spec, plan_only=True)).data == b""
    assert decode(qr_outcome(spec).data, "image/png") == ["https://example.com/q"]
