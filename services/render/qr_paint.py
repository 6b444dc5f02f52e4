"""The colours a QR design paints with, parsed once and shared by every writer."""

from __future__ import annotations

from dataclasses import dataclass

from services.render.colors import RGB


@dataclass(frozen=True, slots=True)
class Paint:
    """Inks of the data modules (``fg``), the finder rings (``eye``) and the finders' 3x3
    eyes (``eye_inner``) over ``bg``, or over nothing (``transparent``)."""

    fg: RGB
    # A transparent background is checked and verified as white, the surface most codes are
    # printed or shown on (``bg`` is then white, ``transparent`` True).
    bg: RGB
    eye: RGB
    eye_inner: RGB
    transparent: bool = False

    @property
    def single_ink(self) -> bool:
        """True when everything is drawn in ``fg`` (the palette paths apply)."""
        return self.eye == self.fg and self.eye_inner == self.fg
