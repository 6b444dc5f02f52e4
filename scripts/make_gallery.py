"""Write the style gallery into ``docs/gallery/``: one PNG per dot × corner style, a colour
and a logo example, and ``docs/gallery.md`` showing them. Run: ``make gallery``."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from services.render.render_jobs import QRDesign, QRSpec, render_qr
from services.render.specs import RenderedImage

DOCS = Path(__file__).resolve().parent.parent / "docs"
OUT = DOCS / "gallery"
DOTS = ("square", "round", "dots", "classy", "classy-rounded")
CORNERS = ("square", "round", "extra-rounded")
PAYLOAD = "https://example.com/qrforge"


def sample_logo() -> bytes:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 248, 248), fill=(220, 60, 40, 255))
    draw.rectangle((88, 88, 168, 168), fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save(name: str, image: RenderedImage) -> str:
    (OUT / name).write_bytes(image.data)
    return f"gallery/{name}"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = [
        "# Style gallery",
        "",
        "Every image below was rendered by the render service's code and",
        "verified to decode before it was written.",
        "",
    ]
    rows += ["| dot \\ corner | " + " | ".join(CORNERS) + " |", "|---" * (len(CORNERS) + 1) + "|"]
    for dot in DOTS:
        cells = []
        for corner in CORNERS:
            spec = QRSpec(
                payload=PAYLOAD, size=240, design=QRDesign(dot_style=dot, corner_style=corner)
            )
            cells.append(f"![{dot} {corner}]({save(f'{dot}-{corner}.png', render_qr(spec))})")
        rows.append(f"| {dot} | " + " | ".join(cells) + " |")
    coloured = QRDesign(
        fg_color="#1a237e", bg_color="#fff8e1", dot_style="round", corner_style="extra-rounded"
    )
    with_logo = QRDesign(
        fg_color="#004d40",
        dot_style="classy-rounded",
        corner_style="round",
        logo=sample_logo(),
        logo_size=0.2,
    )
    rows += [
        "",
        "Colours (`fg_color` #1a237e on #fff8e1) and a 20 % logo at level H:",
        "",
        f"![colours]({save('colours.png', render_qr(QRSpec(payload=PAYLOAD, size=320, design=coloured)))}) "
        f"![logo]({save('logo.png', render_qr(QRSpec(payload=PAYLOAD, size=320, error_correction='H', design=with_logo)))})",
        "",
    ]
    (DOCS / "gallery.md").write_text("\n".join(rows), encoding="utf-8")
    print(f"wrote {DOCS / 'gallery.md'}")


if __name__ == "__main__":
    main()
