"""The style gallery script: every image it links exists and decodes, and a wrong image stops it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from scripts import make_gallery
from services.render.render_jobs import QRSpec, RenderedImage, render_qr
from tests.support.decoding import raster_image, rasterize_eps

_LINK = re.compile(r"\]\((gallery/[^)]+)\)")


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
