"""The redirect's lifecycle in-process, with Postgres and the broker unreachable (neither is
needed to start): a start that fails part-way closes what had opened, and a stop closes
everything."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from services.redirect.app import serve
from services.redirect.settings import RedirectSettings
from services.redirect.spool import Spool
from tests.support.processes import free_port

DEADLINE_S = 10.0


@pytest.fixture
def settings(tmp_path: Path) -> RedirectSettings:
    nobody = free_port()  # nothing listens there: Postgres and RabbitMQ are "down"
    return dataclasses.replace(
        RedirectSettings.from_env({}),
        port=free_port(),
        admin_port=free_port(),
        database_url=f"postgresql://postgres@127.0.0.1:{nobody}/none",
        amqp_url=f"amqp://guest:guest@127.0.0.1:{nobody}/",
        spool_dir=str(tmp_path / "spool"),
        shutdown_grace_s=1.0,
        flush_timeout_s=0.5,
    )


@pytest.fixture
def taken_port() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        yield sock


def _background_tasks() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks() if task is not asyncio.current_task()}


def _assert_closed(settings: RedirectSettings) -> None:
    Spool(settings.spool_dir).close()  # its lock is free again
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", settings.port))  # the public port is free again
    assert not {"broker-link", "scan-publisher"} & _background_tasks()


async def test_a_failed_start_closes_what_had_opened(
    settings: RedirectSettings, taken_port: socket.socket
) -> None:
    settings = dataclasses.replace(
        settings, admin_host="127.0.0.1", admin_port=taken_port.getsockname()[1]
    )
    with pytest.raises(OSError):
        await serve(settings, asyncio.Event())
    _assert_closed(settings)


async def test_a_stop_closes_everything(settings: RedirectSettings) -> None:
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))
    async with aiohttp.ClientSession() as http:
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while True:
            assert not service.done(), service
            try:
                async with http.get(f"http://127.0.0.1:{settings.port}/Abc1234") as resp:
                    # Postgres is down and the code is not cached: the page says so.
                    assert resp.status == 503
                    break
            except aiohttp.ClientConnectionError:
                assert asyncio.get_running_loop().time() < deadline, "never listened"
                await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(service, DEADLINE_S)
    _assert_closed(settings)
