"""RenderQRBatch: each item answered as RenderQR would answer it, in order, by real workers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qrforge.v1 import render_pb2
from services.render.servicer import MAX_BATCH_ITEMS, RenderServicer
from services.render.worker_pool import WorkerPool
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode


async def test_each_item_gets_its_own_image_or_error_in_request_order() -> None:
    pool = WorkerPool(2, per_account=1)
    try:
        servicer = RenderServicer(pool)
        items = [
            render_pb2.RenderQRRequest(payload=f"https://example.com/{n}", account_id=account)
            for n, account in enumerate(["acc_a", "acc_b", "acc_a"])
        ]
        items.insert(1, render_pb2.RenderQRRequest(payload="x" * 8000, account_id="acc_a"))
        items.append(
            render_pb2.RenderQRRequest(
                payload="dim", format="svg", design=render_pb2.QRDesign(fg_color="#eeeeee")
            )
        )
        context: Any = None
        response = await servicer.RenderQRBatch(
            render_pb2.RenderQRBatchRequest(items=items), context
        )
        outcomes = list(response.outcomes)
        assert len(outcomes) == 5
        images = [outcomes[i].image for i in (0, 2, 3)]
        assert [decode(image.data, image.content_type) for image in images] == [
            ["https://example.com/0"],
            ["https://example.com/1"],
            ["https://example.com/2"],
        ]
        assert outcomes[1].error.code == "DATA_TOO_LONG"
        assert outcomes[4].error.code == "UNSCANNABLE_DESIGN"
        assert json.loads(outcomes[4].error.details_json or "{}").get("field") is not None
    finally:
        pool.shutdown()


async def test_a_batch_past_the_limit_is_refused_whole() -> None:
    pool = WorkerPool(1)
    try:
        request = render_pb2.RenderQRBatchRequest(
            items=[render_pb2.RenderQRRequest(payload="a")] * (MAX_BATCH_ITEMS + 1)
        )
        context: Any = None
        with pytest.raises(ApiError) as refused:
            await RenderServicer(pool).RenderQRBatch(request, context)
        assert refused.value.code == "INVALID_PARAMETER"
    finally:
        pool.shutdown()


async def test_a_large_batch_of_two_accounts_comes_back_whole_and_in_order() -> None:
    pool = WorkerPool(2, per_account=1)
    try:
        payloads = [f"item {n}" for n in range(30)]
        items = [
            render_pb2.RenderQRRequest(payload=p, account_id="acc_big" if n % 5 else "acc_small")
            for n, p in enumerate(payloads)
        ]
        context: Any = None
        response = await RenderServicer(pool).RenderQRBatch(
            render_pb2.RenderQRBatchRequest(items=items), context
        )
        decoded = [decode(o.image.data, o.image.content_type) for o in response.outcomes]
        assert decoded == [[p] for p in payloads]
    finally:
        pool.shutdown()


async def test_fitted_items_carry_what_was_drawn_and_why() -> None:
    """design.fit travels both ways through a batch: fit and the chosen level in, the level
    and logo size drawn and the warnings out."""
    pool = WorkerPool(1)
    try:
        light_on_dark = render_pb2.QRDesign(fg_color="#ffffff", bg_color="#000000")
        items = [
            render_pb2.RenderQRRequest(payload="plain", quiet_zone=4),
            render_pb2.RenderQRRequest(payload="light", quiet_zone=4, design=light_on_dark),
            render_pb2.RenderQRRequest(
                payload="strict", quiet_zone=4, design=light_on_dark, fit="strict"
            ),
        ]
        context: Any = None
        response = await RenderServicer(pool).RenderQRBatch(
            render_pb2.RenderQRBatchRequest(items=items), context
        )
        plain, light, strict = response.outcomes
        assert (plain.image.error_correction, plain.image.logo_size_applied) == ("M", 0.0)
        assert list(plain.image.warnings) == []
        assert [warning.code for warning in light.image.warnings] == ["INVERTED_COLORS"]
        assert decode(light.image.data, light.image.content_type) == ["light"]
        assert strict.error.code == "UNSCANNABLE_DESIGN"
    finally:
        pool.shutdown()
