"""2D barcodes (DATAMATRIX, PDF417, AZTEC and the GS1 DataMatrix and QR Code carriers): value ->
module matrix through libzint, then placed in a ``width`` x ``height`` px box.

The box is a bounding box: the symbol keeps its aspect (square modules; PDF417's rows three
modules high, the proportion ISO/IEC 15438 recommends) and takes the largest whole number of
pixels per module that fits it with its quiet zone, centred. Quiet zones in modules: DataMatrix
ISO/IEC 16022 asks 1X (2 here: more than the minimum costs nothing in a box that is mostly
margin), PDF417 ISO/IEC 15438 2X, Aztec none (ISO/IEC 24778; 2 here for the same reason), QR
Code 4X (ISO/IEC 18004).

GS1 carriers take the element string in its human form; libzint checks it against its own AI
table as well and puts FNC1 first and after each variable-length field that is not last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import zint

from services.render.barcode_pattern import GS1_INPUT, gs1_error, zint_rows
from services.runtime.errors import ApiError

MATRIX_SYMBOLOGIES: Final = ("DATAMATRIX", "PDF417", "AZTEC", "GS1_DATAMATRIX", "GS1_QR")
GS1_MATRIX: Final = ("GS1_DATAMATRIX", "GS1_QR")
_SYMBOLOGY: Final[dict[str, zint.Symbology]] = {
    "DATAMATRIX": zint.Symbology.DATAMATRIX,
    "PDF417": zint.Symbology.PDF417,
    "AZTEC": zint.Symbology.AZTEC,
    "GS1_DATAMATRIX": zint.Symbology.DATAMATRIX,
    "GS1_QR": zint.Symbology.QRCODE,
}
QUIET_ZONE: Final[dict[str, int]] = {
    "DATAMATRIX": 2,
    "PDF417": 2,
    "AZTEC": 2,
    "GS1_DATAMATRIX": 2,
    "GS1_QR": 4,
}
_ROW_MODULES: Final[dict[str, int]] = {"PDF417": 3}
# UTF-8 announced by ECI 26, as for QR codes (see qr_matrix).
_UTF8_ECI: Final = 26
_QR_LEVEL_M: Final = 2
_MAX_CHARS: Final = 1000


@dataclass(frozen=True, slots=True)
class ModuleMatrix:
    """``dark[row, col]``; each row is ``row_modules`` modules high when drawn."""

    symbology: str
    value: str
    dark: npt.NDArray[np.bool_]
    row_modules: int
    quiet_zone: int

    @property
    def columns(self) -> int:
        return int(self.dark.shape[1])

    @property
    def height_modules(self) -> int:
        return int(self.dark.shape[0]) * self.row_modules


def encode_matrix(symbology: str, value: str) -> ModuleMatrix:
    """Encode ``value``; raises ApiError INVALID_BARCODE_VALUE (or INVALID_GS1) when the
    symbology cannot carry it."""
    if symbology not in _SYMBOLOGY:
        raise ApiError("INVALID_PARAMETER", f"unknown barcode format {symbology!r}", field="format")
    if not value or len(value) > _MAX_CHARS:
        raise ApiError(
            "INVALID_BARCODE_VALUE", f"value must be 1..{_MAX_CHARS} characters", field="value"
        )
    symbol = zint.Symbol()
    symbol.symbology = _SYMBOLOGY[symbology]
    if symbology == "GS1_QR":
        symbol.option_1 = _QR_LEVEL_M
    if symbology in GS1_MATRIX:
        symbol.input_mode = GS1_INPUT
        # libzint only warns about a bad check digit or date unless warnings fail.
        symbol.warn_level = zint.WarningLevel.FAIL_ALL
    elif not value.isascii():
        symbol.input_mode = zint.InputMode.UNICODE
        symbol.eci = _UTF8_ECI
    try:
        symbol.encode(value.encode("utf-8"))
    except RuntimeError as exc:
        if symbology in GS1_MATRIX:
            raise gs1_error(str(exc)) from exc
        raise ApiError(
            "INVALID_BARCODE_VALUE",
            f"value cannot be encoded as {symbology}: {exc}",
            field="value",
        ) from exc
    return ModuleMatrix(
        symbology=symbology,
        value=value,
        dark=zint_rows(symbol),
        row_modules=_ROW_MODULES.get(symbology, 1),
        quiet_zone=QUIET_ZONE[symbology],
    )


@dataclass(frozen=True, slots=True)
class MatrixLayout:
    """Where the symbol goes: ``module_px`` per module, its top-left module at ``x0, y0``."""

    width: int
    height: int
    module_px: int
    x0: int
    y0: int
    matrix: ModuleMatrix

    def rects(self) -> list[tuple[int, int, int, int]]:
        """Dark modules as (x, y, w, h) px rectangles, runs of a row merged."""
        m, matrix = self.module_px, self.matrix
        row_px = m * matrix.row_modules
        out = []
        for r, row in enumerate(matrix.dark):
            padded = np.concatenate(([False], row, [False]))
            edges = np.flatnonzero(padded[1:] != padded[:-1]).tolist()
            y = self.y0 + r * row_px
            for start, end in zip(edges[::2], edges[1::2], strict=True):
                out.append((self.x0 + start * m, y, (end - start) * m, row_px))
        return out


def layout_matrix(matrix: ModuleMatrix, width: int, height: int) -> MatrixLayout:
    """The largest whole-pixel module that fits the box with the quiet zone, centred.

    Raises ApiError INVALID_PARAMETER naming the side that is too small for one pixel per
    module.
    """
    q2 = 2 * matrix.quiet_zone
    by_width = width // (matrix.columns + q2)
    by_height = height // (matrix.height_modules + q2)
    m = min(by_width, by_height)
    if m < 1:
        side, needed = (
            ("width", matrix.columns + q2)
            if by_width < 1
            else ("height", matrix.height_modules + q2)
        )
        raise ApiError(
            "INVALID_PARAMETER",
            f"{side} is too small for this {matrix.symbology} symbol: it needs {needed} px "
            "(one per module, quiet zone included)",
            field=side,
        )
    x0 = (width - matrix.columns * m) // 2
    y0 = (height - matrix.height_modules * m) // 2
    return MatrixLayout(width=width, height=height, module_px=m, x0=x0, y0=y0, matrix=matrix)


def draw_matrix(layout: MatrixLayout) -> npt.NDArray[np.uint8]:
    """The layout as a grey image (0 black .. 255 white)."""
    matrix, m = layout.matrix, layout.module_px
    symbol = np.where(matrix.dark, np.uint8(0), np.uint8(255))
    symbol = symbol.repeat(m * matrix.row_modules, axis=0).repeat(m, axis=1)
    canvas = np.full((layout.height, layout.width), 255, dtype=np.uint8)
    h, w = symbol.shape
    canvas[layout.y0 : layout.y0 + h, layout.x0 : layout.x0 + w] = symbol
    return canvas
