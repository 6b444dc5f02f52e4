"""Barcode values -> validated bar patterns (1 = bar) with their layout facts.

zxing-cpp's native writer makes the bar/space sequence of the v1 symbologies, libzint's
(``zint-bindings``, called directly as :mod:`qr_matrix` does) that of CODE93, CODABAR, ITF14,
UPCE and GS1_128, whose rules (GS1 element strings, UPC-E zero suppression, check digits)
libzint checks itself. This module owns the rules around them:
what each symbology accepts (checked here, because the encoder silently "fixes" some
inputs: it upper-cases Code 39, pads odd ITF, re-encodes Latin-1 Code 128), the quiet zones
the standards ask for, which modules are long guard bars, and how the digits are grouped
under EAN/UPC symbols.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import zint
import zxingcpp

from services.runtime.errors import ApiError

_FORMATS: Final[dict[str, zxingcpp.BarcodeFormat]] = {
    "EAN13": zxingcpp.BarcodeFormat.EAN13,
    "EAN8": zxingcpp.BarcodeFormat.EAN8,
    "UPCA": zxingcpp.BarcodeFormat.UPCA,
    "CODE128": zxingcpp.BarcodeFormat.Code128,
    "CODE39": zxingcpp.BarcodeFormat.Code39,
    "ITF": zxingcpp.BarcodeFormat.ITF,
}

# Quiet zones in modules (left, right): GS1 General Specifications for EAN/UPC (EAN-13
# 11/7, EAN-8 7/7, UPC-A 9/9); ISO/IEC 15417, 16388 and 16390 ask 10X for Code 128,
# Code 39 and ITF.
QUIET_ZONES: Final[dict[str, tuple[int, int]]] = {
    "EAN13": (11, 7),
    "EAN8": (7, 7),
    "UPCA": (9, 9),
    "CODE128": (10, 10),
    "CODE39": (10, 10),
    "ITF": (10, 10),
    # ISO/IEC 15417 (GS1-128 is Code 128), AIM USS-93 and ANSI/AIM BC3 (Codabar): 10X; ITF-14
    # (GS1 GenSpecs 5.3.2.3) 10X; UPC-E 9X left, 7X right (GS1 GenSpecs 5.2.3.4).
    "GS1_128": (10, 10),
    "CODE93": (10, 10),
    "CODABAR": (10, 10),
    "ITF14": (10, 10),
    "UPCE": (9, 7),
}

_ZINT_LINEAR: Final[dict[str, zint.Symbology]] = {
    "GS1_128": zint.Symbology.GS1_128,
    "CODE93": zint.Symbology.CODE93,
    "CODABAR": zint.Symbology.CODABAR,
    "ITF14": zint.Symbology.ITF14,
    "UPCE": zint.Symbology.UPCE,
}
# Element strings arrive in their human form, (01)09506000134352(10)LOT42.
GS1_INPUT: Final = zint.InputMode.GS1 | zint.InputMode.GS1PARENS

# Modules drawn as long bars (start, end exclusive): the guard patterns, and for UPC-A also
# the number-system and check digits' bars, as the GS1 layout draws them.
_LONG_BARS: Final[dict[str, tuple[tuple[int, int], ...]]] = {
    "EAN13": ((0, 3), (45, 50), (92, 95)),
    "EAN8": ((0, 3), (31, 36), (64, 67)),
    "UPCA": ((0, 10), (45, 50), (85, 95)),
    "UPCE": ((0, 3), (45, 51)),
}

_LENGTHS: Final[dict[str, int]] = {"EAN13": 13, "EAN8": 8, "UPCA": 12, "ITF14": 14, "UPCE": 8}
_ZINT_AI: Final = re.compile(r"AI \((\d{2,4})\)")
_CODE39_CHARS: Final = re.compile(r"[0-9A-Z \-.$/+%]+")
# Longest values accepted: far beyond anything that fits 4096 px, short of encoder limits.
_MAX_LENGTH: Final = 80
# GS1-128's 48 data characters in human form, two brackets per AI.
_MAX_GS1_LENGTH: Final = 160


@dataclass(frozen=True, slots=True)
class DigitGroup:
    """Human-readable digits laid out over modules ``start`` .. ``end`` (may be negative or
    past the symbol: the quiet zones), each digit centred in an equal share."""

    text: str
    start: float
    end: float
    small: bool = False


@dataclass(frozen=True, slots=True)
class BarPattern:
    """One linear symbol: bars, quiet zones, long-bar mask and the text under it."""

    symbology: str
    value: str
    bars: npt.NDArray[np.bool_]  # one entry per module, True = bar
    long_bars: npt.NDArray[np.bool_]  # modules drawn down into the text band
    quiet_left: int
    quiet_right: int
    groups: tuple[DigitGroup, ...]  # EAN/UPC digit layout; empty = plain centred text

    @property
    def modules(self) -> int:
        return int(self.bars.shape[0])


def _gs1_check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _bad_value(message: str) -> ApiError:
    return ApiError("INVALID_BARCODE_VALUE", message, field="value")


def validate_value(symbology: str, value: str) -> None:
    """Refuse values the symbology cannot carry exactly (see API.md error codes)."""
    if symbology not in _FORMATS and symbology not in _ZINT_LINEAR:
        raise ApiError("INVALID_PARAMETER", f"unknown barcode format {symbology!r}", field="format")
    if not value:
        raise _bad_value("value is empty")
    if len(value) > (_MAX_GS1_LENGTH if symbology == "GS1_128" else _MAX_LENGTH):
        raise _bad_value("value is too long for a linear barcode")
    if symbology in _LENGTHS:
        length = _LENGTHS[symbology]
        if len(value) != length or not (value.isascii() and value.isdigit()):
            raise ApiError(
                "INVALID_EAN",
                f"{symbology} needs {length} digits including the check digit",
                field="value",
            )
        if symbology == "UPCE":
            if value[0] not in "01":
                raise ApiError("INVALID_EAN", "UPCE number system must be 0 or 1", field="value")
            return  # libzint verifies the check digit of the expanded UPC-A
        if int(value[-1]) != _gs1_check_digit(value[:-1]):
            raise ApiError(
                "INVALID_EAN",
                f"wrong check digit: expected {_gs1_check_digit(value[:-1])}",
                field="value",
            )
    elif symbology in ("CODE128", "CODE93"):
        if not value.isascii():
            raise _bad_value(f"{symbology} carries ASCII characters only")
    elif symbology == "CODE39":
        if not _CODE39_CHARS.fullmatch(value):
            raise _bad_value("CODE39 carries only 0-9, A-Z (upper case), space and - . $ / + %")
    elif symbology == "ITF" and not (value.isascii() and value.isdigit() and len(value) % 2 == 0):
        raise _bad_value("ITF needs an even number of digits")


def _digit_groups(symbology: str, value: str) -> tuple[DigitGroup, ...]:
    if symbology == "EAN13":
        return (
            DigitGroup(value[0], -8.0, -1.0),
            DigitGroup(value[1:7], 3.0, 45.0),
            DigitGroup(value[7:], 50.0, 92.0),
        )
    if symbology == "EAN8":
        return (DigitGroup(value[:4], 3.0, 31.0), DigitGroup(value[4:], 36.0, 64.0))
    if symbology == "UPCA":
        return (
            DigitGroup(value[0], -8.0, -1.0, small=True),
            DigitGroup(value[1:6], 10.0, 45.0),
            DigitGroup(value[6:11], 50.0, 85.0),
            DigitGroup(value[11], 96.0, 103.0, small=True),
        )
    if symbology == "UPCE":
        return (
            DigitGroup(value[0], -8.0, -1.0, small=True),
            DigitGroup(value[1:7], 3.0, 45.0),
            DigitGroup(value[7], 52.0, 59.0, small=True),
        )
    return ()


def gs1_error(message: str) -> ApiError:
    """libzint's refusal of GS1 data as INVALID_GS1, naming the AI when its message does
    ("Error 261: AI (17) position 5: Invalid day '32'")."""
    ai = _ZINT_AI.search(message)
    return ApiError(
        "INVALID_GS1",
        f"not a valid GS1 element string: {message}",
        field="value",
        details={"ai": ai.group(1)} if ai else None,
    )


def _zint_error(symbology: str, message: str) -> ApiError:
    if symbology == "GS1_128":
        return gs1_error(message)
    if symbology in ("ITF14", "UPCE"):
        return ApiError("INVALID_EAN", f"{symbology}: {message}", field="value")
    return _bad_value(f"value cannot be encoded as {symbology}: {message}")


def zint_rows(symbol: zint.Symbol) -> npt.NDArray[np.bool_]:
    """libzint's module rows (bit-packed, least significant bit first) as booleans."""
    modules = symbol.width
    packed = np.asarray(symbol.encoded_data)[: symbol.rows, : (modules + 7) // 8]
    return np.unpackbits(packed, axis=1, count=modules, bitorder="little").view(np.bool_)


def _zint_bars(symbology: str, value: str) -> npt.NDArray[np.bool_]:
    symbol = zint.Symbol()
    symbol.symbology = _ZINT_LINEAR[symbology]
    if symbology == "GS1_128":
        symbol.input_mode = GS1_INPUT
        # libzint only warns about a bad check digit or date unless warnings fail.
        symbol.warn_level = zint.WarningLevel.FAIL_ALL
    # UPCE: libzint reads "0123456" as number system 0, digits 123456 and 8 digits as the
    # same with the check digit, which it verifies (ITF14 likewise with 14 digits).
    # libzint takes ITF-14's 13 digits and appends the check digit (verified above).
    data = value[:13] if symbology == "ITF14" else value
    try:
        symbol.encode(data.encode("ascii"))
    except RuntimeError as exc:
        raise _zint_error(symbology, str(exc)) from exc
    rows: npt.NDArray[np.bool_] = zint_rows(symbol)[0]
    return rows


def encode_barcode(symbology: str, value: str) -> BarPattern:
    """Validate ``value`` and encode it; raises ApiError INVALID_BARCODE_VALUE / INVALID_EAN."""
    validate_value(symbology, value)
    if symbology in _ZINT_LINEAR:
        bars = _zint_bars(symbology, value)
    else:
        try:
            symbol = zxingcpp.create_barcode(value, _FORMATS[symbology])
        except ValueError as exc:
            raise _bad_value(f"value cannot be encoded as {symbology}: {exc}") from exc
        image = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
        # Every row crosses all bars; the middle one is clear of any guard extension.
        bars = image[image.shape[0] // 2] == 0
    long_bars = np.zeros_like(bars)
    for start, end in _LONG_BARS.get(symbology, ()):
        long_bars[start:end] = bars[start:end]
    left, right = QUIET_ZONES[symbology]
    return BarPattern(
        symbology=symbology,
        value=value,
        bars=bars,
        long_bars=long_bars,
        quiet_left=left,
        quiet_right=right,
        groups=_digit_groups(symbology, value),
    )
