"""The worker pool outlives its workers: real worker processes, one of them killed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.render.render_jobs import render_qr
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


def finish_after_a_while(marker: str) -> None:
    time.sleep(0.5)
    Path(marker).touch()


def has_finished(marker: str) -> bool:
    return Path(marker).exists()


async def test_a_call_given_up_keeps_its_worker_share_until_its_render_ends(
    tmp_path: Path,
) -> None:
    pool = WorkerPool(2, per_account=1)
    try:
        marker = str(tmp_path / "first render finished")
        first = asyncio.create_task(pool.run(finish_after_a_while, marker, "acc_a"))
        await asyncio.sleep(0.1)  # let it reach a worker
        first.cancel()  # the client gave up; the render goes on in its worker
        with pytest.raises(asyncio.CancelledError):
            await first
        # The account's one worker is still drawing: its next render waits for it to end
        # instead of taking the second worker.
        assert await pool.run(has_finished, marker, "acc_a")
    finally:
        pool.shutdown()
