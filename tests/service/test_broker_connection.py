"""services.runtime.amqp.BrokerConnection against the real RabbitMQ: it never blocks a start,
retries a failed connect or set-up with a fresh connection, and closes without leaving a task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.runtime.amqp import BrokerConnection, NotConnectedError
from tests.support.backing import scratch_name, scratch_vhost
from tests.support.polling import eventually
from tests.support.processes import free_port


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    with scratch_vhost(scratch_name("qrforge_broker_link_test")) as url:
        yield url


def _tasks() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_an_unreachable_broker_is_retried_until_close() -> None:
    attempts = 0

    async def set_up(_connection: AbstractRobustConnection) -> None:
        nonlocal attempts
        attempts += 1

    broker = BrokerConnection(
        f"amqp://guest:guest@127.0.0.1:{free_port()}/", set_up, name="unreachable"
    )
    broker.start()  # returns at once
    try:
        assert "unreachable-connect" in _tasks()
        with pytest.raises(NotConnectedError):
            await broker.check()
        assert broker.connection is None
    finally:
        await broker.close()
    assert "unreachable-connect" not in _tasks()
    assert attempts == 0


async def test_a_failed_set_up_is_retried_on_a_fresh_connection(amqp_url: str) -> None:
    seen: list[AbstractRobustConnection] = []

    async def set_up(connection: AbstractRobustConnection) -> None:
        seen.append(connection)
        if len(seen) == 1:
            raise RuntimeError("first set-up fails")
        channel = await connection.channel()
        await channel.declare_queue(exclusive=True)

    broker = BrokerConnection(amqp_url, set_up, name="retried")
    broker.start()
    try:

        async def checked() -> bool:
            try:
                await broker.check()
            except NotConnectedError:
                return False
            return True

        await eventually(checked, 15, "connected after a failed set-up")
        assert len(seen) == 2
        assert seen[0].is_closed  # the failed attempt's connection was closed
        assert broker.connection is seen[1]
    finally:
        await broker.close()
    assert seen[1].is_closed
    assert "retried-connect" not in _tasks()
