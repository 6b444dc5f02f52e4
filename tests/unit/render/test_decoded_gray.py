"""decoded_gray / pixels_gray: the grey a reader gets from a file, reduced to a few pixels per
module, whatever the file's mode."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from services.render.raster_encoding import decoded_gray, pixels_gray

MODULE_PX = 12


def _checker(mode: str) -> Image.Image:
    """12 px modules in two colours (dark teal on light yellow) as an image of ``mode``."""
    modules = (np.indices((16, 16)).sum(axis=0) % 2).astype(bool)
    pixels = np.where(modules.repeat(MODULE_PX, 0).repeat(MODULE_PX, 1)[..., None],
                      np.array([0, 77, 64], np.uint8), np.array([255, 248, 225], np.uint8))  # fmt: skip
    rgb = Image.fromarray(pixels.astype(np.uint8), "RGB")
    return rgb.quantize(2) if mode == "P" else rgb.convert(mode)


def _expected(image: Image.Image, factor: int) -> npt.NDArray[np.int16]:
    """Grey of every pixel first, then box averages: the slow order."""
    return np.asarray(image.convert("L").reduce(factor), dtype=np.int16)


@pytest.mark.parametrize("mode", ["RGB", "L", "P"])
def test_a_file_of_any_mode_reduces_to_its_grey_at_three_pixels_a_module(mode: str) -> None:
    image = _checker(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    gray = decoded_gray(buffer.getvalue(), MODULE_PX, 3)
    assert gray.shape == (image.height // 4, image.width // 4)
    # Averaging before the grey conversion rounds differently by at most one level; a
    # palette's indices averaged as if they were colours would be far off.
    assert np.abs(gray.astype(np.int16) - _expected(image, 4)).max() <= 1
    assert {int(gray.min()), int(gray.max())} == {
        int(_expected(image, 4).min()),
        int(_expected(image, 4).max()),
    }


def test_pixels_gray_of_an_image_is_the_gray_of_its_lossless_file() -> None:
    image = _checker("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert np.array_equal(
        pixels_gray(image, MODULE_PX, 3), decoded_gray(buffer.getvalue(), MODULE_PX, 3)
    )
