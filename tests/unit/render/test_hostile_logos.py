"""Hostile logos handed straight to the renderer (as an internal caller could): each is refused
with INVALID_PARAMETER on ``design.logo_data``, in this process, which must survive them all
(before the fix, several aborted or segfaulted the process that rendered them)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from services.render.render_jobs import QRDesign, QRSpec, render_qr
from services.runtime.errors import ApiError
from tests.support.hostile_logos import (
    BILLION_LAUGHS_SVG,
    DEEPLY_NESTED_SVG,
    FILTER_STORM_SVG,
    MASK_CHAIN_SVG,
    SLIVER_SVG,
    SVG_XMLNS,
    TALL_SVG,
    animated_gif,
    animated_png,
    blank_png,
    embedded_bomb_svg,
    jpeg_scan_bomb,
    svg_with_file_href,
)
from tests.unit.render.conftest import decode

URL = "https://example.com/hostile-logos"


def render_with(logo: bytes, fmt: str = "png") -> bytes:
    spec = QRSpec(
        URL, format=fmt, error_correction="H", design=QRDesign(dot_style="round", logo=logo)
    )
    image = render_qr(spec)
    assert decode(image.data, image.content_type) == [URL]
    return image.data


def refusal(logo: bytes, fmt: str = "png") -> str:
    with pytest.raises(ApiError) as info:
        render_with(logo, fmt)
    assert (info.value.code, info.value.field) == ("INVALID_PARAMETER", "design.logo_data")
    return info.value.message


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize(
    ("logo", "reason"),
    [
        (TALL_SVG, "sides may differ"),
        (SLIVER_SVG, "sides may differ"),
        (BILLION_LAUGHS_SVG, "entities"),
        (DEEPLY_NESTED_SVG, "nests deeper"),
        (MASK_CHAIN_SVG, "too large or too complex"),
    ],
    ids=["tall", "sliver", "billion-laughs", "deeply-nested", "mask-chain"],
)
def test_hostile_svg_is_refused(logo: bytes, reason: str, fmt: str) -> None:
    assert reason in refusal(logo, fmt)


def test_svg_embedding_a_huge_png_is_refused_before_decoding() -> None:
    assert "too many pixels" in refusal(embedded_bomb_svg())


def test_svg_whose_rendering_burns_cpu_is_stopped() -> None:
    assert "too large or too complex" in refusal(FILTER_STORM_SVG)


@pytest.mark.parametrize("relative", [False, True])
def test_svg_cannot_read_local_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: bool
) -> None:
    # A bright red picture on disk: had resvg read it, the logo area would be red.
    Image.new("RGB", (50, 50), (255, 0, 0)).save(tmp_path / "secret.png")
    monkeypatch.chdir(tmp_path)
    href = "secret.png" if relative else str(tmp_path / "secret.png")
    assert "references a file or URL" in refusal(svg_with_file_href(href))


@pytest.mark.parametrize(
    ("logo", "reason"),
    [
        (blank_png(20_000, 20_000), "too many pixels"),
        (blank_png(5000, 4000), "at most 16777216 pixels"),
        (blank_png(4000, 100), "sides may differ"),
        (blank_png(100, 100)[:50], "cannot be decoded"),
        (b"\xff\xd8\xff\xe0" + bytes(64), "cannot be decoded"),
        (jpeg_scan_bomb(), "JPEG scans"),
        (animated_gif(2000), "not a PNG, JPEG or SVG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "not a PNG, JPEG or SVG"),
    ],
    ids=[
        "bomb",
        "over-budget",
        "sliver",
        "truncated-png",
        "truncated-jpeg",
        "jpeg-scan-bomb",
        "gif",
        "webp",
    ],
)
def test_hostile_raster_is_refused(logo: bytes, reason: str) -> None:
    assert reason in refusal(logo)


def test_animated_png_draws_its_first_frame_only() -> None:
    image = Image.open(io.BytesIO(render_with(animated_png(1000)))).convert("RGB")
    assert image.getpixel((256, 256)) == (0, 0, 0)  # frame 0 is black; later ones are red


def test_logos_at_the_limits_still_render() -> None:
    wide_svg = (
        f'<svg {SVG_XMLNS} viewBox="0 0 100 10"><rect width="100" height="10" fill="#0a7"/></svg>'
    )
    render_with(wide_svg.encode())
    render_with(b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>' + wide_svg.encode())
    render_with(blank_png(4096, 4096))
    progressive = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 90, 200)).save(progressive, "JPEG", progressive=True)
    render_with(progressive.getvalue())
    inline = base64.b64encode(blank_png(200, 200)).decode()
    embedding = (
        f'<svg {SVG_XMLNS} width="100" height="100"><image width="100" height="100" '
        f'xlink:href="data:image/png;base64,{inline}"/></svg>'
    )
    render_with(embedding.encode(), "pdf")
