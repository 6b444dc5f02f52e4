"""An SVG logo to PNG bytes, rasterized in a throw-away child process with hard limits.

resvg is native code, and adversarial SVG reaches paths it does not survive: a chain of a
thousand masks or patterns overflows its stack (SIGSEGV), a filter with a huge region costs
seconds per element, an embedded raster is decoded at its full size. Any of these in a render
worker kills or stalls the worker, and every request queued behind it, whoever sent it. So the
rasterizer runs in a child forked for the purpose, with a memory ceiling, a CPU ceiling and a
wall-clock deadline; whatever the input does, only that child dies, and the caller gets a
:class:`RasterizeError` to turn into a 400.

The canvas is always fitted into a fixed ``box`` x ``box`` square (aspect ratio kept), never
the size the SVG declares, so the pixmap is bounded before resvg starts.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import select
import signal
import time
from typing import Final

import resvg_py

# Room for resvg on top of what the forked worker already maps: a 1024 px canvas is 4 MiB,
# and groups with opacity, masks and filters each take a layer of that size. Kept well below
# what a render pod can spare (1 GiB for the gRPC process and its workers in deploy/k8s):
# two hostile logos at once must not take the pod past its limit, where the kernel would kill
# a process of its choosing, maybe a worker serving another account.
_MEMORY_HEADROOM_BYTES: Final = 192 * 1024 * 1024
# A logo that is drawn in tens of milliseconds on a normal day; the ceilings are for hostile
# input, with room for a machine under load. The wall deadline stays well below the
# gateway's render timeout (10 s) so the client gets a 400, not a 503.
_CPU_SECONDS: Final = 3
_WALL_SECONDS: Final = 5.0
_READ_CHUNK: Final = 1 << 16
# A box of 1024 px is at most ~4 MiB as PNG; anything longer is not a PNG resvg wrote.
_MAX_PNG_BYTES: Final = 16 * 1024 * 1024
# The child's exit status when resvg itself refused the SVG (as opposed to dying or timing out).
_REFUSED_BY_RESVG: Final = 3


class RasterizeError(Exception):
    """The SVG could not be rasterized; the message is safe to show to a client."""


def rasterize_svg(svg_text: str, box: int) -> bytes:
    """PNG bytes of ``svg_text`` fitted into ``box`` x ``box`` pixels, aspect ratio kept.

    Raises :class:`RasterizeError` when resvg refuses the SVG, or when rendering it crashes,
    exceeds the memory or CPU ceiling, or misses the deadline (one message for all three:
    which ceiling a hostile file hits first depends on the machine's load).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
        os.close(read_end)
        _run_child(svg_text, box, write_end)
    os.close(write_end)
    png = bytearray()
    finished = False
    try:
        finished = _read_until_eof(read_end, png, time.monotonic() + _WALL_SECONDS)
    finally:
        os.close(read_end)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    if finished and exit_code == 0:
        return bytes(png)
    if exit_code == _REFUSED_BY_RESVG:
        raise RasterizeError("logo SVG cannot be rendered")
    raise RasterizeError("logo SVG is too large or too complex to render")


def _read_until_eof(fd: int, into: bytearray, deadline: float) -> bool:
    """Append what ``fd`` yields until EOF (True) or the deadline or size cap (False)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            return False
        chunk = os.read(fd, _READ_CHUNK)
        if not chunk:
            return True
        into += chunk
        if len(into) > _MAX_PNG_BYTES:
            return False


def _run_child(svg_text: str, box: int, write_end: int) -> None:  # pragma: no cover - child
    status = 1
    try:
        # A stack overflow here is an expected way for hostile input to end: no crash report.
        faulthandler.disable()
        _limit_resources()
        try:
            png = resvg_py.svg_to_bytes(
                svg_string=svg_text, width=box, height=box, skip_system_fonts=True
            )
        except ValueError:
            status = _REFUSED_BY_RESVG
        else:
            view = memoryview(png)
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
    finally:
        # No Python cleanup in a forked copy of the worker: atexit handlers, buffered files
        # and the executor's queues belong to the parent.
        os._exit(status)


def _limit_resources() -> None:  # pragma: no cover - child
    with open("/proc/self/statm", "rb") as statm:  # Linux, like the images this runs in
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    _lower_limit(resource.RLIMIT_AS, mapped + _MEMORY_HEADROOM_BYTES)
    _lower_limit(resource.RLIMIT_CPU, _CPU_SECONDS)
    _lower_limit(resource.RLIMIT_FSIZE, 0)
    _lower_limit(resource.RLIMIT_CORE, 0)


def _lower_limit(kind: int, value: int) -> None:  # pragma: no cover - child
    """Set both limits to ``value``, or keep a hard limit that is already lower."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))
