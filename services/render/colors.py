"""Colour arithmetic: ``#rrggbb`` parsing, WCAG contrast, and the grey level a decoder sees."""

from __future__ import annotations

from functools import lru_cache

RGB = tuple[int, int, int]


@lru_cache(maxsize=256)
def parse_hex(color: str) -> RGB:
    """``#rrggbb`` or ``#rgb`` -> (r, g, b); anything else is a programming error (ValueError).

    The gateway already rejected bad colours with INVALID_COLOR, so a bad value here is a bug
    in a caller, not a client mistake.
    """
    text = color.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    if len(text) != 6:
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    value = int(text, 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2.x relative luminance (sRGB linearised, Rec. 709 weights), 0.0 black .. 1.0 white."""

    def channel(c: int) -> float:
        s = c / 255.0
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1.0 (identical) .. 21.0 (black on white); symmetric."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def decoder_gray(rgb: RGB) -> int:
    """The 8-bit grey zxing-cpp derives from an RGB pixel (its integer Rec. 601 weights).

    Verification hands zxing a grey image built from this, so it judges exactly the luminance
    it would have computed from the colour image itself.
    """
    r, g, b = rgb
    return (306 * r + 601 * g + 117 * b + 0x200) >> 10
