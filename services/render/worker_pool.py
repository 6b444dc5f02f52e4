"""The render workers: processes that draw one code at a time, replaced when one dies.

Each worker is a process of its own with one socket pair to this process: a job goes down as
one length-prefixed frame (the pickled function and spec) and its outcome comes back as one
frame (the result or the exception it raised). A worker holds one job at a time, so no queue,
lock or feeder thread sits between the event loop and the workers: the loop writes the frame
and waits on the socket like any other I/O. (``ProcessPoolExecutor`` spent about three times
the render itself on its manager and feeder threads, shared result-queue lock and wake-up pipe.)

A worker killed by the OOM killer or a native crash is seen as its socket closing: it is
replaced at once and the job is retried once on the new worker (a render is a pure function of
its spec); a spec that kills its worker again fails with INTERNAL_ERROR.

Jobs reach the workers through a :class:`~services.render.fair_queue.FairQueue`: never more than
one per worker, at most ``per_account`` for one account, accounts served in turn.

Workers are started with "spawn", not fork: forking a process that already runs gRPC threads
can leave native locks (gRPC, FreeType, zint) held in the child, which then dies or hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final, TypeVar, cast

from prometheus_client import Counter

from services.render.fair_queue import FairQueue
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

SpecT = TypeVar("SpecT")
ResultT = TypeVar("ResultT")

pool_restarts_total = Counter(
    "qrforge_render_pool_restarts_total", "Render workers replaced after one died"
)

_FRAME_HEADER: Final = struct.Struct("!Q")
_SPAWN: Final = multiprocessing.get_context("spawn")


class WorkerDiedError(Exception):
    """The worker's socket closed before its answer came back."""


def _recv_exactly_blocking(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:])
        if count == 0:
            return None
        received += count
    return bytes(buffer)


def _serve_jobs(channel: Connection, initializer: Callable[[], None] | None) -> None:
    """A worker's life: draw what comes down the socket until the socket closes."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop (by
    # closing their sockets once in-flight renders are drained).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=os.dup(channel.fileno()))
    channel.close()
    sock.setblocking(True)
    if initializer is not None:
        initializer()
    while True:
        header = _recv_exactly_blocking(sock, _FRAME_HEADER.size)
        if header is None:
            return
        frame = _recv_exactly_blocking(sock, _FRAME_HEADER.unpack(header)[0])
        if frame is None:
            return
        render, spec = pickle.loads(frame)  # noqa: S301 - written by our own parent process
        try:
            outcome: tuple[bool, Any] = (True, render(spec))
        except Exception as exc:
            outcome = (False, exc)
        try:
            answer = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            log.exception("a render outcome could not be sent back")
            answer = pickle.dumps(
                (False, ApiError("INTERNAL_ERROR", "The image could not be rendered"))
            )
        sock.sendall(_FRAME_HEADER.pack(len(answer)))
        sock.sendall(answer)


class _AnswerReader(asyncio.BufferedProtocol):
    """This side of a worker's socket, registered with the event loop once for the worker's
    life (not once per read): collects each length-prefixed answer into one buffer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._header = bytearray(_FRAME_HEADER.size)
        self._body: bytearray | None = None
        self._filled = 0
        self._answer: asyncio.Future[bytes] | None = None
        self.closed = False

    def expect(self) -> asyncio.Future[bytes]:
        self._answer = asyncio.get_running_loop().create_future()
        if self.closed:
            self._answer.set_exception(WorkerDiedError())
        return self._answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        target = self._header if self._body is None else self._body
        return memoryview(target)[self._filled :]

    def buffer_updated(self, nbytes: int) -> None:
        self._filled += nbytes
        if self._body is None:
            if self._filled == _FRAME_HEADER.size:
                self._body = bytearray(_FRAME_HEADER.unpack(self._header)[0])
                self._filled = 0
            else:
                return
        if self._filled < len(self._body):
            return
        answer, self._body, self._filled = bytes(self._body), None, 0
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(WorkerDiedError())


class _Worker:
    """One worker process and this side of its socket."""

    def __init__(self, initializer: Callable[[], None] | None) -> None:
        parent, child = _SPAWN.Pipe(duplex=True)
        self.process: BaseProcess = _SPAWN.Process(
            target=_serve_jobs, args=(child, initializer), daemon=True, name="render-worker"
        )
        self.process.start()
        child.close()
        self.sock = socket.socket(fileno=os.dup(parent.fileno()))
        parent.close()
        # Shut down from any thread (the pool may stop from one) without touching the event
        # loop's transport: shutting the socket down is what both ends then see.
        self._control = self.sock.dup()
        self._reader: _AnswerReader | None = None

    async def _connected(self) -> _AnswerReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            _, self._reader = await loop.connect_accepted_socket(_AnswerReader, self.sock)
        return self._reader

    async def exchange(self, job: bytes) -> tuple[bool, Any]:
        reader = await self._connected()
        answer = reader.expect()
        if reader.transport is None or reader.transport.is_closing():
            raise WorkerDiedError
        reader.transport.write(_FRAME_HEADER.pack(len(job)) + job)
        return cast(tuple[bool, Any], pickle.loads(await answer))  # noqa: S301 - our worker

    def close(self, timeout_s: float) -> None:
        """Closing the socket is the worker's signal to exit; one that does not is killed."""
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        self._control.close()
        if self._reader is None:
            self.sock.close()  # else the event loop's transport closes it on end of file
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)


class WorkerPool:
    def __init__(
        self,
        workers: int,
        initializer: Callable[[], None] | None = None,
        *,
        per_account: int | None = None,
    ) -> None:
        """``per_account``: workers one account may hold at once; half of them by default."""
        self._initializer = initializer
        self._queue = FairQueue(workers, per_account or (workers + 1) // 2)
        # Started now, not on first use: a spawn (interpreter, imports, warm-up) takes a second
        # or more, and the first calls would wait for it.
        self._idle = [_Worker(initializer) for _ in range(workers)]
        self._busy: set[_Worker] = set()

    async def run(
        self, render: Callable[[SpecT], ResultT], spec: SpecT, account: str = ""
    ) -> ResultT:
        """``render(spec)`` in a worker, when it is ``account``'s turn (see the module doc).
        An exception ``render`` raises is raised here."""
        job = pickle.dumps((render, spec), protocol=pickle.HIGHEST_PROTOCOL)
        for attempt in (1, 2):
            await self._queue.acquire(account)
            # The turn is given back when the render ends, not when the caller stops waiting
            # (a cancelled call's render still holds its worker): hence the shielded task.
            exchange = asyncio.ensure_future(self._exchange(self._idle.pop(), job, account))
            exchange.add_done_callback(_retrieve_exception)
            try:
                succeeded, value = await asyncio.shield(exchange)
            except WorkerDiedError:
                if attempt == 2:
                    raise ApiError("INTERNAL_ERROR", "The image could not be rendered") from None
                continue
            if succeeded:
                return cast(ResultT, value)
            raise value
        raise AssertionError("unreachable")

    async def _exchange(self, worker: _Worker, job: bytes, account: str) -> tuple[bool, Any]:
        self._busy.add(worker)
        try:
            return await worker.exchange(job)
        except WorkerDiedError:
            log.error("a render worker died; starting a new one")
            pool_restarts_total.inc()
            self._busy.discard(worker)
            worker.close(timeout_s=0.2)
            worker = _Worker(self._initializer)
            raise
        finally:
            self._busy.discard(worker)
            self._idle.append(worker)
            self._queue.release(account)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        for worker in [*self._idle, *self._busy]:
            worker.close(timeout_s)


def _retrieve_exception(task: asyncio.Future[Any]) -> None:
    """A job whose caller gave up may still fail; its outcome has no one to go to."""
    if not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()
