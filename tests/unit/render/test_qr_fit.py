"""design.fit: under "auto" a design that would not scan is fitted (level raised, logo shrunk,
light-on-dark accepted) and says so; under "strict" it is refused as before. Every image is
decoded from its file, at the level the render reports it drew."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageOps

from services.render.render_jobs import QRDesign, QRSpec, render_qr
from services.render.specs import RenderedImage
from services.runtime.errors import ApiError
from tests.unit.render.conftest import raster

URL = "https://qrforge.example/p/0042?utm_source=test"
DOT_STYLES = ["square", "round", "dots", "classy", "classy-rounded"]


def decoded(image: RenderedImage, *, inverted: bool = False) -> list[tuple[str, str]]:
    """(text, level) of every QR code zxing reads in the file; ``inverted`` reads the image
    as a phone app reads a light-on-dark code, by its invert pass."""
    gray = raster(image.data, image.content_type).convert("L")
    results = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode]),
        try_invert=inverted,
        text_mode=zxingcpp.TextMode.Plain,
    )
    return [(result.text, result.ec_level) for result in results]


def codes(image: RenderedImage) -> list[str]:
    return [warning.code for warning in image.warnings]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_level_is_raised_when_the_client_did_not_choose_it(fmt: str, png_logo: bytes) -> None:
    design = QRDesign(logo=png_logo, logo_size=0.3)
    image = render_qr(QRSpec(URL, format=fmt, error_correction="M", design=design))
    assert image.error_correction in ("Q", "H")
    assert image.logo_size == 0.3
    assert codes(image) == ["LEVEL_RAISED"]
    assert "from M to" in image.warnings[0].message
    assert decoded(image) == [(URL, image.error_correction)]


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_chosen_level_is_kept_and_the_logo_shrunk(fmt: str, png_logo: bytes) -> None:
    design = QRDesign(dot_style="round", logo=png_logo, logo_size=0.4)
    image = render_qr(
        QRSpec(
            URL, format=fmt, error_correction="M", error_correction_requested=True, design=design
        )
    )
    assert image.error_correction == "M"
    assert 0.1 <= image.logo_size < 0.4
    assert codes(image) == ["LOGO_REDUCED"]
    assert f"to {image.logo_size:g}" in image.warnings[0].message
    assert decoded(image) == [(URL, "M")]


def test_the_logo_kept_is_the_largest_that_scans(png_logo: bytes) -> None:
    spec = QRSpec(
        URL,
        error_correction="M",
        error_correction_requested=True,
        design=QRDesign(logo=png_logo, logo_size=0.4),
    )
    fitted = render_qr(spec)
    one_step_larger = round(fitted.logo_size + 0.01, 2)
    bigger = QRDesign(logo=png_logo, logo_size=one_step_larger)
    with pytest.raises(ApiError):
        render_qr(QRSpec(URL, error_correction="M", design=bigger, fit="strict"))
    exact = QRDesign(logo=png_logo, logo_size=fitted.logo_size)
    assert render_qr(QRSpec(URL, error_correction="M", design=exact, fit="strict")).data == (
        fitted.data
    )


def test_level_raised_then_logo_reduced(png_logo: bytes) -> None:
    image = render_qr(QRSpec(URL, design=QRDesign(logo=png_logo, logo_size=0.4)))
    assert image.error_correction == "H"
    assert image.logo_size < 0.4
    assert codes(image) == ["LEVEL_RAISED", "LOGO_REDUCED"]
    assert decoded(image) == [(URL, "H")]


def test_a_design_that_scans_is_drawn_as_asked(png_logo: bytes) -> None:
    design = QRDesign(logo=png_logo, logo_size=0.2)
    image = render_qr(QRSpec(URL, error_correction="H", design=design))
    assert (image.error_correction, image.logo_size, image.warnings) == ("H", 0.2, ())
    strict = render_qr(QRSpec(URL, error_correction="H", design=design, fit="strict"))
    assert strict.data == image.data
    plain = render_qr(QRSpec(URL))
    assert (plain.error_correction, plain.logo_size, plain.warnings) == ("M", 0.0, ())


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize("dot_style", ["square", "round"])
def test_light_on_dark_is_accepted_with_a_warning(fmt: str, dot_style: str) -> None:
    design = QRDesign(fg_color="#ffffff", bg_color="#1a237e", dot_style=dot_style)
    image = render_qr(QRSpec(URL, format=fmt, design=design))
    assert codes(image) == ["INVERTED_COLORS"]
    assert decoded(image, inverted=True) == [(URL, "M")]
    # What a reader without an invert pass sees, once the picture is inverted for it.
    flipped = ImageOps.invert(raster(image.data, image.content_type).convert("L"))
    assert [r.text for r in zxingcpp.read_barcodes(flipped, try_invert=False)] == [URL]


def test_strict_keeps_every_refusal(png_logo: bytes) -> None:
    inverted = QRDesign(fg_color="#ffffff", bg_color="#000000")
    with pytest.raises(ApiError) as refused:
        render_qr(QRSpec(URL, design=inverted, fit="strict"))
    assert refused.value.code == "UNSCANNABLE_DESIGN"
    assert (refused.value.details or {}).get("reason") == "inverted_colors"
    big_logo = QRDesign(logo=png_logo, logo_size=0.4)
    with pytest.raises(ApiError) as refused:
        render_qr(QRSpec(URL, error_correction="M", design=big_logo, fit="strict"))
    assert refused.value.code == "UNSCANNABLE_DESIGN"
    assert "logo" in refused.value.message


@pytest.mark.parametrize("fit", ["auto", "strict"])
def test_low_contrast_is_refused_in_both_modes_with_the_ratio(fit: str) -> None:
    with pytest.raises(ApiError) as refused:
        render_qr(QRSpec(URL, design=QRDesign(fg_color="#cccccc"), fit=fit))
    assert refused.value.code == "UNSCANNABLE_DESIGN"
    assert "1.61:1" in refused.value.message
    assert "3:1 minimum" in refused.value.message
    assert refused.value.details is not None
    assert refused.value.details["contrast_ratio"] == 1.61


def test_an_unknown_fit_is_invalid() -> None:
    with pytest.raises(ApiError) as refused:
        render_qr(QRSpec(URL, fit="maybe"))
    assert refused.value.code == "INVALID_PARAMETER"
    assert refused.value.field == "design.fit"


@pytest.mark.parametrize("dot_style", DOT_STYLES)
@pytest.mark.parametrize("logo_size", [0.2, 0.3, 0.4])
@pytest.mark.parametrize("level", ["M", "H"])
def test_no_logo_design_is_refused_under_auto(
    dot_style: str, logo_size: float, level: str, png_logo: bytes
) -> None:
    design = QRDesign(dot_style=dot_style, corner_style="round", logo=png_logo, logo_size=logo_size)
    image = render_qr(
        QRSpec(URL, error_correction=level, error_correction_requested=True, design=design)
    )
    assert image.error_correction == level
    assert decoded(image) == [(URL, level)]
    assert image.logo_size <= logo_size
    assert ("LOGO_REDUCED" in codes(image)) == (image.logo_size < logo_size)


def _speck_logo() -> bytes:
    """A logo that is transparent but for a small blue square in its middle."""
    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((70, 70, 89, 89), fill=(20, 90, 200, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "svg", "pdf", "eps"])
@pytest.mark.parametrize(
    ("fg", "bg", "behind_logo"),
    [
        # Light on dark: the logo sits on a plate of the modules' light colour.
        ("#ffffff", "#111111", (255, 255, 255)),
        # Dark on light: on the background, as before.
        ("#111111", "#ffffff", (255, 255, 255)),
        ("#ffd54f", "#1a237e", (255, 213, 79)),
        ("#1a237e", "#ffd54f", (255, 213, 79)),
    ],
)
def test_a_logo_sits_on_the_light_colour_of_its_code(
    fmt: str, fg: str, bg: str, behind_logo: tuple[int, int, int]
) -> None:
    design = QRDesign(fg_color=fg, bg_color=bg, logo=_speck_logo(), logo_size=0.3)
    image = render_qr(QRSpec(URL, format=fmt, size=400, error_correction="H", design=design))
    assert image.logo_size == 0.3
    picture = raster(image.data, image.content_type).convert("RGB")
    centre = picture.width // 2
    # Inside the logo's box (about 0.3 of the symbol wide), off its blue square.
    for dx, dy in ((-36, -36), (36, -36), (-36, 36), (36, 36), (0, 36)):
        pixel = picture.getpixel((centre + dx, centre + dy))
        assert isinstance(pixel, tuple)
        assert all(abs(a - b) <= 12 for a, b in zip(pixel, behind_logo, strict=True)), pixel
    inverted = fg in ("#ffffff", "#ffd54f")
    assert decoded(image, inverted=inverted) == [(URL, "H")]
