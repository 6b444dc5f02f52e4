"""Eye colours and eye_inner_style (API.md "Designs v1.1"): every format decodes, the finder
colours really appear where the finders are, and an eye colour too close to the background is
refused by name."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from services.render.qr_images import render_qr
from services.render.specs import QRDesign, QRSpec
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode, raster

FORMATS = ("png", "svg", "pdf", "eps", "jpeg", "webp")
PAYLOAD = "https://example.com/eyes"
RING = (200, 0, 0)
EYE = (0, 0, 170)


def _spec(fmt: str, **design: object) -> QRSpec:
    return QRSpec(
        payload=PAYLOAD,
        format=fmt,
        size=400,
        quiet_zone=4,
        design=QRDesign(**design),  # type: ignore[arg-type]
    )


def _near(pixel: npt.NDArray[np.uint8], color: tuple[int, int, int], tolerance: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(color)) <= tolerance))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dot_style", ["square", "round"])
def test_eye_colours_decode_and_appear_on_the_finders(fmt: str, dot_style: str) -> None:
    image = render_qr(
        _spec(fmt, eye_color="#c80000", eye_inner_color="#0000aa", dot_style=dot_style)
    )
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    side = pixels.shape[0]
    n = image.version * 4 + 17
    module = side / (n + 8)

    def at(row: float, col: float) -> npt.NDArray[np.uint8]:
        pixel: npt.NDArray[np.uint8] = pixels[int((4 + row) * module), int((4 + col) * module)]
        return pixel

    for row, col in ((0, 0), (0, n - 7), (n - 7, 0)):
        assert _near(at(row + 0.5, col + 3.5), RING), (row, col)  # the ring's top side
        assert _near(at(row + 3.5, col + 3.5), EYE), (row, col)  # the eye's centre
        assert _near(at(row + 1.5, col + 3.5), (255, 255, 255))  # the gap stays background


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("corner_style", ["square", "round", "extra-rounded"])
@pytest.mark.parametrize("eye_inner_style", ["square", "round"])
def test_eye_inner_styles_decode(fmt: str, corner_style: str, eye_inner_style: str) -> None:
    image = render_qr(_spec(fmt, corner_style=corner_style, eye_inner_style=eye_inner_style))
    assert decode(image.data, image.content_type) == [PAYLOAD]


def test_a_round_eye_is_round_and_a_square_eye_square() -> None:
    round_eye = render_qr(_spec("png", eye_inner_style="round"))
    square_eye = render_qr(_spec("png", corner_style="round", eye_inner_style="square"))
    n = round_eye.version * 4 + 17
    module = 400 // (n + 8)
    origin = (400 - n * module) // 2
    corner = origin + 2 * module + 1  # just inside the eye's top-left corner
    round_pixels = np.asarray(raster(round_eye.data, round_eye.content_type).convert("L"))
    square_pixels = np.asarray(raster(square_eye.data, square_eye.content_type).convert("L"))
    assert round_pixels[corner, corner] > 200  # a circle leaves the corner background
    assert square_pixels[corner, corner] < 60


def test_default_eyes_leave_the_image_unchanged() -> None:
    for fmt in FORMATS:
        plain = render_qr(_spec(fmt, dot_style="round"))
        named = render_qr(
            _spec(fmt, dot_style="round", eye_color="#000000", eye_inner_color="#000000")
        )
        assert plain.data == named.data, fmt


@pytest.mark.parametrize(
    ("field", "color"), [("eye_color", "#dddddd"), ("eye_inner_color", "#eeeeee")]
)
def test_a_light_eye_colour_is_refused_by_name(field: str, color: str) -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", **{field: color}))
    error = caught.value
    assert error.code == "UNSCANNABLE_DESIGN"
    assert error.field == f"design.{field}"
    assert color in error.message and field in error.message
    assert error.details is not None and error.details["reason"] == "low_contrast"


def test_an_eye_lighter_than_the_background_while_modules_are_darker_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", bg_color="#808080", fg_color="#000000", eye_color="#ffffff"))
    assert caught.value.details is not None
    assert caught.value.details["reason"] == "mixed_polarity"


def test_an_unknown_eye_inner_style_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", eye_inner_style="star"))
    assert (caught.value.code, caught.value.field) == (
        "INVALID_PARAMETER",
        "design.eye_inner_style",
    )
