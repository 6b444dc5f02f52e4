"""The colours a QR design paints with, parsed once and shared by every writer, and the
geometry of a gradient, which the raster and the vector writers must agree on exactly (the
raster verifies what the vectors draw)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from services.render.colors import RGB

# An ink: a colour, or None for the modules' own ink (fg_color or the gradient).
Ink = RGB | None


# Offsets a raster gradient distinguishes: finer than 8-bit colour steps over any range.
_TABLE_STEPS: Final = 1024


@lru_cache(maxsize=64)
def _gradient_table(stops: tuple[RGB, ...]) -> npt.NDArray[np.uint8]:
    """(_TABLE_STEPS, 3) colours at evenly spaced offsets: linear interpolation between the
    stops in sRGB, as SVG, PDF and PostScript shadings interpolate."""
    t = np.linspace(0.0, 1.0, _TABLE_STEPS)
    colors = np.array(stops, dtype=np.float64)
    offsets = np.linspace(0.0, 1.0, len(stops))
    table = np.stack([np.interp(t, offsets, colors[:, channel]) for channel in range(3)], 1)
    out: npt.NDArray[np.uint8] = np.rint(table).astype(np.uint8)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class GradientPaint:
    """A parsed gradient: ``stops`` evenly spaced from offset 0 to 1."""

    type: str  # linear | radial
    stops: tuple[RGB, ...]
    angle: int

    def offsets(self) -> tuple[float, ...]:
        last = len(self.stops) - 1
        return tuple(i / last for i in range(len(self.stops)))

    def linear_ends(self, n: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """Start and end of a linear gradient over an ``n`` x ``n`` symbol (module units):
        through the centre at ``angle``, long enough that the corners reach offsets 0 and 1."""
        theta = math.radians(self.angle)
        dx, dy = math.cos(theta), math.sin(theta)
        half = (abs(dx) + abs(dy)) * n / 2
        c = n / 2
        return (c - dx * half, c - dy * half), (c + dx * half, c + dy * half)

    def radius(self, n: float) -> float:
        """A radial gradient's radius: from the centre to the symbol's corners."""
        return n / math.sqrt(2)

    def offset_at(
        self, xs: npt.NDArray[np.floating[Any]], ys: npt.NDArray[np.floating[Any]], n: float
    ) -> npt.NDArray[np.float32]:
        """Offset 0..1 at module coordinates (broadcast ``xs`` against ``ys``)."""
        if self.type == "radial":
            c = n / 2
            t = np.sqrt((xs - c) ** 2 + (ys - c) ** 2) / self.radius(n)
        else:
            (x0, y0), (x1, y1) = self.linear_ends(n)
            vx, vy = x1 - x0, y1 - y0
            t = ((xs - x0) * vx + (ys - y0) * vy) / (vx * vx + vy * vy)
        clipped: npt.NDArray[np.float32] = np.clip(t, 0.0, 1.0).astype(np.float32)
        return clipped

    def colors_at(self, t: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        """(..., 3) colours at offsets ``t``, looked up in :func:`_gradient_table` (a
        gather from a small table is ~20x faster than interpolating 16 M pixels)."""
        index = np.rint(t * (_TABLE_STEPS - 1)).astype(np.uint16)
        out: npt.NDArray[np.uint8] = _gradient_table(self.stops)[index]
        return out


@dataclass(frozen=True, slots=True)
class Paint:
    """Inks of the data modules (``fg``, or ``gradient``), the finder rings (``eye``) and the
    finders' 3x3 eyes (``eye_inner``; None: as the modules) over ``bg``, or over nothing
    (``transparent``)."""

    fg: RGB
    # A transparent background is checked and verified as white, the surface most codes are
    # printed or shown on (``bg`` is then white, ``transparent`` True).
    bg: RGB
    eye: Ink = None
    eye_inner: Ink = None
    transparent: bool = False
    gradient: GradientPaint | None = None
    # Light-on-dark designs put the logo on a plate of the modules' light colour: on the dark
    # background zbar misread ~3 % of phone photos of such codes with a two-tone logo (under
    # the 97 % bar of every reader); on a plate, as a logo on a light code, it reads them.
    logo_plate: RGB | None = None

    @property
    def logo_backdrop(self) -> RGB:
        """The colour a logo is composited on: its plate, else the background."""
        return self.bg if self.logo_plate is None else self.logo_plate

    @property
    def single_ink(self) -> bool:
        """True when everything is drawn in ``fg`` (the palette paths apply)."""
        return (
            self.gradient is None
            and self.eye in (None, self.fg)
            and (self.eye_inner in (None, self.fg))
        )

    def own(self, ink: Ink) -> Ink:
        """``ink`` as drawn: None (the modules' ink) for a colour the modules already use."""
        return None if ink is None or (self.gradient is None and ink == self.fg) else ink
