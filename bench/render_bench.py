"""Render service throughput on one core, against the naive baselines, in the same run.

Run from the repo root: ``python -m bench.render_bench``. Prints one JSON object.

Each contender runs in alternating slices (ours, baseline, ours, ...) so that load from
other processes on the machine hits both alike; every slice renders fresh payloads (a
counter in the text), so no result cache can help. Verification is included in our figures
because ``render_qr`` / ``render_barcode`` always verify.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import barcode
import numpy as np
import segno
from barcode.writer import ImageWriter
from isal import isal_zlib
from PIL import Image, ImageDraw

from services.render.heap_tuning import keep_freed_heap
from services.render.qr_matrix import encode_qr
from services.render.render_jobs import BarcodeSpec, QRDesign, QRSpec, render_barcode, render_qr
from services.render.scan_check import verify_qr
from services.render.specs import Frame, Gradient

SLICE_SECONDS = 0.25
SLICES = 10  # per contender: ~2.5 s each
MAX_ITERATIONS_PER_SLICE = 20_000


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


class Counter:
    """Hands out distinct payload numbers across all slices of one contender."""

    def __init__(self, start: int) -> None:
        self.value = start

    def next(self) -> int:
        self.value += 1
        return self.value


def _url(i: int) -> str:
    return f"https://qrforge.example/p/{i * 7919 % 10_000_000:07d}?utm_source=print&n={i}"


def _ean12(i: int) -> str:
    return f"{(590_000_000_000 + i * 7_919) % 1_000_000_000_000:012d}"


def _ean13(i: int) -> str:
    body = _ean12(i)
    total = sum(int(d) * (3 if k % 2 == 0 else 1) for k, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _gtin14(i: int) -> str:
    body = f"{(950_600_000_000 + i * 7_919) % 10_000_000_000_000:013d}"
    total = sum(int(d) * (3 if k % 2 == 0 else 1) for k, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _gs1_element_string(i: int) -> str:
    """A GTIN, an expiry and a lot: the usual GS1-128 / GS1 DataMatrix label content."""
    return f"(01){_gtin14(i)}(17)261231(10)LOT{i % 1_000_000}"


def _part_marking(i: int) -> str:
    """A DataMatrix part marking of a typical length (30-odd characters)."""
    return f"PN:4711-{i % 100_000:05d};SN:{i:010d};REV:B"


def _logo_png() -> bytes:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 248, 248), fill=(230, 57, 70, 255))
    draw.rectangle((88, 88, 168, 168), fill=(255, 255, 255, 255))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _slice(step: Callable[[int], object], counter: Counter) -> tuple[int, float, float]:
    """(codes drawn, wall seconds, CPU seconds of this process) of one slice."""
    done = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + SLICE_SECONDS
    while done < MAX_ITERATIONS_PER_SLICE:
        step(counter.next())
        done += 1
        if done % 8 == 0 and time.perf_counter() >= deadline:
            break
    return done, time.perf_counter() - start, time.process_time() - cpu_start


def interleaved_with_cpu(
    contenders: dict[str, Callable[[int], object]],
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-second rates of each contender, measured in alternating slices: per wall second,
    and per CPU second (what a core delivers when it is not shared: on a loaded machine the
    wall rate drops with the share of the pinned core this process gets)."""
    counters = {name: Counter(k * 10_000_000) for k, name in enumerate(contenders)}
    totals = {name: [0, 0.0, 0.0] for name in contenders}
    for name, step in contenders.items():  # warm caches (sprites, fonts, logo) outside timing
        for _ in range(20):
            step(counters[name].next())
    for _ in range(SLICES):
        for name, step in contenders.items():
            done, elapsed, cpu = _slice(step, counters[name])
            totals[name][0] += done
            totals[name][1] += elapsed
            totals[name][2] += cpu
    wall = {name: count / seconds for name, (count, seconds, _) in totals.items()}
    per_cpu = {name: count / cpu for name, (count, _, cpu) in totals.items()}
    return wall, per_cpu


def interleaved(contenders: dict[str, Callable[[int], object]]) -> dict[str, float]:
    """Per-second (wall) rates of each contender, measured in alternating slices."""
    return interleaved_with_cpu(contenders)[0]


def segno_png(i: int) -> bytes:
    qr = segno.make(_url(i))
    scale = max(1, 512 // qr.symbol_size(scale=1)[0])
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale)
    return buf.getvalue()


def python_barcode_png(i: int) -> bytes:
    buf = io.BytesIO()
    barcode.get("ean13", _ean12(i), writer=ImageWriter()).write(buf)
    return buf.getvalue()


def framed_floor(spec_of: Callable[[int], QRSpec]) -> dict[str, float]:
    """The framed code's four library steps as the pipeline runs them, each timed alone (ms
    of CPU per code): the encoder (zint), Pillow's blend of the gradient ink through the
    anti-aliased coverage, deflate of the PNG rows (ISA-L, the fastest deflate there is) and
    zxing-cpp's two reads at 3-5 px per module (the code alone, then in its frame). Their sum
    bounds the pipeline's rate from above whatever its own glue (layout, sampling, copies,
    grey reduction) costs."""
    first = spec_of(0)
    framed = np.asarray(Image.open(io.BytesIO(render_qr(first).data)).convert("RGB"))
    height, width, _ = framed.shape
    code = Image.fromarray(np.ascontiguousarray(framed[:width]), "RGB")
    coverage = code.convert("L")
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    rows = np.zeros((height, width * 3 + 1), dtype=np.uint8)
    rows[1:, 1:] = np.diff(framed.reshape(height, width * 3), axis=0)  # PNG's Up filter
    level = first.error_correction
    module_px = width // (encode_qr(first.payload, level).size + 2 * first.quiet_zone)
    gray = np.asarray(code.reduce(max(1, module_px // 3)).convert("L"))  # 3-5 px per module

    def two_reads(_: int) -> None:
        verify_qr(gray, first.payload, level)
        verify_qr(gray, first.payload, level)

    steps: dict[str, Callable[[int], object]] = {
        "encode": lambda i: encode_qr(spec_of(i).payload, level),
        "blend": lambda _: canvas.paste(code, (0, 0), coverage),
        "deflate": lambda _: isal_zlib.compress(rows, 1),
        "two_reads": two_reads,
    }
    parts = {}
    for name, step in steps.items():
        step(1)
        cpu = time.process_time()
        for i in range(200):
            step(i)
        parts[name] = (time.process_time() - cpu) / 200 * 1000
    return parts


def main() -> dict[str, Any]:
    _pin_to_one_core()
    keep_freed_heap()  # as the render workers do (see services/render/servicer.py)
    logo = _logo_png()
    styled = QRDesign(dot_style="round", corner_style="extra-rounded", logo=logo, logo_size=0.2)
    # Issue 15's styled bar: frame + gradient + 20 % logo at H.
    framed = replace(
        styled,
        frame=Frame(style="banner-bottom", text="SCAN ME"),
        gradient=Gradient("linear", ("#1a237e", "#b71c1c"), 45),
    )

    floor = framed_floor(lambda i: QRSpec(_url(i), size=512, error_correction="H", design=framed))
    qr_rates = interleaved(
        {
            "segno": segno_png,
            "plain_512": lambda i: render_qr(QRSpec(_url(i), size=512)),
            "plain_4096": lambda i: render_qr(QRSpec(_url(i), size=4096)),
            "styled_512": lambda i: render_qr(
                QRSpec(_url(i), size=512, error_correction="H", design=styled)
            ),
            "framed_512": lambda i: render_qr(
                QRSpec(_url(i), size=512, error_correction="H", design=framed)
            ),
        }
    )
    bar_rates, bar_cpu_rates = interleaved_with_cpu(
        {
            "python_barcode": python_barcode_png,
            "ean13": lambda i: render_barcode(BarcodeSpec("EAN13", _ean13(i), show_text=True)),
            "datamatrix": lambda i: render_barcode(
                BarcodeSpec("DATAMATRIX", _part_marking(i), width=200, height=200)
            ),
            "gs1_128": lambda i: render_barcode(
                BarcodeSpec("GS1_128", _gs1_element_string(i), width=600, show_text=True)
            ),
        }
    )
    return {
        "unit": "codes per second on one core (verification included for ours)",
        "segno_png_512_baseline_per_s": round(qr_rates["segno"], 1),
        "plain_png_512_per_s": round(qr_rates["plain_512"], 1),
        "plain_vs_segno_ratio": round(qr_rates["plain_512"] / qr_rates["segno"], 2),
        "styled_png_512_per_s": round(qr_rates["styled_512"], 1),
        "styled_design": "round dots, extra-rounded corners, 20% PNG logo, level H",
        "framed_png_512_per_s": round(qr_rates["framed_512"], 1),
        "framed_design": "the styled design with a banner-bottom frame and a linear gradient",
        "framed_vs_styled_ratio": round(qr_rates["framed_512"] / qr_rates["styled_512"], 2),
        "framed_floor_ms": {name: round(ms, 3) for name, ms in floor.items()},
        "framed_ceiling_per_s": round(1000 / sum(floor.values()), 1),
        "plain_4096_vs_512_time_ratio": round(qr_rates["plain_512"] / qr_rates["plain_4096"], 2),
        "ean13_png_with_text_per_s": round(bar_rates["ean13"], 1),
        "python_barcode_ean13_png_baseline_per_s": round(bar_rates["python_barcode"], 1),
        "ean13_vs_python_barcode_ratio": round(bar_rates["ean13"] / bar_rates["python_barcode"], 2),
        "datamatrix_png_200_per_s": round(bar_rates["datamatrix"], 1),
        "datamatrix_vs_python_barcode_ratio": round(
            bar_rates["datamatrix"] / bar_rates["python_barcode"], 2
        ),
        "gs1_128_png_with_text_per_s": round(bar_rates["gs1_128"], 1),
        "gs1_128_vs_python_barcode_ratio": round(
            bar_rates["gs1_128"] / bar_rates["python_barcode"], 2
        ),
        "gs1_128_content": "(01) GTIN-14, (17) expiry, (10) lot; HRI with the AIs in brackets",
        "barcode_png_per_cpu_s": {name: round(rate, 1) for name, rate in bar_cpu_rates.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
