"""``POST /v1/decode``'s work on one core: a 1,000 px phone photo of a QR code (JPEG) through
the render worker's job (:func:`services.render.image_decoding.decode_image`: header bounds,
grey decode, zxing-cpp over every format), against plain ``zxingcpp.read_barcodes`` on the same
image opened with Pillow, in the same run.

Run from the repo root: ``python -m bench.decode_bench``. Prints one JSON object.

The two alternate in slices (ours, baseline, ours, ...) so that load from other processes hits
both alike. Rates are per CPU second of this process (pinned to one core), which is what "per
core" means on a machine shared with other work; wall-clock rates are reported too.

``decode_qr_only_per_core_per_s`` is the same photo with ``formats=QR``. ``profile_ms`` says
where the time goes (the grey decode, then zxing-cpp one format family at a
time) and ``qr_only_ceiling_per_s`` what even a QR-only read of the photo could reach.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import zxingcpp
from PIL import Image

from services.render.heap_tuning import keep_freed_heap
from services.render.image_decoding import decode_image
from services.render.render_jobs import QRSpec, render_qr
from tests.support.decode_inputs import phone_photo

BAR_PER_CORE: Final = 200.0  # issue 15: a 1,000 px photo at 200 decodes/s per core or more
PHOTO_SIDE: Final = 1000
CONTENT: Final = "https://qrforge.example/p/1234567?utm_source=print&n=42"
SLICE_SECONDS: Final = 0.5
SLICES: Final = 6  # per contender


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def plain_zxing(photo: bytes) -> list[str]:
    """What a caller of zxing-cpp writes: open with Pillow, read every format with defaults."""
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(photo)))]


def ours(photo: bytes) -> list[str]:
    return [symbol.text for symbol in decode_image(photo)]


def ours_qr_only(photo: bytes) -> list[str]:
    """``POST /v1/decode?formats=QR``: a caller who knows it scans QR codes."""
    return [symbol.text for symbol in decode_image(photo, ("QR",))]


def interleaved(
    contenders: dict[str, Callable[[bytes], list[str]]], photo: bytes
) -> dict[str, tuple[float, float]]:
    """(per CPU second, per wall second) of each contender, measured in alternating slices."""
    totals = {name: [0, 0.0, 0.0] for name in contenders}
    for name, step in contenders.items():
        assert step(photo) == [CONTENT], f"{name} does not read the photo"
    for _ in range(SLICES):
        for name, step in contenders.items():
            cpu, wall = time.process_time(), time.perf_counter()
            done = 0
            while time.perf_counter() - wall < SLICE_SECONDS:
                step(photo)
                done += 1
            totals[name][0] += done
            totals[name][1] += time.process_time() - cpu
            totals[name][2] += time.perf_counter() - wall
    return {name: (count / cpu, count / wall) for name, (count, cpu, wall) in totals.items()}


_FORMAT_GROUPS: Final = {
    "qr": zxingcpp.BarcodeFormat.QRCode,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "aztec": zxingcpp.BarcodeFormat.Aztec,
    "pdf417": zxingcpp.BarcodeFormat.PDF417,
    "linear": zxingcpp.BarcodeFormat.AllLinear,
    "micro_qr": zxingcpp.BarcodeFormat.MicroQRCode,
    "rmqr": zxingcpp.BarcodeFormat.RMQRCode,
}


def _cpu_ms(step: Callable[[], object], runs: int = 20) -> float:
    step()
    cpu = time.process_time()
    for _ in range(runs):
        step()
    return (time.process_time() - cpu) / runs * 1000


def profile(photo: bytes) -> dict[str, float]:
    """Where a decode's time goes, ms of CPU: the JPEG's decode to grey, then zxing-cpp's
    read of that grey image one format family at a time, with the passes ours takes (rotated,
    inverted, downscaled)."""

    def grey() -> Image.Image:
        image = Image.open(io.BytesIO(photo))
        image.draft("L", image.size)
        image.load()
        return image

    pixels = grey()
    parts = {"jpeg_to_grey": _cpu_ms(grey)}
    for name, formats in _FORMAT_GROUPS.items():
        read = partial(zxingcpp.read_barcodes, pixels, zxingcpp.BarcodeFormats(formats))
        parts[f"read_{name}"] = _cpu_ms(read)
    return parts


def main() -> dict[str, Any]:
    _pin_to_one_core()
    keep_freed_heap()  # as the render workers do (see services/render/servicer.py)
    code = render_qr(QRSpec(payload=CONTENT, size=600)).data
    photo = phone_photo(code, side=PHOTO_SIDE)
    parts = profile(photo)
    rates = interleaved(
        {"ours": ours, "ours_qr_only": ours_qr_only, "plain_zxing": plain_zxing}, photo
    )
    ours_cpu, ours_wall = rates["ours"]
    plain_cpu, plain_wall = rates["plain_zxing"]
    return {
        "unit": "decodes per second of one core (per CPU second of this process)",
        "image": f"{PHOTO_SIDE} px JPEG phone photo of a QR code ({len(photo)} bytes)",
        "decode_per_core_per_s": round(ours_cpu, 1),
        "plain_zxingcpp_baseline_per_core_per_s": round(plain_cpu, 1),
        "vs_baseline_ratio": round(ours_cpu / plain_cpu, 2),
        "decode_wall_per_s": round(ours_wall, 1),
        "plain_zxingcpp_wall_per_s": round(plain_wall, 1),
        "bar_per_core_per_s": BAR_PER_CORE,
        "meets_bar": ours_cpu >= BAR_PER_CORE,
        "decode_qr_only_per_core_per_s": round(rates["ours_qr_only"][0], 1),
        "profile_ms": {name: round(ms, 2) for name, ms in parts.items()},
        # What the bar leaves no room for: the grey decode plus the QR reader alone.
        "qr_only_ceiling_per_s": round(1000 / (parts["jpeg_to_grey"] + parts["read_qr"]), 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
