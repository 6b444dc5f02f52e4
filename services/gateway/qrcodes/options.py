"""Rendering options of a QR request: everything in the generate body except type and content.

Two entry points share one set of validators: :func:`parse_qr_options` for JSON bodies (static
generate, dynamic create, batch items) and :func:`parse_qr_query` for the embed path
``GET /v1/qrcodes/generate``. Both return a frozen :class:`QROptions` with every default
filled in and every alias resolved, so nothing downstream re-checks or re-defaults.

Errors follow API.md: wrong JSON type, missing or out-of-range value → ``INVALID_PARAMETER``;
bad colour → ``INVALID_COLOR``; ``logo_size`` outside 0.1-0.4 or logo over 1 MiB →
``LOGO_TOO_LARGE``; ``logo_url`` not https → ``LOGO_FETCH_FAILED``. ``details.field`` is the
dotted path (``design.fg_color``). ``null`` counts as "not given" everywhere, and unknown
top-level keys are ignored (the same body also carries type, content, kind, protection, ...),
but unknown keys inside ``design`` are refused, since a misspelt design key would otherwise
silently print a different code.

Nothing here does I/O: a ``logo_url`` is only checked for shape; fetching it is
:func:`services.gateway.logos.fetch.fetch_logo`'s job, after which the caller stores the bytes
with :func:`with_logo_bytes`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from services.gateway.http.client_json import loads_client_json
from services.gateway.logos.images import decode_logo_data
from services.gateway.qrcodes.payloads import OBJECT_CONTENT_TYPES, QR_TYPES
from services.runtime.errors import ApiError

FORMATS: Final = ("png", "svg", "pdf", "jpeg", "webp", "eps")
ERROR_CORRECTION_LEVELS: Final = ("L", "M", "Q", "H")
DOT_STYLES: Final = ("square", "round", "dots", "classy", "classy-rounded")
CORNER_STYLES: Final = ("square", "round", "extra-rounded")
EYE_INNER_STYLES: Final = ("square", "round")
GRADIENT_TYPES: Final = ("linear", "radial")
GRADIENT_STOPS: Final = (2, 3)  # fewest, most colours
GRADIENT_ANGLE_RANGE: Final = (0, 359)
_GRADIENT_KEYS: Final = frozenset({"type", "colors", "angle"})
# bg_color's one value that is not a colour: no background (JPEG, which has no alpha: white).
TRANSPARENT: Final = "transparent"
FIT_MODES: Final = ("auto", "strict")
FRAME_STYLES: Final = ("none", "banner-bottom", "banner-top", "box")
MAX_FRAME_TEXT: Final = 30
_FRAME_KEYS: Final = frozenset({"style", "text", "color", "text_color"})
# What render's built-in font draws (services/render/qr_frame.py): printable ASCII.
_FRAME_TEXT: Final = re.compile(r"[\x20-\x7e]*")
_DOT_ALIASES: Final = {"rounded": "round"}
_CORNER_ALIASES: Final = {"dot": "round"}
_DESIGN_KEYS: Final = frozenset(
    {
        "fg_color",
        "bg_color",
        "logo_url",
        "logo_data",
        "logo_size",
        "dot_style",
        "corner_style",
        "fit",
        "eye_color",
        "eye_inner_color",
        "eye_inner_style",
        "gradient",
        "frame",
    }
)
SIZE_RANGE: Final = (100, 4096)
QUIET_ZONE_RANGE: Final = (0, 20)
LOGO_SIZE_RANGE: Final = (0.1, 0.4)
MAX_NAME_LENGTH: Final = 200
_HEX_COLOR: Final = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_QUERY_INT: Final = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Gradient:
    """Colours of the modules instead of fg_color: ``colors`` (normalised ``#rrggbb``) evenly
    spaced along a line at ``angle`` degrees through the centre (linear), or outwards from
    the centre (radial)."""

    type: str
    colors: tuple[str, ...]
    angle: int = 0


@dataclass(frozen=True, slots=True)
class Frame:
    """A call-to-action around the code: ``style`` one of FRAME_STYLES, ``text`` (printable
    ASCII, at most MAX_FRAME_TEXT characters), colours ``#rrggbb`` or None for render's
    defaults (the code's ink; black or white text, whichever reads on it)."""

    style: str
    text: str = ""
    color: str | None = None
    text_color: str | None = None


@dataclass(frozen=True, slots=True)
class Design:
    """Visual options, normalised: colours are lowercase ``#rrggbb``, styles canonical names.

    At most one of ``logo_url`` / ``logo_data`` comes from the client. ``logo_data`` holds
    checked bytes (PNG/JPEG, or sanitised SVG); with a ``logo_url`` it stays ``None`` until
    the caller has fetched the logo (see :func:`with_logo_bytes`).
    """

    fg_color: str = "#000000"
    bg_color: str = "#ffffff"
    dot_style: str = "square"
    corner_style: str = "square"
    logo_url: str | None = None
    logo_data: bytes | None = field(default=None, repr=False)
    logo_size: float = 0.2
    # "auto": render fits a design that would not scan (API.md "Designs v1.1"); "strict":
    # refused instead.
    fit: str = "auto"
    # Finder patterns (outer ring, 3x3 eye): None draws them in fg_color; eye_inner_style
    # None keeps the eye corner_style draws.
    eye_color: str | None = None
    eye_inner_color: str | None = None
    eye_inner_style: str | None = None
    gradient: Gradient | None = None
    frame: Frame | None = None

    @property
    def has_logo(self) -> bool:
        return self.logo_url is not None or self.logo_data is not None


@dataclass(frozen=True, slots=True)
class QROptions:
    """Validated rendering options with defaults applied (API.md "Static QR codes")."""

    format: str = "png"
    size: int = 512
    error_correction: str = "M"
    quiet_zone: int = 4
    name: str | None = None
    include_image: bool = False
    design: Design = field(default_factory=Design)
    # The client set error_correction: fitting may shrink the logo but never raises the level.
    error_correction_requested: bool = False


# The one place the gateway's defaults are read from (the dataclasses above hold them):
# a changed default changes images and ETags, so tests/unit/test_render_contract.py checks
# that render's own defaults agree.
DEFAULT_OPTIONS: Final = QROptions()
DEFAULT_DESIGN: Final = DEFAULT_OPTIONS.design


def with_logo_bytes(options: QROptions, logo: bytes) -> QROptions:
    """Return ``options`` with fetched logo bytes in ``design.logo_data`` (URL kept)."""
    return dataclasses.replace(options, design=dataclasses.replace(options.design, logo_data=logo))


def _bad(field_name: str, message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field=field_name)


def _int(value: object, field_name: str, low: int, high: int) -> int:
    # bool is an int subclass in Python: JSON `true` is not a size. An integral float (512.0)
    # is accepted because JSON Schema's "integer" accepts it too.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field_name, f"{field_name} must be an integer")
    if not low <= value <= high:
        raise _bad(field_name, f"{field_name} must be between {low} and {high}")
    return value


def _choice(
    value: object,
    field_name: str,
    allowed: tuple[str, ...],
    *,
    aliases: Mapping[str, str] | None = None,
    upper: bool = False,
) -> str:
    if not isinstance(value, str):
        raise _bad(field_name, f"{field_name} must be a string")
    key = value.strip().upper() if upper else value.strip().lower()
    key = (aliases or {}).get(key, key)
    if key not in allowed:
        raise _bad(field_name, f"{field_name} must be one of: {', '.join(allowed)}")
    return key


def _color(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not _HEX_COLOR.fullmatch(value.strip()):
        raise ApiError(
            "INVALID_COLOR", f"{field_name} must be a hex colour like #1a2b3c", field=field_name
        )
    digits = value.strip()[1:].lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return f"#{digits}"


def _background(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() == TRANSPARENT:
        return TRANSPARENT
    return _color(value, "design.bg_color")


def _gradient(value: object) -> Gradient | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _bad("design.gradient", "gradient must be an object")
    unknown = sorted(str(key) for key in value if key not in _GRADIENT_KEYS)
    if unknown:
        raise _bad(f"design.gradient.{unknown[0]}", f"unknown gradient field {unknown[0]!r}")
    kind, colors, angle = value.get("type"), value.get("colors"), value.get("angle")
    low, high = GRADIENT_STOPS
    # The length is checked before any element is looked at.
    if not isinstance(colors, list) or not low <= len(colors) <= high:
        raise _bad("design.gradient.colors", f"colors must be a list of {low} to {high} colours")
    return Gradient(
        type="linear" if kind is None else _choice(kind, "design.gradient.type", GRADIENT_TYPES),
        colors=tuple(
            _color(color, f"design.gradient.colors[{index}]") for index, color in enumerate(colors)
        ),
        angle=0 if angle is None else _int(angle, "design.gradient.angle", *GRADIENT_ANGLE_RANGE),
    )


def _frame(value: object) -> Frame | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _bad("design.frame", "frame must be an object")
    unknown = sorted(str(key) for key in value if key not in _FRAME_KEYS)
    if unknown:
        raise _bad(f"design.frame.{unknown[0]}", f"unknown frame field {unknown[0]!r}")
    style, text = value.get("style"), value.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise _bad("design.frame.text", "frame text must be a string")
    # The length is checked before the characters are looked at.
    if len(text) > MAX_FRAME_TEXT:
        raise _bad("design.frame.text", f"frame text must be at most {MAX_FRAME_TEXT} characters")
    if not _FRAME_TEXT.fullmatch(text):
        bad = next(char for char in text if not " " <= char <= "~")
        raise _bad(
            "design.frame.text",
            f"frame text may hold printable ASCII characters only, not {bad!r}",
        )
    return Frame(
        style=(
            "banner-bottom" if style is None else _choice(style, "design.frame.style", FRAME_STYLES)
        ),
        text=text,
        color=_optional_color(value.get("color"), "design.frame.color"),
        text_color=_optional_color(value.get("text_color"), "design.frame.text_color"),
    )


def _optional_color(value: object, field_name: str) -> str | None:
    return None if value is None else _color(value, field_name)


def _logo_url(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise _bad(field_name, "logo_url must be a string")
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() != "https" or not host:
        raise ApiError("LOGO_FETCH_FAILED", "logo_url must be an https:// URL", field=field_name)
    return url


def _logo_size(value: object) -> float:
    field_name = "design.logo_size"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(field_name, "logo_size must be a number")
    low, high = LOGO_SIZE_RANGE
    if not (math.isfinite(value) and low <= value <= high):
        raise ApiError(
            "LOGO_TOO_LARGE", f"logo_size must be between {low} and {high}", field=field_name
        )
    return float(value)


def _design(value: object) -> Design:
    if value is None:
        return Design()
    if not isinstance(value, Mapping):
        raise _bad("design", "design must be an object")
    unknown = sorted(str(key) for key in value if key not in _DESIGN_KEYS)
    if unknown:
        raise _bad(f"design.{unknown[0]}", f"unknown design field {unknown[0]!r}")

    defaults = Design()
    fg, bg = value.get("fg_color"), value.get("bg_color")
    dots, corners = value.get("dot_style"), value.get("corner_style")
    logo_size, logo_url, logo_data = (
        value.get("logo_size"),
        value.get("logo_url"),
        value.get("logo_data"),
    )
    if logo_url is not None and logo_data is not None:
        raise _bad("design.logo_data", "give either logo_url or logo_data, not both")
    design = Design(
        fg_color=defaults.fg_color if fg is None else _color(fg, "design.fg_color"),
        bg_color=defaults.bg_color if bg is None else _background(bg),
        dot_style=(
            defaults.dot_style
            if dots is None
            else _choice(dots, "design.dot_style", DOT_STYLES, aliases=_DOT_ALIASES)
        ),
        corner_style=(
            defaults.corner_style
            if corners is None
            else _choice(corners, "design.corner_style", CORNER_STYLES, aliases=_CORNER_ALIASES)
        ),
        logo_size=defaults.logo_size if logo_size is None else _logo_size(logo_size),
        logo_url=None if logo_url is None else _logo_url(logo_url, "design.logo_url"),
        fit=(
            defaults.fit
            if value.get("fit") is None
            else _choice(value.get("fit"), "design.fit", FIT_MODES)
        ),
        eye_color=_optional_color(value.get("eye_color"), "design.eye_color"),
        eye_inner_color=_optional_color(value.get("eye_inner_color"), "design.eye_inner_color"),
        eye_inner_style=(
            None
            if value.get("eye_inner_style") is None
            else _choice(value.get("eye_inner_style"), "design.eye_inner_style", EYE_INNER_STYLES)
        ),
        gradient=_gradient(value.get("gradient")),
        frame=_frame(value.get("frame")),
    )
    # Decoded last: it is the only costly check, and a request with another error is
    # refused without paying for it.
    if logo_data is None:
        return design
    if not isinstance(logo_data, str):
        raise _bad("design.logo_data", "logo_data must be a base64 string")
    return dataclasses.replace(design, logo_data=decode_logo_data(logo_data, "design.logo_data"))


def parse_qr_options(body: Mapping[str, object]) -> QROptions:
    """Validate the rendering options of a JSON generate body and fill in the defaults.

    ``type`` and ``content`` are not looked at (see ``payloads.build_payload``).
    ``error_correction`` defaults to ``H`` when the design has a logo, else ``M``.
    """
    design = _design(body.get("design"))
    fmt = body.get("format")
    size = body.get("size")
    quiet_zone = body.get("quiet_zone")
    level = body.get("error_correction")
    name = body.get("name")
    include_image = body.get("include_image")

    if name is not None:
        if not isinstance(name, str):
            raise _bad("name", "name must be a string")
        if len(name) > MAX_NAME_LENGTH:
            raise _bad("name", f"name must be at most {MAX_NAME_LENGTH} characters")
    if include_image is not None and not isinstance(include_image, bool):
        raise _bad("include_image", "include_image must be true or false")
    return QROptions(
        format=DEFAULT_OPTIONS.format if fmt is None else _choice(fmt, "format", FORMATS),
        size=DEFAULT_OPTIONS.size if size is None else _int(size, "size", *SIZE_RANGE),
        error_correction=(
            ("H" if design.has_logo else DEFAULT_OPTIONS.error_correction)
            if level is None
            else _choice(level, "error_correction", ERROR_CORRECTION_LEVELS, upper=True)
        ),
        quiet_zone=(
            DEFAULT_OPTIONS.quiet_zone
            if quiet_zone is None
            else _int(quiet_zone, "quiet_zone", *QUIET_ZONE_RANGE)
        ),
        name=name or None,
        include_image=bool(include_image),
        design=design,
        error_correction_requested=level is not None,
    )


def _query_int(query: Mapping[str, str], key: str) -> int | None:
    raw = query.get(key, "").strip()
    if not raw:
        return None
    # Stricter than int(): that would take "1_000", "+5" and Unicode digits.
    if not _QUERY_INT.fullmatch(raw):
        raise _bad(key, f"{key} must be an integer")
    return int(raw)


def _query_color(query: Mapping[str, str], key: str) -> str | None:
    raw = query.get(key, "").strip()
    if not raw:
        return None
    # In a URL an unescaped "#" starts the fragment, so the query form also takes bare hex.
    # "transparent" goes through as it is (bg_color takes it, the colour fields refuse it).
    return raw if raw.startswith("#") or raw.lower() == TRANSPARENT else f"#{raw}"


def parse_qr_query(query: Mapping[str, str]) -> tuple[str, str | dict[str, object], QROptions]:
    """Parse ``GET /v1/qrcodes/generate`` parameters into ``(type, content, options)``; see
    :func:`qr_query_body`."""
    qr_type, content, body = qr_query_body(query)
    return qr_type, content, parse_qr_options(body)


def qr_query_body(
    query: Mapping[str, str],
) -> tuple[str, str | dict[str, object], dict[str, object]]:
    """``GET /v1/qrcodes/generate`` parameters as ``(type, content, body)``: ``body`` is the
    JSON-body form of the options (for :func:`parse_qr_options`, after a saved design is merged
    into its ``design``).

    ``type`` and ``content`` are required (``INVALID_PARAMETER``); an unknown type is
    ``INVALID_TYPE``. For object-shaped types (wifi, vcard, ...) ``content`` is JSON text and
    comes back as a dict (``INVALID_CONTENT`` if it is not a JSON object); the content is not
    otherwise validated here: pass it to ``build_payload``. Options come from ``format``,
    ``size``, ``error_correction``, ``quiet_zone``, ``fg_color``, ``bg_color``, ``dot_style``,
    ``corner_style``, ``fit``, ``eye_color``, ``eye_inner_color``, ``eye_inner_style`` and
    ``gradient_colors`` (comma-separated) with ``gradient`` (its type) and ``gradient_angle``,
    ``frame`` (its style) with ``frame_text``, ``frame_color`` and ``frame_text_color``;
    empty values count as not given, other parameters are ignored.
    Logos are not available on this path (no body to carry them, no fetch on a GET), except
    the logo of a saved design (``design_id``), whose bytes were stored when it was saved.
    """
    qr_type = query.get("type", "").strip()
    if not qr_type:
        raise _bad("type", "type is required")
    if qr_type not in QR_TYPES:
        raise ApiError("INVALID_TYPE", f"type must be one of: {', '.join(QR_TYPES)}", field="type")
    raw_content = query.get("content")
    if raw_content is None or raw_content == "":
        raise _bad("content", "content is required")
    content: str | dict[str, object] = raw_content
    if qr_type in OBJECT_CONTENT_TYPES:
        try:
            parsed = loads_client_json(raw_content)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ApiError(
                "INVALID_CONTENT",
                f"content must be a JSON object for type {qr_type}",
                field="content",
            )
        content = parsed

    body: dict[str, object] = {
        "format": query.get("format", "").strip() or None,
        "error_correction": query.get("error_correction", "").strip() or None,
        "size": _query_int(query, "size"),
        "quiet_zone": _query_int(query, "quiet_zone"),
    }
    design: dict[str, object] = {
        "fg_color": _query_color(query, "fg_color"),
        "bg_color": _query_color(query, "bg_color"),
        "dot_style": query.get("dot_style", "").strip() or None,
        "corner_style": query.get("corner_style", "").strip() or None,
        "fit": query.get("fit", "").strip() or None,
        "eye_color": _query_color(query, "eye_color"),
        "eye_inner_color": _query_color(query, "eye_inner_color"),
        "eye_inner_style": query.get("eye_inner_style", "").strip() or None,
    }
    colors = query.get("gradient_colors", "").strip()
    if colors:
        # Comma-separated; a query string is already bounded by the server's line limit.
        design["gradient"] = {
            "type": query.get("gradient", "").strip() or None,
            "colors": [_query_color({"c": color}, "c") or "" for color in colors.split(",")],
            "angle": _query_int(query, "gradient_angle"),
        }
    elif query.get("gradient", "").strip():
        raise _bad("gradient_colors", "gradient needs gradient_colors")
    frame_style = query.get("frame", "").strip()
    if frame_style:
        frame: dict[str, object] = {
            "style": frame_style,
            "text": query.get("frame_text", ""),
            "color": _query_color(query, "frame_color"),
            "text_color": _query_color(query, "frame_text_color"),
        }
        design["frame"] = {key: value for key, value in frame.items() if value is not None}
    body["design"] = {key: value for key, value in design.items() if value is not None}
    return qr_type, content, body
