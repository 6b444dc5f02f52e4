"""The worker pool outlives its workers: real worker processes, one of them killed."""

from __future__ import annotations

import os
import signal

import pytest
from prometheus_client import REGISTRY

from services.render.rendering import render_qr
from services.render.specs import QRSpec
from services.render.worker_pool import WorkerPool
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode


def kill_this_worker(_spec: object) -> None:
    """What an OOM kill or a native crash does to a worker mid-render."""
    os.kill(os.getpid(), signal.SIGKILL)


def worker_pid(_spec: object) -> int:
    return os.getpid()


def restarts() -> float:
    return REGISTRY.get_sample_value("qrforge_render_pool_restarts_total") or 0.0


async def test_a_dead_worker_is_replaced_and_later_renders_succeed() -> None:
    pool = WorkerPool(1)
    try:
        first = await pool.run(render_qr, QRSpec(payload="before"))
        assert decode(first.data, first.content_type) == ["before"]
        before = restarts()

        # Kills its worker on both tries: the call fails cleanly, not with a broken pool.
        with pytest.raises(ApiError) as failed:
            await pool.run(kill_this_worker, None)
        assert failed.value.code == "INTERNAL_ERROR"
        assert restarts() == before + 2

        after = await pool.run(render_qr, QRSpec(payload="after the crash"))
        assert decode(after.data, after.content_type) == ["after the crash"]
    finally:
        pool.shutdown()


async def test_a_worker_killed_while_idle_costs_no_request() -> None:
    pool = WorkerPool(1)
    try:
        os.kill(await pool.run(worker_pid, None), signal.SIGKILL)
        before = restarts()
        image = await pool.run(render_qr, QRSpec(payload="retried on a new pool"))
        assert decode(image.data, image.content_type) == ["retried on a new pool"]
        assert restarts() == before + 1
    finally:
        pool.shutdown()
