"""A start that fails part-way closes what had opened, for the services whose ``serve`` opens
resources before the step that fails: the gateway and keys (real Postgres, the broker
unreachable) and render. Each test takes a port the service needs, so a later step fails after
the earlier ones opened, then checks that the service's ports are free again and no background
task of it is left running."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from collections.abc import Iterator

import pytest

from services.gateway.app import serve as serve_gateway
from services.gateway.settings import GatewaySettings
from services.keys.server import serve as serve_keys
from services.keys.settings import KeysSettings
from services.render.server import serve as serve_render
from services.render.settings import RenderSettings
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from tests.support.backing import ADMIN_DSN
from tests.support.processes import free_port

TOKEN = "failed-start-test-token-" + "x" * 16
DEADLINE_S = 20.0


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        yield sock.getsockname()[1]


def _nobody() -> str:
    """An AMQP URL nothing listens on: the broker is "down"."""
    return f"amqp://guest:guest@127.0.0.1:{free_port()}/"


def _background_tasks() -> set[asyncio.Task[object]]:
    """Tasks of the loop besides the test's (other tests' session fixtures have some too)."""
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


def _assert_free(*ports: int) -> None:
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


async def test_gateway_closes_its_backends_when_the_admin_port_is_taken(taken_port: int) -> None:
    settings = GatewaySettings.from_env(
        {
            GRPC_AUTH_TOKEN_ENV: TOKEN,
            "GATEWAY_PORT": str(free_port()),
            "GATEWAY_ADMIN_PORT": str(taken_port),
            "DATABASE_URL": ADMIN_DSN,
            "AMQP_URL": _nobody(),
        }
    )
    before = _background_tasks()
    # The backends (pool, channels, limiter, broker connection) open before the admin port.
    with pytest.raises(OSError):
        await asyncio.wait_for(serve_gateway(settings, asyncio.Event()), DEADLINE_S)
    _assert_free(settings.port)
    assert not {task.get_name() for task in _background_tasks() - before}


async def test_keys_closes_what_had_opened_when_the_grpc_port_is_taken(taken_port: int) -> None:
    settings = KeysSettings.from_env(
        {
            GRPC_AUTH_TOKEN_ENV: TOKEN,
            "KEYS_PORT": str(taken_port),
            "KEYS_ADMIN_PORT": str(free_port()),
            "DATABASE_URL": ADMIN_DSN,
            "AMQP_URL": _nobody(),
        }
    )
    before = _background_tasks()
    # Pool, admin port, publisher and last-used recorder open before gRPC binds.
    with pytest.raises(RuntimeError, match="bind"):
        await asyncio.wait_for(serve_keys(settings, asyncio.Event()), DEADLINE_S)
    _assert_free(settings.admin_port)
    assert not {task.get_name() for task in _background_tasks() - before}


async def test_render_closes_its_workers_and_admin_port_when_the_grpc_port_is_taken(
    taken_port: int,
) -> None:
    settings = RenderSettings.from_env(
        {
            GRPC_AUTH_TOKEN_ENV: TOKEN,
            "RENDER_PORT": str(taken_port),
            "RENDER_ADMIN_PORT": str(free_port()),
            "RENDER_WORKERS": "1",
        }
    )
    # The admin port and the worker pool (its process started) open before gRPC binds.
    with pytest.raises(RuntimeError, match="bind"):
        await asyncio.wait_for(serve_render(settings, asyncio.Event()), DEADLINE_S)
    _assert_free(settings.admin_port)
    assert not multiprocessing.active_children()
