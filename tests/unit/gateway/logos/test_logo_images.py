"""Logo bytes: sniffing, Pillow header checks, inline base64, and the SVG sanitiser."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from services.gateway.logos.fetch import decode_logo_data, sanitize_svg
from services.gateway.logos.images import JPEG, PNG, SVG, LogoError, check_logo, sniff_logo_type
from services.runtime.errors import ApiError
from tests.support.hostile_logos import (
    BILLION_LAUGHS_SVG,
    DEEPLY_NESTED_SVG,
    SLIVER_SVG,
    SVG_XMLNS,
    TALL_SVG,
    animated_gif,
    blank_png,
    embedded_bomb_svg,
    jpeg_scan_bomb,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
TINY_PNG_URI = (  # a real 1 x 1 PNG: embedded images are checked like logos
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
)


def image_bytes(fmt: str, size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=fmt)
    return buffer.getvalue()


def clean(svg: str) -> ET.Element:
    return ET.fromstring(sanitize_svg(svg.encode()))


def all_attributes(root: ET.Element) -> list[tuple[str, str]]:
    return [(name, value) for element in root.iter() for name, value in element.attrib.items()]


# --- sniffing and checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (image_bytes("PNG"), PNG),
        (image_bytes("JPEG"), JPEG),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', SVG),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', SVG),
        (b'\n  <svg xmlns="http://www.w3.org/2000/svg"/>', SVG),
        (b"<svg/>", SVG),
        (b"<html><body>hi</body></html>", None),
        (b"<svg><unclosed></svg>", None),
        (b"GIF89a....", None),
        (b"hello", None),
        (b"", None),
    ],
)
def test_sniff(data: bytes, expected: str | None) -> None:
    assert sniff_logo_type(data) == expected


def test_check_logo_accepts_png_and_jpeg_unchanged() -> None:
    for fmt, kind in (("PNG", PNG), ("JPEG", JPEG)):
        data = image_bytes(fmt)
        assert check_logo(data) == (data, kind)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,
        b"\xff\xd8\xff" + b"garbage",
        b"plain text",
        b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024),
    ],
)
def test_check_logo_rejects(data: bytes) -> None:
    with pytest.raises(LogoError):
        check_logo(data)


def test_check_logo_rejects_pixel_bombs() -> None:
    # 4097 x 4097 one-bit pixels compress to a few KiB but decode to 16.8 megapixels.
    bomb = image_bytes("PNG", (4097, 4097), mode="1")
    assert len(bomb) < 1024 * 1024
    with pytest.raises(LogoError, match="pixels"):
        check_logo(bomb)


# --- decode_logo_data ---------------------------------------------------------------------


def test_decode_plain_base64_with_line_breaks() -> None:
    png = image_bytes("PNG")
    encoded = base64.encodebytes(png).decode()  # wrapped at 76 characters
    assert decode_logo_data(encoded) == png


def test_decode_without_padding() -> None:
    png = image_bytes("PNG")
    assert decode_logo_data(base64.b64encode(png).decode().rstrip("=")) == png


def test_decode_svg_is_sanitised() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
    decoded = decode_logo_data("data:image/svg+xml;base64," + base64.b64encode(svg).decode())
    assert b"onload" not in decoded
    assert b"rect" in decoded


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("@@@", "INVALID_PARAMETER"),
        ("data:text/html;base64,PGh0bWw+", "INVALID_PARAMETER"),
        (base64.b64encode(b"hello world").decode(), "INVALID_PARAMETER"),
        (base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024)).decode(), "LOGO_TOO_LARGE"),
        ("A" * (3 * 1024 * 1024), "LOGO_TOO_LARGE"),
        ("", "INVALID_PARAMETER"),
    ],
)
def test_decode_rejections(value: str, code: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_logo_data(value)
    assert (info.value.code, info.value.field) == (code, "design.logo_data")


# --- sanitize_svg ---------------------------------------------------------------------------


def test_scripts_and_foreign_objects_are_dropped() -> None:
    root = clean(
        '<svg xmlns="http://www.w3.org/2000/svg">'
        "<script>alert(1)</script>"
        '<g><script type="text/ecmascript"><![CDATA[fetch("x")]]></script><rect/></g>'
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
        '<iframe src="https://evil.example"/>'
        '<set attributeName="href" to="javascript:alert(1)"/>'
        '<animate attributeName="onclick" values="alert(1)"/>'
        "</svg>"
    )
    tags = {element.tag.removeprefix(SVG_NS) for element in root.iter()}
    assert tags == {"svg", "g", "rect"}


def test_event_handlers_are_dropped() -> None:
    root = clean(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="x()" width="10">'
        '<rect onclick="x()" ONMOUSEOVER="x()" fill="red"/></svg>'
    )
    assert sorted(all_attributes(root)) == [("fill", "red"), ("width", "10")]


def test_external_and_script_hrefs_are_dropped() -> None:
    root = clean(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' xml:base="https://evil.example/">'
        '<a xlink:href="javascript:alert(1)"><rect id="r"/></a>'
        '<a href=" JavaScript:alert(1)"><rect/></a>'
        '<image href="https://evil.example/track.png"/>'
        '<image xlink:href="file:///etc/passwd"/>'
        '<image href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="/>'
        '<use href="#r"/>'
        '<use xlink:href="#r"/>'
        f'<image href="{TINY_PNG_URI}"/>'
        "</svg>"
    )
    assert sorted(all_attributes(root)) == [
        ("href", "#r"),
        ("href", TINY_PNG_URI),
        ("id", "r"),
        (XLINK_HREF, "#r"),
    ]


def test_css_urls_are_limited_to_fragments_and_inline_images() -> None:
    root = clean(
        '<svg xmlns="http://www.w3.org/2000/svg">'
        "<style>@import url(https://evil.example/a.css);</style>"
        "<style>.a { fill: url(#grad) }</style>"
        "<style>.b { background: url('https://evil.example/x.png') }</style>"
        "<style>.c { background: u\\72l(https://evil.example/x.png) }</style>"
        '<rect fill="url(#grad)" style="stroke: url(#g2)"/>'
        '<rect fill="url(https://evil.example/x#a)" style="fill: url(//evil.example/x.png)"/>'
        '<rect mask="url( &quot;http://evil.example/m&quot; )"/>'
        "</svg>"
    )
    styles = [element.text for element in root.iter(f"{SVG_NS}style")]
    assert styles == [".a { fill: url(#grad) }"]
    assert sorted(all_attributes(root)) == [("fill", "url(#grad)"), ("style", "stroke: url(#g2)")]


def test_output_is_a_well_formed_svg_with_default_namespace() -> None:
    out = sanitize_svg(b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>')
    assert out.startswith(b"<svg")
    assert b'xmlns="http://www.w3.org/2000/svg"' in out
    assert ET.fromstring(out).find(f"{SVG_NS}circle") is not None


def test_doctype_without_entities_is_accepted() -> None:
    svg = (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'
    )
    assert b"<rect" in sanitize_svg(svg)


@pytest.mark.parametrize(
    "svg",
    [
        b'<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><svg>&b;</svg>',
        b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
        b"<html/>",
        b"not xml",
        b"<svg>" + b"<g>" * 200 + b"</g>" * 200 + b"</svg>",
    ],
)
def test_hostile_or_broken_svg_is_refused(svg: bytes) -> None:
    with pytest.raises(LogoError):
        sanitize_svg(svg)


# --- hostile logos (issue 13, finding 2): refused before a render call -----------------------


@pytest.mark.parametrize(
    ("logo", "reason"),
    [
        (TALL_SVG, "sides may differ"),
        (SLIVER_SVG, "sides may differ"),
        (blank_png(4000, 100), "sides may differ"),
        (blank_png(20_000, 20_000), "too many pixels"),
        (blank_png(100, 100)[:50], "not a valid PNG"),
        (BILLION_LAUGHS_SVG, "not a PNG, JPEG or SVG"),
        (DEEPLY_NESTED_SVG, "nested too deeply"),
        (animated_gif(2000), "not a PNG, JPEG or SVG"),
        (jpeg_scan_bomb(), "JPEG scans"),
    ],
    ids=[
        "tall-svg",
        "sliver-svg",
        "sliver-png",
        "png-bomb",
        "truncated",
        "laughs",
        "deep",
        "gif",
        "jpeg-scan-bomb",
    ],
)
def test_hostile_logo_data_is_refused(logo: bytes, reason: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_logo_data(base64.b64encode(logo).decode())
    assert (info.value.code, info.value.field) == ("INVALID_PARAMETER", "design.logo_data")
    assert reason in info.value.message


def test_svg_embedding_a_huge_png_is_refused() -> None:
    with pytest.raises(LogoError, match="too many pixels"):
        check_logo(embedded_bomb_svg())


def test_svg_embeddings_share_one_pixel_budget() -> None:
    inline = base64.b64encode(blank_png(4096, 2048)).decode()
    image = f'<image width="10" height="10" xlink:href="data:image/png;base64,{inline}"/>'
    one = f'<svg {SVG_XMLNS} width="10" height="10">{image}</svg>'
    assert check_logo(one.encode())[1] == SVG
    three = f'<svg {SVG_XMLNS} width="10" height="10">{image * 3}</svg>'
    with pytest.raises(LogoError, match="in all"):
        check_logo(three.encode())


@pytest.mark.parametrize(
    ("size_attributes", "accepted"),
    [
        ('width="100" height="10"', True),  # exactly at the cap
        ('width="101" height="10"', False),
        ('viewBox="0 0 1 11"', False),  # no width/height: the viewBox's shape
        ('viewBox="0 0 1 11" width="10" height="10"', True),  # declared size wins
        ('width="2in" height="10pt"', False),  # 192 x 13.3 px
        ('viewBox="0 0 30 1" width="100%" height="50%"', False),  # 30 x 0.5
        ('width="1em" height="100"', True),  # font-relative: left to the renderer
        ('width="0" height="10"', False),
    ],
)
def test_declared_svg_shape_is_bounded(size_attributes: str, accepted: bool) -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" {size_attributes}><rect/></svg>'.encode()
    if accepted:
        assert check_logo(svg)[1] == SVG
    else:
        with pytest.raises(LogoError):
            check_logo(svg)
