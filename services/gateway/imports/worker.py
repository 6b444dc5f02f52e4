"""The import worker: its own process from the gateway's code (``python -m
services.gateway.imports``), run beside the gateway in its deployment, so a long import
never takes CPU from requests and a crash of one never takes down the other.

It consumes ``gateway.imports`` with a prefetch of :data:`JOBS_IN_FLIGHT` and acks a message
only once its job has finished (done or failed): a worker killed mid-job leaves the message
unacked, the broker hands it out again, and the job resumes at its first line without an
outcome (:mod:`services.gateway.imports.jobs`). At start, and every
:data:`~services.gateway.imports.queue.SWEEP_INTERVAL_S`, it also runs every unfinished job,
whose message may never have been published. A job already running here is not started twice.

Opens, in order (closed in reverse): the admin port's entry, the Postgres pool, the render
channel, the broker connection (in the background, with backoff). Settings are the gateway's
(same environment), plus ``IMPORT_WORKER_ADMIN_PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from typing import Final

import msgspec
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from qrforge.v1 import render_pb2_grpc
from services.gateway.app import logo_policy
from services.gateway.backends.render import RenderBackend
from services.gateway.imports import storage
from services.gateway.imports.jobs import ImportRunner
from services.gateway.imports.queue import SWEEP_INTERVAL_S, declare_imports_queue
from services.gateway.qrcodes.prepared import DrawingTools
from services.gateway.settings import GatewaySettings
from services.runtime.admin import AdminServer
from services.runtime.amqp import BrokerConnection
from services.runtime.grpc_client import open_channel
from services.runtime.postgres import check_pool, close_pool, open_pool
from services.runtime.topics import IMPORTS_QUEUE

log = logging.getLogger(__name__)

JOBS_IN_FLIGHT: Final = 2
# Renders of designs that cannot travel in a coalesced batch (logos, frames, large sizes), out
# at once: the jobs' chunks start far more (jobs.RENDERS_IN_FLIGHT each), and every one queued
# at render behind the account's others would count that wait against its deadline.
SINGLE_RENDERS_IN_FLIGHT: Final = 16


class _JobMessage(msgspec.Struct):
    v: int
    import_id: str


class ImportWorker:
    def __init__(self, runner: ImportRunner, pool: object) -> None:
        self._runner = runner
        self._pool = pool
        self._running: dict[str, asyncio.Task[None]] = {}

    def start_job(self, import_id: str) -> asyncio.Task[None]:
        """The job's run here, started unless it already is."""
        task = self._running.get(import_id)
        if task is None or task.done():
            task = asyncio.create_task(self._runner.run(import_id), name=f"import {import_id}")
            self._running[import_id] = task
            task.add_done_callback(lambda _: self._running.pop(import_id, None))
        return task

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            job = msgspec.json.decode(message.body, type=_JobMessage)
        except msgspec.DecodeError:
            log.warning("malformed import job message dropped")
            await message.reject(requeue=False)
            return
        try:
            await self.start_job(job.import_id)
        except Exception:  # the run marks what it can; the sweep retries the rest
            log.exception("import job crashed", extra={"import_id": job.import_id})
        await message.ack()

    async def sweep(self) -> None:
        for import_id in await storage.unfinished_imports(self._pool):
            self.start_job(import_id)

    async def sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # Postgres away: next time
                log.warning("import sweep failed", exc_info=True)
            await asyncio.sleep(SWEEP_INTERVAL_S)

    async def stop(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()  # the chunk in flight rolls back; its lines are done again later
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def serve(settings: GatewaySettings, admin_port: int, stop: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings.database_url, max_size=2 + JOBS_IN_FLIGHT * 4)
        stack.push_async_callback(close_pool, pool)
        channel = open_channel(
            settings.render_addr, auth_token=settings.grpc_auth_token, tls=settings.grpc_tls
        )
        stack.push_async_callback(channel.close)
        render = RenderBackend(
            render_pb2_grpc.RenderServiceStub(channel),
            settings.render_timeout_s,
            singles_in_flight=SINGLE_RENDERS_IN_FLIGHT,
        )
        # An import returns no image: its codes are planned, not drawn (see DrawingTools).
        tools = DrawingTools(
            render, logo_policy(settings), settings.short_domains, pool, plan_only=True
        )
        worker = ImportWorker(ImportRunner(pool, tools), pool)
        stack.push_async_callback(worker.stop)

        async def set_up(connection: AbstractRobustConnection) -> None:
            amqp_channel = await connection.channel()
            await amqp_channel.set_qos(prefetch_count=JOBS_IN_FLIGHT)
            await declare_imports_queue(amqp_channel)
            queue = await amqp_channel.get_queue(IMPORTS_QUEUE)
            await queue.consume(worker.on_message)

        broker = BrokerConnection(settings.amqp_url, set_up, name="imports")
        stack.push_async_callback(broker.close)
        broker.start()

        async def postgres_ready() -> None:
            await check_pool(pool)

        admin = AdminServer(
            admin_port,
            {"postgres": postgres_ready, "rabbitmq": broker.check},
            host=settings.admin_host,
        )
        await admin.start()
        stack.push_async_callback(admin.stop)

        sweeper = asyncio.create_task(worker.sweep_forever(), name="import sweep")

        async def stop_sweeping() -> None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

        stack.push_async_callback(stop_sweeping)
        stack.callback(setattr, admin, "draining", True)
        await stop.wait()
