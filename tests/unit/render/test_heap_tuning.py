"""A render worker's heap keeps freed image buffers for the next render (heap_tuning)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Run in a child process: the settings are process-wide and a test must see them take effect
# from a clean allocator, not from whatever this process's earlier tests left.
_PROBE = textwrap.dedent(
    """
    import ctypes, ctypes.util, sys

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    if sys.argv[1] == "tuned":
        from services.render.heap_tuning import keep_freed_heap
        assert keep_freed_heap()
    block = libc.malloc(4 << 20)  # a 4 MiB buffer: a 1,000 px RGB image
    mapped = libc.mallinfo2().hblkhd >= 4 << 20
    libc.free(block)
    kept = libc.mallinfo2().fordblks >= 4 << 20
    print(int(mapped), int(kept))
    """
)


def _probe(mode: str) -> tuple[bool, bool]:
    """(the buffer was a mapping of its own, its memory stayed in the heap once freed)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "1", out[1] == "1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_image_buffer_stays_in_the_heap_for_the_next_render() -> None:
    assert _probe("default") == (True, False)  # glibc maps it, and unmaps it on free
    assert _probe("tuned") == (False, True)
