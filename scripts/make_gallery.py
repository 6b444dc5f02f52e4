"""Write the style gallery into ``docs/gallery/``: one PNG per dot × corner style, colours and
a logo, eye colours and styles, gradients, a transparent background, frames with a call to
action, what ``design.fit`` does to a design that would not scan, and the JPEG, WebP and EPS
formats; ``docs/gallery.md`` shows them. Run: ``make gallery``.

Every file is decoded here with zxing-cpp (EPS through Ghostscript, Debian ``ghostscript``)
and must read back exactly its payload before the page is written: the render service
verifies its own output, but the gallery claims it and so checks what it wrote.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import zxingcpp
from PIL import Image, ImageDraw

from services.render.render_jobs import QRDesign, QRSpec, RenderedImage, render_qr
from services.render.specs import CONTENT_TYPES, Frame, Gradient
from services.runtime.errors import ApiError

DOCS: Final = Path(__file__).resolve().parent.parent / "docs"
OUT: Final = DOCS / "gallery"
DOTS: Final = ("square", "round", "dots", "classy", "classy-rounded")
CORNERS: Final = ("square", "round", "extra-rounded")
PAYLOAD: Final = "https://example.com/qrforge"
# Small files for the repository; every new example is drawn at this width.
EXAMPLE_SIZE: Final = 256
# Ghostscript at 72 dpi draws the EPS's point-sized bounding box at EXAMPLE_SIZE pixels.
EPS_PREVIEW_DPI: Final = 72
GHOSTSCRIPT_TIMEOUT_SECONDS: Final = 60
_QR_ONLY: Final = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])


class GalleryImageError(RuntimeError):
    """A gallery image did not decode to exactly its payload."""


def sample_logo() -> bytes:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 248, 248), fill=(220, 60, 40, 255))
    draw.rectangle((88, 88, 168, 168), fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def eps_preview(eps: bytes) -> bytes:
    """A PNG of the EPS as a print RIP draws it (page cropped to its %%BoundingBox); any
    PostScript error fails the gallery."""
    ghostscript = shutil.which("gs")
    if ghostscript is None:
        raise GalleryImageError(
            "Ghostscript (gs) is needed to check the EPS: bash scripts/test-tools.sh"
        )
    with tempfile.NamedTemporaryFile(suffix=".eps") as file:
        file.write(eps)
        file.flush()
        # The arguments are constants and a temporary file this function wrote.
        done = subprocess.run(  # noqa: S603
            [ghostscript, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m",
             f"-r{EPS_PREVIEW_DPI}", "-dEPSCrop", "-sOutputFile=-", file.name],
            capture_output=True, check=True, timeout=GHOSTSCRIPT_TIMEOUT_SECONDS,
        )  # fmt: skip
    if done.stderr:
        raise GalleryImageError(f"Ghostscript: {done.stderr.decode(errors='replace')}")
    return done.stdout


def decoded_texts(raster: bytes) -> list[str]:
    """Every QR code zxing-cpp reads in a raster file (PNG, JPEG, WebP); transparent pixels
    count as white paper, as on a printed page."""
    opened = Image.open(io.BytesIO(raster))
    opened.load()
    image: Image.Image = opened
    if opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info:
        paper = Image.new("RGBA", opened.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, opened.convert("RGBA"))
    results = zxingcpp.read_barcodes(
        image.convert("L"), formats=_QR_ONLY, text_mode=zxingcpp.TextMode.Plain
    )
    return [result.text for result in results]


def require_payload(name: str, raster: bytes, payload: str) -> None:
    texts = decoded_texts(raster)
    if texts != [payload]:
        raise GalleryImageError(f"{name} decodes to {texts!r}, expected [{payload!r}]")


def save(name: str, image: RenderedImage, payload: str = PAYLOAD) -> str:
    """Writes ``image`` after decoding it to ``payload``; the path the page links to."""
    if image.content_type != CONTENT_TYPES[Path(name).suffix.lstrip(".")]:
        raise GalleryImageError(f"{name} is {image.content_type}")
    require_payload(name, image.data, payload)
    (OUT / name).write_bytes(image.data)
    return f"gallery/{name}"


def save_eps(name: str, image: RenderedImage, payload: str = PAYLOAD) -> tuple[str, str]:
    """Writes the EPS and its PNG preview (``<name>.png``) after decoding the preview to
    ``payload``; the paths of both."""
    if image.content_type != CONTENT_TYPES["eps"]:
        raise GalleryImageError(f"{name} is {image.content_type}")
    preview = eps_preview(image.data)
    require_payload(name, preview, payload)
    (OUT / name).write_bytes(image.data)
    (OUT / f"{name}.png").write_bytes(preview)
    return f"gallery/{name}", f"gallery/{name}.png"


def example(design: QRDesign, image_format: str = "png", level: str = "M") -> RenderedImage:
    spec = QRSpec(
        payload=PAYLOAD,
        format=image_format,
        size=EXAMPLE_SIZE,
        error_correction=level,
        design=design,
    )
    return render_qr(spec)


def style_grid() -> list[str]:
    rows = ["| dot \\ corner | " + " | ".join(CORNERS) + " |", "|---" * (len(CORNERS) + 1) + "|"]
    for dot in DOTS:
        cells = []
        for corner in CORNERS:
            spec = QRSpec(
                payload=PAYLOAD, size=240, design=QRDesign(dot_style=dot, corner_style=corner)
            )
            cells.append(f"![{dot} {corner}]({save(f'{dot}-{corner}.png', render_qr(spec))})")
        rows.append(f"| {dot} | " + " | ".join(cells) + " |")
    return rows


def colours_and_logo() -> list[str]:
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
    colours_path = save(
        "colours.png", render_qr(QRSpec(payload=PAYLOAD, size=320, design=coloured))
    )
    logo_spec = QRSpec(payload=PAYLOAD, size=320, error_correction="H", design=with_logo)
    return [
        "Colours (`fg_color` #1a237e on #fff8e1) and a 20 % logo at level H:",
        "",
        f"![colours]({colours_path}) ![logo]({save('logo.png', render_qr(logo_spec))})",
    ]


def table(examples: list[tuple[str, str]]) -> list[str]:
    """A one-row table: each example's image (named by its file) over its caption."""
    return [
        "| " + " | ".join(f"![{Path(path).stem}]({path})" for path, _ in examples) + " |",
        "|---" * len(examples) + "|",
        "| " + " | ".join(caption for _, caption in examples) + " |",
    ]


def eyes() -> list[str]:
    examples = [
        (
            save("eye-color.png", example(QRDesign(eye_color="#d81b60"))),
            '`eye_color: "#d81b60"`',
        ),
        (
            save(
                "eye-inner-color.png",
                example(
                    QRDesign(
                        dot_style="round",
                        corner_style="extra-rounded",
                        eye_color="#1a237e",
                        eye_inner_color="#d81b60",
                    )
                ),
            ),
            '`eye_color: "#1a237e"`, `eye_inner_color: "#d81b60"`, corners extra-rounded',
        ),
        (
            save(
                "eye-inner-round.png",
                example(QRDesign(dot_style="dots", eye_inner_style="round")),
            ),
            '`eye_inner_style: "round"`, square corners, dots',
        ),
        (
            save(
                "eye-inner-square.png",
                example(
                    QRDesign(
                        dot_style="classy-rounded",
                        corner_style="extra-rounded",
                        eye_inner_style="square",
                        eye_inner_color="#e65100",
                    )
                ),
            ),
            '`eye_inner_style: "square"` in extra-rounded corners, `eye_inner_color: "#e65100"`',
        ),
    ]
    return [
        "## Eyes",
        "",
        "The finder patterns' outer ring (`eye_color`) and 3×3 centre (`eye_inner_color`) take",
        "their own colours (default `fg_color`); `eye_inner_style` draws the centre square or",
        "round whatever `corner_style` draws the ring with.",
        "",
        *table(examples),
    ]


def gradients() -> list[str]:
    examples = [
        (
            save(
                "gradient-linear.png",
                example(
                    QRDesign(
                        dot_style="round",
                        gradient=Gradient("linear", ("#1a237e", "#00897b"), angle=45),
                    )
                ),
            ),
            '`linear`, `["#1a237e", "#00897b"]`, angle 45',
        ),
        (
            save(
                "gradient-linear-3.png",
                example(
                    QRDesign(
                        dot_style="classy",
                        corner_style="round",
                        gradient=Gradient("linear", ("#b71c1c", "#4a148c", "#0d47a1"), angle=90),
                    )
                ),
            ),
            '`linear`, `["#b71c1c", "#4a148c", "#0d47a1"]`, angle 90',
        ),
        (
            save(
                "gradient-radial.png",
                example(
                    QRDesign(
                        dot_style="dots",
                        corner_style="extra-rounded",
                        gradient=Gradient("radial", ("#4a148c", "#1565c0", "#004d40")),
                    )
                ),
            ),
            '`radial`, `["#4a148c", "#1565c0", "#004d40"]`',
        ),
        (
            save(
                "gradient-eyes.png",
                example(
                    QRDesign(
                        dot_style="round",
                        corner_style="round",
                        gradient=Gradient("radial", ("#00695c", "#1a237e")),
                        eye_color="#d81b60",
                    )
                ),
            ),
            '`radial` `["#00695c", "#1a237e"]` with `eye_color: "#d81b60"`',
        ),
    ]
    return [
        "## Gradients",
        "",
        "`gradient: {type, colors (2-3), angle}` colours the modules (and the eyes, unless they",
        "have their own colours); every stop is checked for contrast against the background.",
        "",
        *table(examples),
    ]


def transparent_background() -> list[str]:
    examples = [
        (
            save(
                "transparent.png",
                example(QRDesign(fg_color="#1a237e", bg_color="transparent", dot_style="round")),
            ),
            '`bg_color: "transparent"` (PNG with alpha)',
        ),
        (
            save(
                "transparent-gradient.png",
                example(
                    QRDesign(
                        bg_color="transparent",
                        dot_style="classy-rounded",
                        corner_style="extra-rounded",
                        gradient=Gradient("linear", ("#1a237e", "#00695c")),
                    )
                ),
            ),
            '`bg_color: "transparent"` with a linear gradient',
        ),
    ]
    return [
        "## Transparent background",
        "",
        "No background is drawn (png, webp and the vector formats; a JPEG, which has no alpha,",
        "gets white): the code takes the colour of the surface it is printed or shown on,",
        "which must be light. The images are decoded here over white.",
        "",
        *table(examples),
    ]


def frames() -> list[str]:
    flagship = QRDesign(
        dot_style="round",
        corner_style="extra-rounded",
        gradient=Gradient("linear", ("#1a237e", "#b71c1c"), angle=45),
        logo=sample_logo(),
        logo_size=0.2,
        frame=Frame("banner-bottom", "SCAN ME"),
    )
    examples = [
        (
            save(
                "frame-banner-bottom.png",
                example(QRDesign(frame=Frame("banner-bottom", "SCAN ME"))),
            ),
            '`banner-bottom`, `"SCAN ME"`, default colours',
        ),
        (
            save(
                "frame-banner-top.png",
                example(
                    QRDesign(
                        fg_color="#004d40",
                        dot_style="classy-rounded",
                        corner_style="round",
                        frame=Frame("banner-top", "SEE THE MENU", color="#d81b60"),
                    )
                ),
            ),
            '`banner-top`, `"SEE THE MENU"`, `color: "#d81b60"`',
        ),
        (
            save(
                "frame-box.png",
                example(
                    QRDesign(
                        fg_color="#1a237e",
                        dot_style="dots",
                        corner_style="extra-rounded",
                        frame=Frame("box", "JOIN OUR WIFI", color="#1a237e", text_color="#ffeb3b"),
                    )
                ),
            ),
            '`box`, `"JOIN OUR WIFI"`, `text_color: "#ffeb3b"`',
        ),
        (
            save("frame-gradient-logo.png", example(flagship, level="H")),
            "`banner-bottom` with a linear gradient and a 20 % logo at H",
        ),
    ]
    return [
        "## Frames",
        "",
        "`frame: {style, text, color, text_color}` puts a call to action around the code, in",
        "the shipped font (text as outlines in the vector formats). `size` stays the width; the",
        "band adds 18 % of it in height (the box draws the code smaller inside its border).",
        "`color` defaults to the code's ink and `text_color` to black or white, whichever reads",
        "better on it; a text colour below 3:1 on its band is refused.",
        "",
        *table(examples),
    ]


def strict_refusal(spec: QRSpec) -> str:
    """What ``fit: "strict"`` answers for the same design (an ApiError is what is shown)."""
    try:
        render_qr(dataclasses.replace(spec, fit="strict"))
    except ApiError as error:
        return f"422 `{error.code}`"
    return "accepted as is"


def fitted(name: str, spec: QRSpec, asked: str, expected_warnings: tuple[str, ...]) -> str:
    """A row of the fit table; the page's prose describes ``expected_warnings``, so other
    warnings fail the gallery rather than contradict it."""
    image = render_qr(spec)
    codes = tuple(warning.code for warning in image.warnings)
    if codes != expected_warnings:
        raise GalleryImageError(f"{name} warns {codes!r}, expected {expected_warnings!r}")
    warnings = "<br>".join(f"`{warning.code}`: {warning.message}" for warning in image.warnings)
    applied = f"`{{error_correction: {image.error_correction}, logo_size: {image.logo_size:g}}}`"
    return (
        f"| ![{name}]({save(name, image)}) | {asked} | {applied} | {warnings or '(none)'} | "
        f"{strict_refusal(spec)} |"
    )


def fit_examples() -> list[str]:
    big_logo = QRSpec(
        payload=PAYLOAD,
        size=EXAMPLE_SIZE,
        design=QRDesign(fg_color="#004d40", dot_style="round", logo=sample_logo(), logo_size=0.4),
    )
    level_set = QRSpec(
        payload=PAYLOAD,
        size=EXAMPLE_SIZE,
        error_correction="M",
        error_correction_requested=True,
        design=QRDesign(dot_style="classy-rounded", logo=sample_logo(), logo_size=0.3),
    )
    light_on_dark = QRSpec(
        payload=PAYLOAD,
        size=EXAMPLE_SIZE,
        design=QRDesign(
            fg_color="#ffffff", bg_color="#0d1b2a", dot_style="round", corner_style="round"
        ),
    )
    return [
        '## Fit (`design.fit: "auto"`, the default)',
        "",
        "A design that would not scan is made to scan instead of refused: the level is raised",
        "when the request did not set one, the logo is shrunk to the largest size that still",
        "scans, and light-on-dark is accepted. Responses say what was drawn in `applied` and",
        'why in `warnings` (below: what render returned for each image). `fit: "strict"`',
        "refuses the same designs.",
        "",
        '| image | asked | `applied` | `warnings` | `fit: "strict"` |',
        "|---|---|---|---|---|",
        fitted(
            "fit-logo-reduced.png",
            big_logo,
            "`logo_size: 0.4`, level not set (M)",
            ("LEVEL_RAISED", "LOGO_REDUCED"),
        ),
        fitted(
            "fit-logo-level-set.png",
            level_set,
            "`logo_size: 0.3`, `error_correction: M`",
            ("LOGO_REDUCED",),
        ),
        fitted(
            "fit-inverted.png",
            light_on_dark,
            "`fg_color: #ffffff` on `#0d1b2a`",
            ("INVERTED_COLORS",),
        ),
    ]


def formats() -> list[str]:
    jpeg_path = save(
        "format.jpeg",
        example(
            QRDesign(
                dot_style="round",
                corner_style="extra-rounded",
                gradient=Gradient("linear", ("#1a237e", "#00897b"), angle=45),
            ),
            image_format="jpeg",
        ),
    )
    webp_path = save(
        "format.webp",
        example(
            QRDesign(dot_style="classy", eye_color="#1a237e", eye_inner_color="#d81b60"),
            image_format="webp",
        ),
    )
    eps_path, eps_preview_path = save_eps(
        "format.eps",
        example(
            QRDesign(
                dot_style="round",
                corner_style="round",
                gradient=Gradient("radial", ("#4a148c", "#1565c0")),
                eye_color="#d81b60",
            ),
            image_format="eps",
        ),
    )
    return [
        "## Formats",
        "",
        "`format` takes `jpeg`, `webp` and `eps` besides png, svg and pdf, with every design",
        "option. The EPS (vector, a real gradient) is linked; the image shown is Ghostscript's",
        "rendering of it, which is what was decoded.",
        "",
        *table(
            [
                (jpeg_path, "`jpeg`, linear gradient"),
                (webp_path, "`webp`, eye colours"),
                (eps_preview_path, f"[`eps`]({eps_path}), radial gradient, `eye_color`"),
            ]
        ),
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = [
        "# Style gallery",
        "",
        "Every image below was rendered by the render service's code and decoded back to its",
        f"payload ({PAYLOAD}) by zxing-cpp before it was written (the EPS through",
        "Ghostscript). Regenerate with `make gallery`.",
        "",
        "## Dot and corner styles",
        "",
        *style_grid(),
        "",
        *colours_and_logo(),
        "",
        *eyes(),
        "",
        *gradients(),
        "",
        *transparent_background(),
        "",
        *frames(),
        "",
        *fit_examples(),
        "",
        *formats(),
        "",
    ]
    (DOCS / "gallery.md").write_text("\n".join(rows), encoding="utf-8")
    print(f"wrote {DOCS / 'gallery.md'}")


if __name__ == "__main__":
    main()
