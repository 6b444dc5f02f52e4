"""Batches whose items render differently (some refused, the render service gone) and
``Idempotency-Key`` replays: what is stored, what is answered, what a retry gets."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import grpc

from qrforge.v1 import render_pb2
from services.runtime.errors import ApiError
from tests.service.gateway.fakes import Abort, FakeBackends
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr


def refuse(payload: str) -> Any:
    def failure(request: render_pb2.RenderQRRequest) -> ApiError | None:
        if request.payload == payload:
            return ApiError("UNSCANNABLE_DESIGN", "Logo too big for the error correction level")
        return None

    return failure


async def total(api: ApiClient) -> int:
    count: int = (await api.list_codes()).envelope["pagination"]["total"]
    return count


async def test_a_batch_stores_what_rendered_and_reports_each_failure(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.render.script.failures["RenderQR"] = refuse("refused")
    items = [
        {"type": "text", "content": "first", "include_image": True},
        {"type": "text", "content": "refused"},
        {"type": "hologram", "content": "x"},
        {"kind": "dynamic", "name": "Promo", "destination_url": "https://example.com/promo",
         "include_image": True},
    ]  # fmt: skip
    data = (await api.batch(items)).data()
    assert (data["succeeded"], data["failed"]) == (2, 2)
    results = data["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["success"] for r in results] == [True, False, False, True]
    assert results[1]["error"] == {
        "code": "UNSCANNABLE_DESIGN",
        "message": "Logo too big for the error correction level",
    }
    assert results[2]["error"]["code"] == "INVALID_TYPE"
    first, promo = results[0]["data"], results[3]["data"]
    assert decode_single_qr(base64.b64decode(first["image_base64"])) == "first"
    assert decode_single_qr(base64.b64decode(promo["image_base64"])) == promo["short_url"]
    assert await total(api) == 2
    assert (await api.get_code(first["qr_id"])).data()["content"] == "first"


async def test_a_batch_that_could_draw_nothing_is_503_and_stores_nothing(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.render.script.failures["RenderQR"] = Abort(grpc.StatusCode.UNAVAILABLE)
    answer = await api.batch([{"type": "text", "content": "a"}, {"type": "text", "content": "b"}])
    assert (answer.status, answer.error_code) == (503, "SERVICE_UNAVAILABLE")
    assert await total(api) == 0


async def test_a_batch_with_only_invalid_items_is_a_200_with_their_errors(
    api: ApiClient, backends: FakeBackends
) -> None:
    answer = await api.batch([{"type": "text"}, "not an object"])
    data = answer.data()
    assert (data["succeeded"], data["failed"]) == (0, 2)
    assert data["results"][0]["error"]["details"] == {"field": "content"}
    assert data["results"][1]["error"]["details"] == {"field": "items[1]"}
    assert backends.render.script.calls == []


async def test_a_batch_replayed_under_its_idempotency_key_is_not_created_twice(
    api: ApiClient, backends: FakeBackends
) -> None:
    key = str(uuid.uuid4())
    items = [{"type": "text", "content": "once"}, {"type": "text", "content": "twice?"}]
    first = await api.batch(items, idempotency_key=key)
    drawn = len(backends.render.script.requests("RenderQR"))
    replay = await api.batch(items, idempotency_key=key)
    assert (replay.status, replay.json()) == (first.status, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(backends.render.script.requests("RenderQR")) == drawn
    assert await total(api) == 2
    conflict = await api.batch(items[:1], idempotency_key=key)
    assert (conflict.status, conflict.error_code) == (409, "IDEMPOTENCY_CONFLICT")


async def test_a_failed_create_is_not_replayed_so_its_retry_runs(
    api: ApiClient, backends: FakeBackends
) -> None:
    key = str(uuid.uuid4())
    body = {"type": "url", "content": "https://example.com/retry"}
    backends.render.script.failures["RenderQR"] = Abort(grpc.StatusCode.UNAVAILABLE)
    assert (await api.generate(body, idempotency_key=key)).status == 503
    backends.render.script.failures.clear()
    retried = await api.generate(body, idempotency_key=key)
    assert retried.status == 200 and "Idempotent-Replayed" not in retried.headers
    again = await api.generate(body, idempotency_key=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data()["qr_id"] == retried.data()["qr_id"]
    assert await total(api) == 1


async def test_an_image_answer_replays_as_the_same_image(
    api: ApiClient, backends: FakeBackends
) -> None:
    key = str(uuid.uuid4())
    body = {"type": "text", "content": "replayed image"}
    first = await api.generate(body, accept="image/png", idempotency_key=key)
    replay = await api.generate(body, accept="image/png", idempotency_key=key)
    assert replay.status == 200 and replay.headers["Content-Type"] == "image/png"
    assert replay.headers["X-QR-Id"] == first.headers["X-QR-Id"]
    assert decode_single_qr(replay.body) == "replayed image"
    assert len(backends.render.script.requests("RenderQR")) == 1


async def test_an_invalid_body_is_replayed_as_the_same_400(api: ApiClient) -> None:
    key = str(uuid.uuid4())
    first = await api.generate({"type": "url", "content": "not a url"}, idempotency_key=key)
    assert first.status == 400 and first.error_code == "INVALID_CONTENT"
    replay = await api.generate({"type": "url", "content": "not a url"}, idempotency_key=key)
    assert (replay.status, replay.json()) == (400, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
