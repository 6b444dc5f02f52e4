"""Plain, picklable value objects that cross the gRPC servicer / process-pool boundary.

The gateway validates and normalises every field before building these (colours are
``#rrggbb``, style aliases resolved, EAN/UPC values carry their check digit), so the render
domain only re-checks what it must to stay safe: it never trusts a value to be encodable or
scannable, and says why through :class:`~services.runtime.errors.ApiError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

QR_FORMATS: Final = ("png", "svg", "pdf", "jpeg", "webp", "eps")
# Drawn as the PNG raster is, then encoded by Pillow (see raster_encoding).
ENCODED_RASTER_FORMATS: Final = ("jpeg", "webp")
EC_LEVELS: Final = ("L", "M", "Q", "H")
DOT_STYLES: Final = ("square", "round", "dots", "classy", "classy-rounded")
CORNER_STYLES: Final = ("square", "round", "extra-rounded")
EYE_INNER_STYLES: Final = ("square", "round")
GRADIENT_TYPES: Final = ("linear", "radial")
GRADIENT_STOPS: Final = (2, 3)  # fewest, most colours
MAX_GRADIENT_ANGLE: Final = 359
# bg_color's one value that is not a colour: no background is drawn (JPEG: white).
TRANSPARENT: Final = "transparent"
BARCODE_SYMBOLOGIES: Final = (
    "EAN13",
    "EAN8",
    "UPCA",
    "CODE128",
    "CODE39",
    "ITF",
    "DATAMATRIX",
    "PDF417",
    "AZTEC",
    "GS1_128",
    "GS1_DATAMATRIX",
    "GS1_QR",
    "ITF14",
    "UPCE",
    "CODE93",
    "CODABAR",
)
BARCODE_OUTPUTS: Final = ("png", "svg", "pdf", "eps")
FIT_MODES: Final = ("auto", "strict")
FRAME_STYLES: Final = ("none", "banner-bottom", "banner-top", "box")
MAX_FRAME_TEXT: Final = 30

MIN_QR_SIZE: Final = 100
MAX_QR_SIZE: Final = 4096
MAX_QUIET_ZONE: Final = 20
MIN_LOGO_SIZE: Final = 0.1
MAX_LOGO_SIZE: Final = 0.4

CONTENT_TYPES: Final[dict[str, str]] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "eps": "application/postscript",
}


@dataclass(frozen=True, slots=True)
class Gradient:
    """Colours of the modules across the symbol: evenly spaced ``colors`` (``#rrggbb``) along
    a line at ``angle`` degrees (0 left to right, 90 top to bottom) through the centre, or
    out from the centre (radial; angle unused)."""

    type: str
    colors: tuple[str, ...]
    angle: int = 0


@dataclass(frozen=True, slots=True)
class Frame:
    """A call-to-action around the code (see qr_frame): ``style`` one of FRAME_STYLES,
    ``text`` printable ASCII (what the shipped font draws), colours ``#rrggbb`` ("" =
    the defaults qr_frame picks)."""

    style: str
    text: str = ""
    color: str = ""
    text_color: str = ""


@dataclass(frozen=True, slots=True)
class QRDesign:
    """How the symbol looks; none of it changes what is encoded."""

    fg_color: str = "#000000"
    bg_color: str = "#ffffff"
    dot_style: str = "square"
    corner_style: str = "square"
    logo: bytes | None = None
    logo_size: float = 0.2
    # Finder patterns: the outer ring and the 3x3 eye; "" draws them in fg_color.
    eye_color: str = ""
    eye_inner_color: str = ""
    # "square" | "round"; "" keeps the eye corner_style draws.
    eye_inner_style: str = ""
    # Replaces fg_color wherever it would be drawn (modules, finders without eye colours).
    gradient: Gradient | None = None
    # None (or style "none"): the image is the code alone, size x size.
    frame: Frame | None = None

    @property
    def is_plain(self) -> bool:
        """True when the fast two-colour path applies (square modules, square finders, no
        logo, one ink)."""
        return (
            self.dot_style == "square"
            and self.corner_style == "square"
            and self.logo is None
            and self.eye_inner_style in ("", "square")
            and self.eye_color in ("", self.fg_color)
            and self.eye_inner_color in ("", self.fg_color)
            and self.gradient is None
        )


@dataclass(frozen=True, slots=True)
class QRSpec:
    """A QR code to render: the payload is encoded byte-exactly as UTF-8 text."""

    payload: str
    format: str = "png"
    size: int = 512
    error_correction: str = "M"
    quiet_zone: int = 4
    design: QRDesign = field(default_factory=QRDesign)
    # "auto": a design that would not scan is fitted (see qr_images.render_qr); "strict": refused.
    fit: str = "auto"
    # The client chose the level: fitting may shrink the logo but never raises the level.
    error_correction_requested: bool = False
    # No image wanted, only what drawing it would decide (see render_jobs.qr_outcome).
    plan_only: bool = False


@dataclass(frozen=True, slots=True)
class BarcodeSpec:
    """A barcode to render at exactly ``width`` x ``height`` pixels (a 2D symbol: the largest
    whole-pixel modules that fit, centred); ``show_text`` applies to linear symbols."""

    symbology: str
    value: str
    output: str = "png"
    width: int = 400
    height: int = 200
    show_text: bool = True


@dataclass(frozen=True, slots=True)
class FitWarning:
    """What fitting changed or accepted (API.md "Designs v1.1" warnings)."""

    code: str  # LEVEL_RAISED | LOGO_REDUCED | INVERTED_COLORS
    message: str


@dataclass(frozen=True, slots=True)
class RenderedImage:
    """A verified image: ``data`` decoded back to the requested content before it was returned.

    ``error_correction`` and ``logo_size`` are what was drawn (0.0 without a logo), which
    fitting may have changed from what was asked; ``warnings`` say so.
    """

    data: bytes
    content_type: str
    version: int
    error_correction: str
    logo_size: float = 0.0
    warnings: tuple[FitWarning, ...] = ()
