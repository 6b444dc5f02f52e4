"""gradient (API.md "Designs v1.1"): the modules in 2-3 colours, linear at an angle or radial,
in every format (real SVG/PDF/EPS shadings, the raster the same geometry); every image
decodes, each stop's colour is found where the gradient puts it, and a stop too light for the
background is refused by name."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from services.render.qr_images import render_qr
from services.render.specs import Gradient, QRDesign, QRSpec
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode, raster

FORMATS = ("png", "svg", "pdf", "eps", "jpeg", "webp")
PAYLOAD = "https://example.com/gradient"
RED, BLUE, GREEN = (200, 0, 0), (0, 0, 170), (0, 100, 0)
HEX = {RED: "#c80000", BLUE: "#0000aa", GREEN: "#006400"}


def _spec(fmt: str, gradient: Gradient, **design: object) -> QRSpec:
    return QRSpec(
        payload=PAYLOAD,
        format=fmt,
        size=400,
        design=QRDesign(gradient=gradient, **design),  # type: ignore[arg-type]
    )


def _ink_mean(pixels: npt.NDArray[np.uint8], rows: slice, cols: slice) -> npt.NDArray[np.float64]:
    """Mean colour of the dark (module) pixels in a region."""
    region = pixels[rows, cols].reshape(-1, 3).astype(np.float64)
    dark = region[region.sum(axis=1) < 450]
    assert len(dark) > 50
    mean: npt.NDArray[np.float64] = dark.mean(axis=0)
    return mean


def _closest(color: npt.NDArray[np.float64], *candidates: tuple[int, int, int]) -> tuple[int, ...]:
    return min(candidates, key=lambda c: float(np.abs(color - np.array(c)).sum()))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dot_style", ["square", "round"])
def test_a_linear_gradient_runs_from_its_first_to_its_last_colour(fmt: str, dot_style: str) -> None:
    gradient = Gradient("linear", (HEX[RED], HEX[BLUE]), 0)
    image = render_qr(_spec(fmt, gradient, dot_style=dot_style))
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    side = pixels.shape[0]
    band = slice(side // 8, side * 7 // 8)
    left = _ink_mean(pixels, band, slice(side // 8, side // 4))
    right = _ink_mean(pixels, band, slice(side * 3 // 4, side * 7 // 8))
    assert _closest(left, RED, BLUE) == RED
    assert _closest(right, RED, BLUE) == BLUE


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_vertical_three_colour_gradient(fmt: str) -> None:
    gradient = Gradient("linear", (HEX[RED], HEX[GREEN], HEX[BLUE]), 90)
    image = render_qr(_spec(fmt, gradient))
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    side = pixels.shape[0]
    band = slice(side // 8, side * 7 // 8)
    top = _ink_mean(pixels, slice(side // 8, side // 5), band)
    middle = _ink_mean(pixels, slice(side * 9 // 20, side * 11 // 20), band)
    bottom = _ink_mean(pixels, slice(side * 4 // 5, side * 7 // 8), band)
    assert _closest(top, RED, GREEN, BLUE) == RED
    assert _closest(middle, RED, GREEN, BLUE) == GREEN
    assert _closest(bottom, RED, GREEN, BLUE) == BLUE


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_radial_gradient_with_eye_colours(fmt: str) -> None:
    gradient = Gradient("radial", (HEX[BLUE], HEX[RED]))
    image = render_qr(_spec(fmt, gradient, eye_color="#006400", dot_style="dots"))
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    side = pixels.shape[0]
    centre = _ink_mean(
        pixels, slice(side * 2 // 5, side * 3 // 5), slice(side * 2 // 5, side * 3 // 5)
    )
    assert _closest(centre, RED, BLUE) == BLUE
    # The top-left finder's ring is the eye colour; its eye (no colour of its own) is the
    # gradient near the corner, red.
    n = image.version * 4 + 17
    if fmt in ("png", "jpeg", "webp"):  # whole-pixel modules, the symbol centred
        module = float(side // (n + 8))
        origin = (side - n * module) // 2
    else:
        module = side / (n + 8)
        origin = 4 * module

    def at(position: float) -> int:
        return int(origin + position * module)

    ring = pixels[at(0.5), at(3.5)]
    eye = _ink_mean(pixels, slice(at(2.2), at(4.8)), slice(at(2.2), at(4.8)))
    assert _closest(ring.astype(np.float64), GREEN, RED, BLUE) == GREEN
    assert _closest(eye, RED, BLUE) == RED


def test_vectors_are_real_gradients() -> None:
    linear = Gradient("linear", (HEX[RED], HEX[BLUE]), 45)
    radial = Gradient("radial", (HEX[RED], HEX[GREEN], HEX[BLUE]))
    assert b"<linearGradient" in render_qr(_spec("svg", linear)).data
    assert b"<radialGradient" in render_qr(_spec("svg", radial)).data
    assert b"/ShadingType 2" in render_qr(_spec("pdf", linear)).data
    assert b"/ShadingType 3" in render_qr(_spec("pdf", radial)).data
    eps = render_qr(_spec("eps", radial)).data
    assert b"/ShadingType 3" in eps and b"shfill" in eps and b"%%LanguageLevel: 3" in eps


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_light_gradient_colour_is_refused_by_name(index: int) -> None:
    colors = [HEX[RED], HEX[BLUE], HEX[GREEN]]
    colors[index] = "#eeeeee"
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", Gradient("linear", tuple(colors))))
    error = caught.value
    assert error.code == "UNSCANNABLE_DESIGN"
    assert error.field == f"design.gradient.colors[{index}]"
    assert "#eeeeee" in error.message and "3:1 minimum" in error.message


def test_a_light_gradient_on_a_dark_background_is_inverted_not_refused() -> None:
    image = render_qr(_spec("png", Gradient("linear", ("#ffffff", "#ffee58")), bg_color="#1a237e"))
    assert [warning.code for warning in image.warnings] == ["INVERTED_COLORS"]


def test_mixed_polarity_stops_are_refused() -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", Gradient("linear", ("#000000", "#ffffff")), bg_color="#777777"))
    assert caught.value.field == "design.gradient.colors[1]"


@pytest.mark.parametrize(
    ("gradient", "field"),
    [
        (Gradient("conic", ("#000000", "#111111")), "design.gradient.type"),
        (Gradient("linear", ("#000000",)), "design.gradient.colors"),
        (Gradient("linear", ("#000000",) * 4), "design.gradient.colors"),
        (Gradient("linear", ("#000000", "#111111"), 360), "design.gradient.angle"),
    ],
)
def test_out_of_range_gradients_are_invalid(gradient: Gradient, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", gradient))
    assert (caught.value.code, caught.value.field) == ("INVALID_PARAMETER", field)
