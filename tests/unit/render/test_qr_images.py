"""render_qr: every image is decoded back from its file and compared with the payload."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from services.render.render_jobs import QRDesign, QRSpec, render_qr
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode, pixels, raster

URL = "https://qrforge.example/p/0042?utm_source=test"
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
DOT_STYLES = ["square", "round", "dots", "classy", "classy-rounded"]
CORNER_STYLES = ["square", "round", "extra-rounded"]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_every_format_and_level_decodes(fmt: str, level: str) -> None:
    image = render_qr(QRSpec(URL, format=fmt, error_correction=level))
    assert image.content_type == CONTENT_TYPES[fmt]
    assert image.error_correction == level
    assert 1 <= image.version <= 40
    assert decode(image.data, image.content_type) == [URL]


@pytest.mark.parametrize("size", [100, 333, 512, 4096])
def test_png_is_exactly_size_by_size(size: int) -> None:
    image = render_qr(QRSpec(URL, size=size))
    assert Image.open(io.BytesIO(image.data)).size == (size, size)
    assert decode(image.data, image.content_type) == [URL]


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_vector_nominal_size(fmt: str) -> None:
    image = render_qr(QRSpec(URL, format=fmt, size=300))
    assert raster(image.data, image.content_type).size == (
        (300, 300) if fmt == "svg" else (600, 600)
    )


def test_png_modules_are_whole_pixels_and_centred() -> None:
    image = render_qr(QRSpec("hello", size=100, quiet_zone=4, error_correction="L"))
    assert image.version == 1  # 21 modules + 8 quiet = 29 -> 3 px, 37 px of margin to share
    dark = pixels(image.data)[:, :, 0] < 128
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark.any(axis=0))
    assert rows[0] == cols[0] == (100 - 21 * 3) // 2
    assert rows[-1] - rows[0] + 1 == 21 * 3
    # Every module is a solid 3x3 block: the top-left finder's outer ring runs 7 modules.
    assert dark[rows[0], cols[0] : cols[0] + 21].tolist() == [True] * 21


@pytest.mark.parametrize("quiet_zone", [0, 20])
def test_quiet_zone_extremes(quiet_zone: int) -> None:
    image = render_qr(QRSpec(URL, size=512, quiet_zone=quiet_zone))
    assert decode(image.data, image.content_type) == [URL]
    dark = pixels(image.data)[:, :, 0] < 128
    first = int(np.flatnonzero(dark.any(axis=1))[0])
    modules = 17 + 4 * image.version
    module_px = 512 // (modules + 2 * quiet_zone)
    assert first >= quiet_zone * module_px
    assert first == (512 - modules * module_px) // 2


def test_size_too_small_for_one_pixel_per_module() -> None:
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec("x" * 1500, size=100, error_correction="L"))
    assert info.value.code == "INVALID_PARAMETER"
    assert info.value.field == "size"


@pytest.mark.parametrize(
    "payload",
    [
        "plain ascii",
        "héllo wörld €",
        "日本語のテキスト",
        "emoji 😀",
        "tabs\tand\r\nnewlines",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane\r\nEND:VCARD",
        "WIFI:T:WPA;S:my\\;net;P:p\\:w;;",
        "0123456789" * 30,
    ],
)
def test_payload_round_trips_exactly(payload: str) -> None:
    image = render_qr(QRSpec(payload))
    assert decode(image.data, image.content_type) == [payload]


def test_data_too_long() -> None:
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec("A" * 4000, error_correction="H"))
    assert info.value.code == "DATA_TOO_LONG"
    assert info.value.status == 422


def test_version_40_fits() -> None:
    image = render_qr(QRSpec("A" * 4296, error_correction="L", size=1000))
    assert image.version == 40
    assert decode(image.data, image.content_type) == ["A" * 4296]


def test_level_is_the_one_asked() -> None:
    versions = [render_qr(QRSpec(URL, error_correction=lv)).version for lv in "LMQH"]
    assert versions == sorted(versions)
    assert versions[0] < versions[-1]


@pytest.mark.parametrize("dot_style", DOT_STYLES)
@pytest.mark.parametrize("corner_style", CORNER_STYLES)
@pytest.mark.parametrize("with_logo", [False, True])
def test_every_style_decodes(
    dot_style: str, corner_style: str, with_logo: bool, png_logo: bytes
) -> None:
    design = QRDesign(
        dot_style=dot_style,
        corner_style=corner_style,
        logo=png_logo if with_logo else None,
        logo_size=0.2,
        fg_color="#1b2a6b",
        bg_color="#fffdf5",
    )
    image = render_qr(QRSpec(URL, error_correction="H", design=design))
    assert image.error_correction == "H"
    assert decode(image.data, image.content_type) == [URL]


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
@pytest.mark.parametrize(
    ("dot_style", "corner_style"),
    [("round", "extra-rounded"), ("dots", "round"), ("classy-rounded", "square")],
)
def test_vector_styles_with_logo_decode(
    fmt: str, dot_style: str, corner_style: str, png_logo: bytes
) -> None:
    design = QRDesign(dot_style=dot_style, corner_style=corner_style, logo=png_logo)
    image = render_qr(QRSpec(URL, format=fmt, error_correction="H", design=design))
    assert decode(image.data, image.content_type) == [URL]


def test_svg_is_vector_with_one_module_path_and_embedded_logo(png_logo: bytes) -> None:
    design = QRDesign(dot_style="round", logo=png_logo)
    image = render_qr(QRSpec(URL, format="svg", size=256, error_correction="H", design=design))
    text = image.data.decode()
    assert 'width="256" height="256"' in text
    modules = 17 + 4 * image.version
    assert f'viewBox="-4 -4 {modules + 8} {modules + 8}"' in text
    assert text.count("<path") == 1
    assert 'href="data:image/png;base64,' in text


def test_pdf_is_vector_and_deterministic() -> None:
    spec = QRSpec(URL, format="pdf", size=200)
    first, second = render_qr(spec).data, render_qr(spec).data
    assert first.startswith(b"%PDF-")
    assert first == second
    assert b"/Subtype /Image" not in first


@pytest.mark.parametrize("logo_name", ["png_logo", "wide_jpeg_logo", "svg_logo"])
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_logo_kinds(logo_name: str, fmt: str, request: pytest.FixtureRequest) -> None:
    logo = request.getfixturevalue(logo_name)
    design = QRDesign(dot_style="round", corner_style="round", logo=logo, logo_size=0.25)
    image = render_qr(QRSpec(URL, format=fmt, error_correction="H", design=design))
    assert decode(image.data, image.content_type) == [URL]


def test_logo_is_drawn_centred_over_a_cleared_area(png_logo: bytes) -> None:
    design = QRDesign(logo=png_logo, logo_size=0.2)
    image = render_qr(QRSpec(URL, size=600, error_correction="H", design=design))
    rgb = pixels(image.data).astype(int)
    centre = rgb[300, 300]
    assert abs(centre[0] - 20) < 40 and abs(centre[2] - 200) < 40  # the logo's blue square
    red = (rgb[:, :, 0] > 150) & (rgb[:, :, 1] < 100)
    ys, xs = np.nonzero(red)
    assert abs(ys.mean() - 300) < 6 and abs(xs.mean() - 300) < 6


@pytest.mark.parametrize(
    ("fg", "bg"),
    [
        ("#000000", "#ffffff"),
        ("#0b3d91", "#fff8e7"),
        ("#2e7d32", "#ffffff"),
        ("#6a1b9a", "#f3e5f5"),
    ],
)
def test_colours(fg: str, bg: str) -> None:
    image = render_qr(QRSpec(URL, design=QRDesign(fg_color=fg, bg_color=bg)))
    rgb = pixels(image.data)
    assert tuple(rgb[0, 0]) == tuple(int(bg[i : i + 2], 16) for i in (1, 3, 5))
    colours = {tuple(c) for c in rgb.reshape(-1, 3)}
    assert tuple(int(fg[i : i + 2], 16) for i in (1, 3, 5)) in colours
    assert decode(image.data, image.content_type) == [URL]


@pytest.mark.parametrize(
    ("fg", "bg"), [("#cccccc", "#ffffff"), ("#777777", "#555555"), ("#ffff00", "#ffffff")]
)
def test_low_contrast_is_unscannable(fg: str, bg: str) -> None:
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec(URL, design=QRDesign(fg_color=fg, bg_color=bg)))
    assert info.value.code == "UNSCANNABLE_DESIGN"
    assert "contrast" in info.value.message


def test_inverted_colours_are_unscannable() -> None:
    with pytest.raises(ApiError) as info:
        render_qr(
            QRSpec(URL, design=QRDesign(fg_color="#ffffff", bg_color="#000000"), fit="strict")
        )
    assert info.value.code == "UNSCANNABLE_DESIGN"
    assert "inverted" in info.value.message


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_big_logo_at_low_level_is_unscannable(fmt: str, png_logo: bytes) -> None:
    design = QRDesign(logo=png_logo, logo_size=0.4)
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec(URL, format=fmt, error_correction="L", design=design, fit="strict"))
    assert info.value.code == "UNSCANNABLE_DESIGN"
    assert "logo" in info.value.message


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (QRSpec(URL, format="gif"), "format"),
        (QRSpec(URL, size=99), "size"),
        (QRSpec(URL, size=4097), "size"),
        (QRSpec(URL, error_correction="X"), "error_correction"),
        (QRSpec(URL, quiet_zone=21), "quiet_zone"),
        (QRSpec(URL, design=QRDesign(dot_style="hearts")), "design.dot_style"),
        (QRSpec(URL, design=QRDesign(corner_style="star")), "design.corner_style"),
    ],
)
def test_out_of_range_fields(spec: QRSpec, field: str) -> None:
    with pytest.raises(ApiError) as info:
        render_qr(spec)
    assert info.value.code == "INVALID_PARAMETER"
    assert info.value.field == field


def test_empty_payload_and_bad_logo() -> None:
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec(""))
    assert info.value.code == "INVALID_CONTENT"
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec(URL, design=QRDesign(logo=b"not an image")))
    assert info.value.code == "INVALID_PARAMETER"


def test_rendering_is_deterministic(png_logo: bytes) -> None:
    for fmt in ("png", "svg"):
        spec = QRSpec(
            URL,
            format=fmt,
            design=QRDesign(dot_style="classy", logo=png_logo),
            error_correction="H",
        )
        assert render_qr(spec).data == render_qr(spec).data


def test_specs_and_results_pickle() -> None:
    spec = QRSpec(URL, design=QRDesign(logo=b"\x89PNG..."))
    assert pickle.loads(pickle.dumps(spec)) == spec
    image = render_qr(QRSpec(URL))
    assert pickle.loads(pickle.dumps(image)) == image
