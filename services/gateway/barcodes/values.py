"""Barcode requests: validate ``POST /v1/barcodes/generate`` bodies (API.md "Barcodes").

:func:`normalize_barcode_value` returns the value exactly as it will be encoded (EAN/UPC with
its check digit); :func:`parse_barcode_request` validates a whole body into
:class:`BarcodeOptions`. No I/O. A wrong EAN/UPC check digit is an error carrying
``details.expected_check_digit`` and is never corrected silently: a mistyped product code
must not turn into a different, valid product code.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from stdnum import ean as stdnum_ean

from services.gateway.barcodes.gs1 import (
    GS1_128_MAX_CHARS,
    MAX_ELEMENT_STRING,
    parse_element_string,
)
from services.runtime.errors import ApiError

SYMBOLOGIES: Final = (
    "EAN13",
    "EAN8",
    "UPCA",
    "CODE128",
    "CODE39",
    "ITF",
    "QR",
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
GS1_SYMBOLOGIES: Final = ("GS1_128", "GS1_DATAMATRIX", "GS1_QR")
MATRIX_SYMBOLOGIES: Final = ("DATAMATRIX", "PDF417", "AZTEC")
OUTPUTS: Final = ("png", "svg", "pdf", "eps")
WIDTH_RANGE: Final = (100, 4096)
HEIGHT_RANGE: Final = (50, 4096)
MAX_METADATA_BYTES: Final = 16 * 1024
MAX_LINEAR_LENGTH: Final = 80
"""Longest CODE128/CODE39/ITF/CODE93/CODABAR value: beyond it no printed width keeps bars
scannable."""
MAX_MATRIX_LENGTH: Final = 1000
"""Longest DATAMATRIX/PDF417/AZTEC text (characters); whether it fits the symbol is render's
question (INVALID_BARCODE_VALUE)."""

# (length without check digit, length with it) per EAN/UPC symbology.
_EAN_LENGTHS: Final = {"EAN13": (12, 13), "EAN8": (7, 8), "UPCA": (11, 12), "ITF14": (13, 14)}
_CODE39: Final = re.compile(r"[A-Z0-9 \-.$/+%]+")
# Codabar (ANSI/AIM BC3): data 0-9 - $ : / . +, between start and stop characters A-D.
_CODABAR_DATA: Final = re.compile(r"[0-9\-$:/.+]+")
_CODABAR_GUARDS: Final = frozenset("ABCD")
_MAX_CODABAR: Final = 60
_DIGITS: Final = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class BarcodeOptions:
    """A validated barcode request; ``value`` is normalised (check digit included)."""

    format: str
    value: str
    output: str = "png"
    width: int = 400
    height: int = 200
    show_text: bool = True
    metadata: Mapping[str, object] = field(default_factory=dict)


# The defaults are the dataclass's, read from here; tests/unit/test_render_contract.py checks
# that render's own agree.
DEFAULT_BARCODE: Final = BarcodeOptions(format="", value="")


def _loose(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).upper()


_BY_LOOSE_NAME: Final = {_loose(name): name for name in SYMBOLOGIES}


def _symbology(value: object) -> str:
    # "EAN-13", "upc_a", "Code 128", "GS1-128" are how people write these; the canonical form
    # is API.md's.
    key = _BY_LOOSE_NAME.get(_loose(value)) if isinstance(value, str) else None
    if key is None:
        raise ApiError(
            "INVALID_PARAMETER",
            f"format must be one of: {', '.join(SYMBOLOGIES)}",
            field="format",
        )
    return key


def _ean(symbology: str, value: str) -> str:
    short, full = _EAN_LENGTHS[symbology]
    if not _DIGITS.fullmatch(value) or len(value) not in (short, full):
        raise ApiError(
            "INVALID_EAN",
            f"{symbology} takes {short} digits (check digit computed) or {full} (verified)",
            field="value",
        )
    if len(value) == short:
        return value + stdnum_ean.calc_check_digit(value)
    expected = stdnum_ean.calc_check_digit(value[:-1])
    if value[-1] != expected:
        raise ApiError(
            "INVALID_EAN",
            f"{symbology} check digit is {value[-1]}, expected {expected}",
            field="value",
            details={"expected_check_digit": expected},
        )
    return value


def upce_as_upca(value: str) -> str:
    """The 11 UPC-A digits (no check digit) a 7-digit UPC-E body stands for (GS1 GenSpecs
    5.2.2.4.2): zeros are suppressed according to the last digit."""
    ns, d = value[0], value[1:7]
    last = d[5]
    if last in "012":
        return ns + d[0:2] + last + "0000" + d[2:5]
    if last == "3":
        return ns + d[0:3] + "00000" + d[3:5]
    if last == "4":
        return ns + d[0:4] + "00000" + d[4]
    return ns + d[0:5] + "0000" + last


def _upce(value: str) -> str:
    if not _DIGITS.fullmatch(value) or len(value) not in (7, 8) or value[0] not in "01":
        raise ApiError(
            "INVALID_EAN",
            "UPCE takes 7 digits starting with 0 or 1 (number system, check digit computed) "
            "or 8 (verified)",
            field="value",
        )
    expected = stdnum_ean.calc_check_digit(upce_as_upca(value[:7]))
    if len(value) == 7:
        return value + expected
    if value[-1] != expected:
        raise ApiError(
            "INVALID_EAN",
            f"UPCE check digit is {value[-1]}, expected {expected}",
            field="value",
            details={"expected_check_digit": expected},
        )
    return value


def _codabar(value: str) -> str:
    if len(value) > _MAX_CODABAR:
        raise ApiError(
            "INVALID_BARCODE_VALUE",
            f"CODABAR values are at most {_MAX_CODABAR} characters",
            field="value",
        )
    guarded = value[0] in _CODABAR_GUARDS and value[-1] in _CODABAR_GUARDS and len(value) > 2
    data = value[1:-1] if guarded else value
    if not _CODABAR_DATA.fullmatch(data):
        raise ApiError(
            "INVALID_BARCODE_VALUE",
            "CODABAR takes digits and - $ : / . + between optional start/stop characters A-D "
            "(A...A when none are given)",
            field="value",
        )
    return value if guarded else f"A{value}A"


def _matrix_text(symbology: str, value: str) -> None:
    if len(value) > MAX_MATRIX_LENGTH:
        raise ApiError(
            "INVALID_BARCODE_VALUE",
            f"{symbology} values are at most {MAX_MATRIX_LENGTH} characters",
            field="value",
        )
    if any((ord(ch) < 0x20 and ch not in "\t\n\r") or ord(ch) == 0x7F for ch in value):
        raise ApiError(
            "INVALID_BARCODE_VALUE",
            f"{symbology} values must not contain control characters (tab and newlines aside)",
            field="value",
        )


def _linear_length(symbology: str, value: str) -> None:
    if len(value) > MAX_LINEAR_LENGTH:
        raise ApiError(
            "INVALID_BARCODE_VALUE",
            f"{symbology} values are at most {MAX_LINEAR_LENGTH} characters",
            field="value",
        )


def normalize_barcode_value(symbology: str, value: object) -> str:
    """Validate ``value`` for ``symbology`` and return what is to be encoded.

    EAN13/EAN8/UPCA/ITF14: 12/7/11/13 digits get their check digit appended, 13/8/12/14
    digits have it verified; UPCE 7 digits (number system 0 or 1 first) or 8; anything else
    is ``INVALID_EAN``. GS1_128/GS1_DATAMATRIX/GS1_QR: a GS1 element string (:mod:`gs1`),
    returned in its human form, else ``INVALID_GS1`` naming ``details.ai``. ITF: an even
    number of digits. CODE39: ``A-Z 0-9 space - . $ / + %`` (lowercase is refused rather than
    upper-cased, since the printed text would then differ from the request). CODE128, CODE93:
    printable ASCII. CODABAR: ``0-9 - $ : / . +`` between start/stop characters A-D (``A``
    and ``A`` added when none are given). DATAMATRIX/PDF417/AZTEC: up to 1,000 characters of
    text without control characters. QR: any non-empty text. Those failures are
    ``INVALID_BARCODE_VALUE``; a value that is not a
    string is ``INVALID_PARAMETER`` (a JSON number would already have lost leading zeros).
    All name field ``value``; an unknown symbology is ``INVALID_PARAMETER`` on ``format``.
    """
    fmt = _symbology(symbology)
    if not isinstance(value, str):
        raise ApiError("INVALID_PARAMETER", "value must be a string", field="value")
    if fmt in _EAN_LENGTHS:
        return _ean(fmt, value)
    if fmt == "UPCE":
        return _upce(value)
    if fmt in GS1_SYMBOLOGIES:
        limit = GS1_128_MAX_CHARS if fmt == "GS1_128" else MAX_ELEMENT_STRING
        return parse_element_string(value, max_chars=limit).human
    if not value:
        raise ApiError("INVALID_BARCODE_VALUE", "value must not be empty", field="value")
    if fmt in MATRIX_SYMBOLOGIES:
        _matrix_text(fmt, value)
        if not value.strip():
            raise ApiError("INVALID_BARCODE_VALUE", "value must not be blank", field="value")
        return value
    if fmt == "CODABAR":
        return _codabar(value)
    if fmt == "ITF":
        _linear_length(fmt, value)
        if not _DIGITS.fullmatch(value) or len(value) % 2:
            raise ApiError(
                "INVALID_BARCODE_VALUE",
                "ITF encodes digits in pairs: the value needs an even number of digits",
                field="value",
            )
    elif fmt == "CODE39":
        _linear_length(fmt, value)
        if not _CODE39.fullmatch(value):
            raise ApiError(
                "INVALID_BARCODE_VALUE",
                "CODE39 takes uppercase A-Z, digits, space and - . $ / + %",
                field="value",
            )
    elif fmt in ("CODE128", "CODE93"):
        _linear_length(fmt, value)
        if not all(" " <= ch <= "~" for ch in value):
            raise ApiError(
                "INVALID_BARCODE_VALUE",
                f"{fmt} takes printable ASCII characters only",
                field="value",
            )
    elif not value.strip():  # QR
        raise ApiError("INVALID_BARCODE_VALUE", "value must not be blank", field="value")
    return value


def _int(body: Mapping[str, object], key: str, default: int, bounds: tuple[int, int]) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    # bool is an int subclass: `true` is not a width.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("INVALID_PARAMETER", f"{key} must be an integer", field=key)
    low, high = bounds
    if not low <= value <= high:
        raise ApiError("INVALID_PARAMETER", f"{key} must be between {low} and {high}", field=key)
    return value


def _metadata(value: object) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ApiError("INVALID_PARAMETER", "metadata must be an object", field="metadata")
    # A flat map of scalars (the spec's BarcodeMetadata): one precise type per value, which
    # every client generator can express; a nested object or array is refused, naming it.
    for name, item in value.items():
        if isinstance(item, Mapping | list | tuple):
            raise ApiError(
                "INVALID_PARAMETER",
                "metadata values must be strings, numbers, booleans or null",
                field=f"metadata.{name}",
            )
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ApiError(
            "INVALID_PARAMETER", "metadata must be plain JSON", field="metadata"
        ) from None
    if len(encoded.encode("utf-8")) > MAX_METADATA_BYTES:
        raise ApiError(
            "INVALID_PARAMETER", "metadata must be at most 16 KiB as JSON", field="metadata"
        )
    # A decoded copy: the record owns it, later changes to the request body do not leak in.
    copied: dict[str, object] = json.loads(encoded)
    return copied


def parse_barcode_request(body: Mapping[str, object]) -> BarcodeOptions:
    """Validate a barcode generate body and fill in defaults (API.md "Barcodes").

    ``format`` and ``value`` are required (``INVALID_PARAMETER`` if missing); ``output``
    png|svg (default png), ``width`` 100-4096 (400), ``height`` 50-4096 (200), ``show_text``
    bool (true), ``metadata`` any JSON object up to 16 KiB serialised (compact UTF-8 JSON).
    Unknown top-level keys are ignored.
    """
    if body.get("format") is None:
        raise ApiError("INVALID_PARAMETER", "format is required", field="format")
    if body.get("value") is None:
        raise ApiError("INVALID_PARAMETER", "value is required", field="value")
    fmt = _symbology(body.get("format"))
    output = body.get("output")
    if output is None:
        output = DEFAULT_BARCODE.output
    elif not isinstance(output, str) or output.strip().lower() not in OUTPUTS:
        raise ApiError(
            "INVALID_PARAMETER", f"output must be one of: {', '.join(OUTPUTS)}", field="output"
        )
    show_text = body.get("show_text")
    if show_text is not None and not isinstance(show_text, bool):
        raise ApiError("INVALID_PARAMETER", "show_text must be true or false", field="show_text")
    return BarcodeOptions(
        format=fmt,
        value=normalize_barcode_value(fmt, body.get("value")),
        output=output.strip().lower(),
        width=_int(body, "width", DEFAULT_BARCODE.width, WIDTH_RANGE),
        height=_int(body, "height", DEFAULT_BARCODE.height, HEIGHT_RANGE),
        show_text=DEFAULT_BARCODE.show_text if show_text is None else show_text,
        metadata=_metadata(body.get("metadata")),
    )
