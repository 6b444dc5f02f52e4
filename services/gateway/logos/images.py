"""Logo bytes: type sniffing, validation, SVG sanitising and ``logo_data`` decoding.

No I/O: both ways a logo arrives (inline ``design.logo_data`` and fetched ``design.logo_url``)
funnel through :func:`check_logo`, so a logo that reaches the renderer is always a PNG or
JPEG whose header Pillow accepts, or an SVG that went through :func:`sanitize_svg`.

The type comes from the bytes, never from a file name or a ``Content-Type`` header, which
are both whatever the sender says.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import xml.etree.ElementTree as ET
from typing import Final

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from PIL import Image

from services.runtime.errors import ApiError

MAX_LOGO_BYTES: Final = 1024 * 1024
"""Largest logo accepted, inline (decoded) or fetched: 1 MiB (API.md)."""

MAX_LOGO_PIXELS: Final = 4096 * 4096
"""A 1 MiB PNG can declare gigapixels; this caps what the renderer may be asked to decode.
Images embedded in an SVG share the same budget."""

MAX_LOGO_ASPECT: Final = 10.0
"""Longest side over shortest: beyond it a logo is a sliver in its square box, and only a way
to make the rasterizer allocate one huge dimension."""

MAX_JPEG_SCANS: Final = 64
"""A progressive JPEG is decoded in one pass per scan; encoders write about 10, and a 1 MiB
file can hold 24,000 (minutes of CPU for the renderer)."""

PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
SVG: Final = "image/svg+xml"

_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_SVG_NS: Final = "http://www.w3.org/2000/svg"
_XLINK_NS: Final = "http://www.w3.org/1999/xlink"
_XML_BASE: Final = "{http://www.w3.org/XML/1998/namespace}base"
_MAX_SVG_DEPTH: Final = 128
_MAX_SVG_ELEMENTS: Final = 50_000

# Serialise sanitised SVG with its usual prefixes instead of ElementTree's ns0/ns1.
ET.register_namespace("", _SVG_NS)
ET.register_namespace("xlink", _XLINK_NS)

# Elements that run code, embed other documents or (animations) can rewrite attributes such
# as href after sanitising. Compared lowercased: harmless for SVG, safer for lax renderers.
_DROPPED_ELEMENTS: Final = frozenset(
    name.lower()
    for name in (
        "script",
        "foreignObject",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "animate",
        "animateMotion",
        "animateTransform",
        "animateColor",
        "set",
        "discard",
        "handler",
        "listener",
    )
)
_SAFE_DATA_URI: Final = re.compile(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]*)", re.I)
_CSS_URL: Final = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
_DATA_URI_HEADER: Final = re.compile(r"data:image/(?:png|jpeg|svg\+xml);base64", re.I)
_PILLOW_FORMATS: Final = {PNG: "PNG", JPEG: "JPEG"}
_LENGTH: Final = re.compile(
    r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in|%)?\s*"
)
# CSS absolute units in px, as resvg converts them.
_PX_PER_UNIT: Final = {
    "": 1.0,
    "px": 1.0,
    "pt": 4 / 3,
    "pc": 16.0,
    "mm": 96 / 25.4,
    "cm": 96 / 2.54,
    "in": 96.0,
}
# resvg's size for a percentage width or height when there is no viewBox to take it from.
_SVG_FALLBACK_SIDE: Final = 100.0


class LogoError(ValueError):
    """The bytes are not an acceptable logo; the message is safe to show to a client."""


def sniff_logo_type(data: bytes) -> str | None:
    """Return ``image/png``, ``image/jpeg`` or ``image/svg+xml`` from the bytes, else ``None``.

    PNG and JPEG by magic bytes; SVG by parsing the XML (hardened) and finding an ``svg`` root.
    """
    if data.startswith(_PNG_MAGIC):
        return PNG
    if data.startswith(_JPEG_MAGIC):
        return JPEG
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        try:
            _parse_svg(data)
        except LogoError:
            return None
        return SVG
    return None


def check_logo(data: bytes) -> tuple[bytes, str]:
    """Validate logo bytes and return ``(bytes to render, media type)``.

    Raises :class:`LogoError` if the bytes are empty, over :data:`MAX_LOGO_BYTES`, not a
    PNG/JPEG/SVG, a PNG/JPEG whose header Pillow rejects or that declares more than
    :data:`MAX_LOGO_PIXELS` or sides further apart than :data:`MAX_LOGO_ASPECT`, or an SVG
    that :func:`sanitize_svg` refuses. SVGs come back sanitised.
    """
    if not data:
        raise LogoError("logo is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError("logo is larger than 1 MiB")
    kind = sniff_logo_type(data)
    if kind is None:
        raise LogoError("logo is not a PNG, JPEG or SVG image")
    if kind == SVG:
        return sanitize_svg(data), SVG
    width, height = _raster_size(data, kind, "logo")
    _check_aspect(width, height)
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
            image.verify()
    except Exception:  # Pillow raises many types for bad files; all mean the same here.
        raise LogoError("logo is not a valid PNG or JPEG image") from None
    return data, kind


def _raster_size(data: bytes, kind: str, what: str) -> tuple[int, int]:
    """Width and height from the header of a PNG or JPEG (no pixel decoded), within budget."""
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        width = height = MAX_LOGO_PIXELS  # Pillow refused the header's size: far over budget
    except Exception:  # Pillow raises many types for bad files; all mean the same here.
        raise LogoError(f"{what} is not a valid PNG or JPEG image") from None
    if width < 1 or height < 1:
        raise LogoError(f"{what} has no pixels")
    if width * height > MAX_LOGO_PIXELS:
        raise LogoError(f"{what} has too many pixels (at most 4096 x 4096)")
    # The start-of-scan marker never occurs inside entropy-coded data (0xFF is stuffed there).
    if kind == JPEG and data.count(b"\xff\xda") > MAX_JPEG_SCANS:
        raise LogoError(f"{what} has more than {MAX_JPEG_SCANS} JPEG scans")
    return width, height


def _check_aspect(width: float, height: float) -> None:
    if max(width / height, height / width) > MAX_LOGO_ASPECT:
        raise LogoError(
            f"logo is {width:g} x {height:g}; its sides may differ by at most "
            f"{MAX_LOGO_ASPECT:g} times"
        )


def decode_logo_data(b64: str, field: str = "design.logo_data") -> bytes:
    """Decode inline ``logo_data`` (base64, optionally a ``data:image/...;base64,`` URI).

    Returns the checked logo bytes (SVG sanitised). Over 1 MiB decoded → ``LOGO_TOO_LARGE``;
    not base64, or not a PNG/JPEG/SVG → ``INVALID_PARAMETER``; both name ``field``.
    """
    if not isinstance(b64, str):
        raise ApiError("INVALID_PARAMETER", "logo_data must be a base64 string", field=field)
    text = b64.strip()
    if text[:5].lower() == "data:":
        header, _, text = text.partition(",")
        if not _DATA_URI_HEADER.fullmatch(header):
            raise ApiError(
                "INVALID_PARAMETER",
                "logo_data data URI must be image/png, image/jpeg or image/svg+xml, base64",
                field=field,
            )
    text = "".join(text.split())
    # Refuse before decoding anything that cannot fit (4 base64 characters per 3 bytes).
    if len(text) > (MAX_LOGO_BYTES + 2) // 3 * 4:
        raise ApiError("LOGO_TOO_LARGE", "logo is larger than 1 MiB", field=field)
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("INVALID_PARAMETER", "logo_data is not valid base64", field=field) from None
    if len(data) > MAX_LOGO_BYTES:
        raise ApiError("LOGO_TOO_LARGE", "logo is larger than 1 MiB", field=field)
    try:
        checked, _ = check_logo(data)
    except LogoError as exc:
        raise ApiError("INVALID_PARAMETER", str(exc), field=field) from None
    return checked


def _parse_svg(data: bytes) -> ET.Element:
    """Parse with entity declarations and external references refused (billion laughs, XXE).

    A DOCTYPE alone is allowed: design tools write one, and it is never fetched.
    """
    try:
        root = defused_fromstring(data, forbid_dtd=False, forbid_entities=True)
    except DefusedXmlException:
        raise LogoError("SVG declares entities or external references") from None
    except (ET.ParseError, ValueError):
        raise LogoError("SVG is not well-formed XML") from None
    if _local(root.tag) != "svg":
        raise LogoError("logo is not a PNG, JPEG or SVG image")
    return root


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _is_safe_reference(value: str) -> bool:
    """Same-document fragments and inline PNG/JPEG only: nothing that loads or runs."""
    value = value.strip()
    return value.startswith("#") or _SAFE_DATA_URI.fullmatch(value) is not None


def _css_is_safe(text: str) -> bool:
    lowered = text.lower()
    # Backslash escapes can spell "url(" or "@import" past any pattern; logos do not need them.
    if "\\" in text or "@import" in lowered or "expression(" in lowered:
        return False
    if "javascript:" in lowered:
        return False
    references = _CSS_URL.findall(text)
    if len(references) != lowered.count("url("):
        return False
    return all(_is_safe_reference(target) for _, target in references)


def _sanitize_attributes(element: ET.Element) -> None:
    for name, value in list(element.attrib.items()):
        local = _local(name).lower()
        keep = True
        if local.startswith("on") or name == _XML_BASE:
            keep = False
        elif local in ("href", "src"):
            keep = _is_safe_reference(value)
        elif local == "style" or "url(" in value.lower() or "javascript:" in value.lower():
            keep = _css_is_safe(value)
        if not keep:
            del element.attrib[name]


def sanitize_svg(data: bytes) -> bytes:
    """Return the SVG with everything that can run code or load a resource removed.

    Drops ``<script>``, ``<foreignObject>``, embedding and animation elements, ``on*``
    handlers, ``xml:base``, any ``href``/``xlink:href``/``src`` that is not a ``#fragment`` or
    a ``data:image/(png|jpeg)`` URI, and any style (attribute or ``<style>`` element) with an
    ``url(...)`` outside those, ``@import`` or CSS escapes. Comments and processing
    instructions are not kept. Raises :class:`LogoError` for input that is not a
    well-formed SVG, declares entities, nests deeper than 128 levels, declares a size with
    sides further apart than :data:`MAX_LOGO_ASPECT`, or embeds PNG/JPEG images that are not
    valid or together declare more than :data:`MAX_LOGO_PIXELS`.
    """
    root = _parse_svg(data)
    _sanitize_attributes(root)
    stack: list[tuple[ET.Element, int]] = [(root, 0)]
    seen = 0
    while stack:
        parent, depth = stack.pop()
        if depth > _MAX_SVG_DEPTH:
            raise LogoError("SVG is nested too deeply")
        for child in list(parent):
            seen += 1
            if seen > _MAX_SVG_ELEMENTS:
                raise LogoError("SVG has too many elements")
            # ElementTree types tag as str, but a comment or PI node has a function there.
            if not isinstance(getattr(child, "tag", None), str):
                parent.remove(child)
                continue
            local = _local(child.tag).lower()
            if local in _DROPPED_ELEMENTS or (
                local == "style" and not _css_is_safe(child.text or "")
            ):
                parent.remove(child)
                continue
            _sanitize_attributes(child)
            stack.append((child, depth + 1))
    declared = _declared_size(root)
    if declared is not None:
        if min(declared) <= 0:
            raise LogoError("SVG declares no area (width, height or viewBox of 0)")
        _check_aspect(*declared)
    _check_inline_rasters(root)
    return ET.tostring(root, encoding="unicode").encode("utf-8")


def _declared_size(root: ET.Element) -> tuple[float, float] | None:
    """The canvas size resvg gives the SVG, or None where it depends on more than absolute
    lengths and the viewBox (font-relative units); the renderer still bounds those."""
    view_box: list[float] | None = None
    try:
        numbers = [float(part) for part in re.split(r"[\s,]+", root.get("viewBox", "").strip())]
    except ValueError:
        numbers = []
    if len(numbers) == 4 and numbers[2] > 0 and numbers[3] > 0:
        view_box = numbers
    sides: list[float] = []
    for name, view_box_side in (("width", 2), ("height", 3)):
        length = _LENGTH.fullmatch(root.get(name, "100%"))
        if length is None:
            return None
        number, unit = float(length[1]), length[2] or ""
        if unit == "%":
            base = view_box[view_box_side] if view_box else _SVG_FALLBACK_SIDE
            sides.append(base * number / 100)
        else:
            sides.append(number * _PX_PER_UNIT[unit])
    return sides[0], sides[1]


def _check_inline_rasters(root: ET.Element) -> None:
    """The renderer decodes each embedded image at its full size: bound them all together."""
    pixels = 0
    for element in root.iter():
        for name, value in element.attrib.items():
            inline = _SAFE_DATA_URI.fullmatch(value.strip())
            if inline is None or _local(name).lower() not in ("href", "src"):
                continue
            kind = PNG if inline[1].lower() == "png" else JPEG
            try:
                data = base64.b64decode("".join(inline[2].split()), validate=True)
            except (binascii.Error, ValueError):
                raise LogoError("SVG embeds an image that is not valid base64") from None
            width, height = _raster_size(data, kind, "an image embedded in the SVG")
            pixels += width * height
            if pixels > MAX_LOGO_PIXELS:
                raise LogoError("SVG embeds images of more than 4096 x 4096 pixels in all")
