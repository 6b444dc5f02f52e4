"""The style gallery script: every image it links exists and decodes, and a wrong image stops it."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from scripts import make_gallery
from services.render.render_jobs import QRSpec, RenderedImage, render_qr
from tests.support.decoding import raster_image, rasterize_eps

_LINK = re.compile(r"\]\((gallery/[^)]+)\)")
# Rasters are compared by their pixels (levels per channel); the page and the EPS, which this
# code writes itself, byte for byte.
_PIXEL_TOLERANCE = {".png": 2, ".webp": 2, ".jpeg": 8}


def decoded_on_white(data: bytes, content_type: str) -> list[str]:
    """The QR codes in an image as shown on a white page (a transparent background is white)."""
    image = raster_image(data, content_type).convert("RGBA")
    on_white = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    qr_only = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])
    return [result.text for result in zxingcpp.read_barcodes(on_white.convert("L"), qr_only)]


@pytest.fixture
def gallery_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(make_gallery, "DOCS", tmp_path)
    monkeypatch.setattr(make_gallery, "OUT", tmp_path / "gallery")
    return tmp_path


def test_every_linked_image_decodes_to_the_payload(gallery_dir: Path) -> None:
    make_gallery.main()

    links = _LINK.findall((gallery_dir / "gallery.md").read_text(encoding="utf-8"))
    suffixes = {Path(link).suffix for link in links}
    assert {".png", ".jpeg", ".webp", ".eps"} <= suffixes
    for link in links:
        data = (gallery_dir / link).read_bytes()
        if link.endswith(".eps"):
            preview = rasterize_eps(data, dpi=make_gallery.EPS_PREVIEW_DPI)
            assert preview.size == (make_gallery.EXAMPLE_SIZE, make_gallery.EXAMPLE_SIZE)
            content_type = "application/postscript"
        else:
            content_type = {".png": "image/png", ".jpeg": "image/jpeg", ".webp": "image/webp"}[
                Path(link).suffix
            ]
        assert decoded_on_white(data, content_type) == [make_gallery.PAYLOAD], link


def test_the_frames_are_shown_with_their_band(gallery_dir: Path) -> None:
    make_gallery.main()

    links = _LINK.findall((gallery_dir / "gallery.md").read_text(encoding="utf-8"))
    framed = [link for link in links if Path(link).name.startswith("frame-")]
    assert len(framed) >= 3  # banner-bottom, banner-top, box
    for link in framed:
        with Image.open(gallery_dir / link) as image:
            # size stays the width; the band adds height
            assert image.width == make_gallery.EXAMPLE_SIZE, link
            assert image.height > image.width, link


@pytest.mark.parametrize("wrong_format", ["png", "webp", "eps"])
def test_an_image_of_another_payload_fails_the_gallery(
    gallery_dir: Path, monkeypatch: pytest.MonkeyPatch, wrong_format: str
) -> None:
    def render_another_payload(spec: QRSpec) -> RenderedImage:
        if spec.format == wrong_format:
            spec = dataclasses.replace(spec, payload=spec.payload + "/other")
        return render_qr(spec)

    monkeypatch.setattr(make_gallery, "render_qr", render_another_payload)
    with pytest.raises(make_gallery.GalleryImageError, match="/other"):
        make_gallery.main()
    assert not (gallery_dir / "gallery.md").exists()


def _drawn_alike(fresh: bytes, committed: bytes, tolerance: int) -> bool:
    """Same size and every channel within ``tolerance`` levels: a newer Pillow or libjpeg may
    round a blend differently, which does not make the gallery show something else."""
    with Image.open(io.BytesIO(fresh)) as new, Image.open(io.BytesIO(committed)) as old:
        if new.size != old.size:
            return False
        difference = np.abs(
            np.asarray(new.convert("RGBA"), dtype=np.int16)
            - np.asarray(old.convert("RGBA"), dtype=np.int16)
        )
        return int(difference.max()) <= tolerance


def test_the_committed_gallery_is_what_the_renderer_draws_today(gallery_dir: Path) -> None:
    """A rendering change regenerates the gallery (make gallery) in the same commit."""
    make_gallery.main()

    committed = Path(make_gallery.__file__).resolve().parent.parent / "docs"
    fresh = sorted(path.relative_to(gallery_dir) for path in gallery_dir.rglob("*.*"))
    assert fresh == sorted(
        path.relative_to(committed)
        for path in [committed / "gallery.md", *(committed / "gallery").glob("*.*")]
    )
    stale = []
    for path in fresh:
        new, old = (gallery_dir / path).read_bytes(), (committed / path).read_bytes()
        tolerance = _PIXEL_TOLERANCE.get(path.suffix)
        alike = new == old if tolerance is None else _drawn_alike(new, old, tolerance)
        if not alike:
            stale.append(str(path))
    assert stale == [], "run make gallery"
