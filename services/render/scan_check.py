"""Is a design scannable, and does a rendered image decode back to what was meant?

Two layers. Cheap pre-checks refuse designs a phone would struggle with although a
synthetic image would still decode (zxing reads perfect pixels at almost any contrast):

* contrast: the WCAG 2.x contrast ratio of foreground to background must reach 3:1, the
  WCAG minimum for graphical objects that must be perceived (SC 1.4.11). Camera
  binarisation under uneven light degrades in the same way human perception does, and
  below 3:1 glare or a cheap print wipes out the difference.
* polarity: light-on-dark ("inverted") codes are an optional reader feature in ISO/IEC 18004.
  Phone camera apps read them, some older readers (zxing without its invert option) do not:
  under ``fit: auto`` they are drawn with a warning (and verified with zxing's invert pass),
  under ``fit: strict`` refused.
* logo: the modules cleared under the logo may use at most ``LOGO_BUDGET_SHARE`` of the
  level's recovery capacity (L 7 %, M 15 %, Q 25 %, H 30 % of codewords); the rest is kept
  for real-world damage (print defects, glare, a dirty lens).

Then the real check: zxing-cpp decodes the rendered raster, which must give back the
payload exactly (and, for QR, at the requested level).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import zxingcpp

from services.render.colors import RGB, contrast_ratio, relative_luminance
from services.render.qr_geometry import QRLayout, function_module_count
from services.runtime.errors import ApiError

MIN_CONTRAST_RATIO: Final = 3.0
RECOVERY_CAPACITY: Final[dict[str, float]] = {"L": 0.07, "M": 0.15, "Q": 0.25, "H": 0.30}
LOGO_BUDGET_SHARE: Final = 0.75

_UNSCANNABLE: Final = "UNSCANNABLE_DESIGN"
_QR: Final = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# Plain, not the default HRI: HRI rewrites control characters (GS becomes "<GS>").
_PLAIN_TEXT: Final = zxingcpp.TextMode.Plain
_BINARIZER: Final = zxingcpp.Binarizer.LocalAverage


@lru_cache(maxsize=1024)
def check_colors(fg: RGB, bg: RGB) -> bool:
    """Refuse foreground/background pairs too close to be read (see module docstring); True
    when the pair is light-on-dark (see :func:`inverted_refused`).

    Cached: a pair that passed once passes again (refusals raise, so are never cached).
    """
    ratio = contrast_ratio(fg, bg)
    if ratio < MIN_CONTRAST_RATIO:
        raise ApiError(
            _UNSCANNABLE,
            f"contrast between fg_color and bg_color is {ratio:.2f}:1, below the "
            f"{MIN_CONTRAST_RATIO:g}:1 minimum",
            field="design.fg_color",
            details={"reason": "low_contrast", "contrast_ratio": round(ratio, 2)},
        )
    return relative_luminance(fg) >= relative_luminance(bg)


def check_ink(color: RGB, bg: RGB, fg: RGB, field: str) -> None:
    """Refuse an ink besides ``fg`` (an eye colour, a gradient stop) that meets the background
    at less than the minimum contrast, or on the other side of it than ``fg`` (a finder
    lighter than the background while the modules are darker reads as no finder at all).
    ``field`` names the ink: ``design.eye_color``."""
    ratio = contrast_ratio(color, bg)
    name = field.removeprefix("design.")
    hex_color = "#{:02x}{:02x}{:02x}".format(*color)
    if ratio < MIN_CONTRAST_RATIO:
        raise ApiError(
            _UNSCANNABLE,
            f"contrast between {name} {hex_color} and bg_color is {ratio:.2f}:1, below the "
            f"{MIN_CONTRAST_RATIO:g}:1 minimum",
            field=field,
            details={"reason": "low_contrast", "contrast_ratio": round(ratio, 2)},
        )
    background = relative_luminance(bg)
    if (relative_luminance(color) >= background) != (relative_luminance(fg) >= background):
        raise ApiError(
            _UNSCANNABLE,
            f"{name} {hex_color} is on the other side of bg_color than the modules' colour (one "
            "lighter, one darker than the background): readers expect one polarity",
            field=field,
            details={"reason": "mixed_polarity"},
        )


def inverted_refused() -> ApiError:
    """The refusal of a light-on-dark design under ``fit: strict``."""
    return ApiError(
        _UNSCANNABLE,
        "fg_color is lighter than bg_color: inverted (light-on-dark) codes are not "
        "read by some scanners; use a dark foreground on a light background",
        field="design.fg_color",
        details={"reason": "inverted_colors"},
    )


def logo_damage_fraction(layout: QRLayout) -> float:
    """Share of the data modules the logo clears (0.0 without a logo)."""
    cleared = int(np.count_nonzero(layout.cleared))
    if cleared == 0:
        return 0.0
    version = layout.matrix.version
    data_modules = layout.n * layout.n - function_module_count(version)
    return cleared / data_modules


def logo_within_budget(layout: QRLayout) -> bool:
    """True without a logo, or when the logo clears no more than the level can safely recover."""
    if layout.logo is None:
        return True
    allowed = RECOVERY_CAPACITY[layout.matrix.error_correction] * LOGO_BUDGET_SHARE
    return logo_damage_fraction(layout) <= allowed


def check_logo(layout: QRLayout) -> None:
    """Refuse a logo that clears more than the level can safely recover."""
    if logo_within_budget(layout):
        return
    level = layout.matrix.error_correction
    damage = logo_damage_fraction(layout)
    allowed = RECOVERY_CAPACITY[level] * LOGO_BUDGET_SHARE
    raise ApiError(
        _UNSCANNABLE,
        f"logo too big for error correction level {level}: it hides {damage:.0%} of the "
        f"data modules, at most {allowed:.0%} is safe; use a smaller logo_size or a "
        "higher level",
        field="design.logo_size",
        details={"reason": "logo_too_big", "hidden_fraction": round(damage, 3)},
    )


def verify_qr(
    gray: npt.NDArray[np.uint8],
    payload: str,
    error_correction: str,
    *,
    pure: bool = False,
    inverted: bool = False,
) -> None:
    """Decode ``gray`` (0 black .. 255 white) and require ``payload`` at the given level.

    Rotation and downscaling are off: the raster is upright and already at a few pixels per
    module, so those passes would only cost time. Inversion is tried only for a light-on-dark
    design (``inverted``), which a reader must read as a phone app does, by its invert pass.
    ``pure`` (for square modules and finders only) skips finder detection, which halves the
    cost; styled codes always go through the full detector, since finding their finders is
    the question.
    """
    results = zxingcpp.read_barcodes(
        gray,
        _QR,
        False,  # try_rotate
        False,  # try_downscale
        inverted,  # try_invert
        _PLAIN_TEXT,
        _BINARIZER,
        pure,  # is_pure
    )
    for result in results:
        if result.text == payload:
            if result.ec_level != error_correction:
                # The encoder must not pick a level on its own; this is a bug, not a design issue.
                raise RuntimeError(
                    f"encoded at level {result.ec_level!r}, asked for {error_correction!r}"
                )
            return
    raise ApiError(
        _UNSCANNABLE,
        "the rendered code does not decode back to its content with this design; "
        "try a larger size, square modules, a smaller logo or a higher error correction level",
        details={"reason": "verification_failed"},
    )


_BARCODE_FORMATS: Final[dict[str, zxingcpp.BarcodeFormats]] = {
    name: zxingcpp.BarcodeFormats(fmt)
    for name, fmt in (
        ("EAN13", zxingcpp.BarcodeFormat.EAN13),
        ("EAN8", zxingcpp.BarcodeFormat.EAN8),
        ("UPCA", zxingcpp.BarcodeFormat.UPCA),
        ("CODE128", zxingcpp.BarcodeFormat.Code128),
        ("CODE39", zxingcpp.BarcodeFormat.Code39),
        ("ITF", zxingcpp.BarcodeFormat.ITF),
        ("DATAMATRIX", zxingcpp.BarcodeFormat.DataMatrix),
        ("PDF417", zxingcpp.BarcodeFormat.PDF417),
        ("AZTEC", zxingcpp.BarcodeFormat.Aztec),
        ("GS1_128", zxingcpp.BarcodeFormat.Code128),
        ("GS1_DATAMATRIX", zxingcpp.BarcodeFormat.DataMatrix),
        ("GS1_QR", zxingcpp.BarcodeFormat.QRCode),
        ("ITF14", zxingcpp.BarcodeFormat.ITF),
        ("UPCE", zxingcpp.BarcodeFormat.UPCE),
        ("CODE93", zxingcpp.BarcodeFormat.Code93),
        ("CODABAR", zxingcpp.BarcodeFormat.Codabar),
    )
}
_GS1_SYMBOLOGIES: Final = frozenset({"GS1_128", "GS1_DATAMATRIX", "GS1_QR"})


def _decoded_value(symbology: str, result: zxingcpp.Barcode) -> str | None:
    """What the reader got, in the form the value was given; None for a symbol that is not
    what was meant (a GS1 symbol without its GS1 flag, or a plain one with it)."""
    is_gs1 = result.content_type == zxingcpp.ContentType.GS1
    if is_gs1 != (symbology in _GS1_SYMBOLOGIES):
        return None
    text: str = result.text
    if symbology == "UPCA" and len(text) == 13 and text.startswith("0"):
        return text[1:]
    if symbology == "UPCE":
        # zxing reports the expanded EAN-13; the 8 UPC-E digits are in its extras.
        extra = result.extra
        upce = extra.get("UPCE") if isinstance(extra, dict) else None
        return upce if isinstance(upce, str) else None
    return text


def verify_barcode(gray: npt.NDArray[np.uint8], symbology: str, value: str) -> None:
    """Decode ``gray`` as ``symbology`` only and require exactly ``value``.

    zxing reports UPC-A as its 13-digit EAN-13 form (a leading 0), which is normalised away.
    GS1 symbols must decode as GS1 (FNC1 first) and their HRI text, which zxing builds by
    splitting the transmitted element string at its AIs and group separators, must be the
    human form that was asked for: a missing or misplaced separator changes it.
    A failure here means the drawing code broke the symbol, so it is an internal error.
    """
    # A rendered symbol is perfect: zxing's pure mode (one scan line for a linear symbol, the
    # symbol's bounding box for a 2D one) reads it in a fraction of the full detector's time.
    # The detector still gets the last word before a render is refused.
    text_mode = zxingcpp.TextMode.HRI if symbology in _GS1_SYMBOLOGIES else _PLAIN_TEXT
    for pure in (True, False):
        results = zxingcpp.read_barcodes(
            gray,
            formats=_BARCODE_FORMATS[symbology],
            try_rotate=False,
            try_downscale=False,
            try_invert=False,
            text_mode=text_mode,
            is_pure=pure,
        )
        for result in results:
            if _decoded_value(symbology, result) == value:
                return
    raise RuntimeError(f"rendered {symbology} barcode does not decode back to {value!r}")
