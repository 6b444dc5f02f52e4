"""design.frame in JSON bodies and the embed query (API.md "Designs v1.1"): parsed,
normalised, stored and sent to render; what render could not draw is refused by field; the
record shows raster images' width and height (a frame's band adds height)."""

from __future__ import annotations

import pytest

from services.gateway.backends.render import request_from_options, stored_design
from services.gateway.qrcodes.options import Frame, parse_qr_options, parse_qr_query
from services.gateway.qrcodes.records import raster_dimensions
from services.runtime.errors import ApiError


def test_a_frame_is_parsed_normalised_stored_and_sent() -> None:
    options = parse_qr_options(
        {
            "design": {
                "frame": {
                    "style": "Box",
                    "text": "SCAN ME",
                    "color": "#1A237E",
                    "text_color": "#fd0",
                }
            }
        }
    )
    assert options.design.frame == Frame("box", "SCAN ME", "#1a237e", "#ffdd00")
    assert stored_design(options)["frame"] == {
        "style": "box",
        "text": "SCAN ME",
        "color": "#1a237e",
        "text_color": "#ffdd00",
    }
    sent = request_from_options("x", options).design.frame
    assert (sent.style, sent.text, sent.color, sent.text_color) == (
        "box",
        "SCAN ME",
        "#1a237e",
        "#ffdd00",
    )


def test_frame_defaults() -> None:
    options = parse_qr_options({"design": {"frame": {"text": "SCAN ME"}}})
    assert options.design.frame == Frame("banner-bottom", "SCAN ME", None, None)
    assert stored_design(options)["frame"] == {"style": "banner-bottom", "text": "SCAN ME"}
    sent = request_from_options("x", options).design.frame
    assert (sent.color, sent.text_color) == ("", "")
    unframed = parse_qr_options({})
    assert "frame" not in stored_design(unframed)
    assert not request_from_options("x", unframed).design.HasField("frame")


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ("SCAN ME", "INVALID_PARAMETER", "design.frame"),
        ({"style": "ribbon"}, "INVALID_PARAMETER", "design.frame.style"),
        ({"style": 3}, "INVALID_PARAMETER", "design.frame.style"),
        ({"text": "X" * 31}, "INVALID_PARAMETER", "design.frame.text"),
        ({"text": "X" * 100_000}, "INVALID_PARAMETER", "design.frame.text"),
        ({"text": "SCAN MÉ"}, "INVALID_PARAMETER", "design.frame.text"),
        ({"text": "SCAN\nME"}, "INVALID_PARAMETER", "design.frame.text"),
        ({"text": "📷 SCAN"}, "INVALID_PARAMETER", "design.frame.text"),
        ({"text": 7}, "INVALID_PARAMETER", "design.frame.text"),
        ({"color": "navy"}, "INVALID_COLOR", "design.frame.color"),
        ({"text_color": "transparent"}, "INVALID_COLOR", "design.frame.text_color"),
        ({"font": "Arial"}, "INVALID_PARAMETER", "design.frame.font"),
    ],
)
def test_bad_frames_are_refused(frame: object, code: str, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_qr_options({"design": {"frame": frame}})
    assert (caught.value.code, caught.value.field) == (code, field)


def test_thirty_printable_characters_are_taken() -> None:
    text = " !\"#$%&'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~"[:30]
    frame = parse_qr_options({"design": {"frame": {"text": text}}}).design.frame
    assert frame is not None and frame.text == text


def test_the_embed_query_takes_a_frame() -> None:
    _, _, options = parse_qr_query(
        {
            "type": "text",
            "content": "x",
            "frame": "banner-top",
            "frame_text": "SCAN ME",
            "frame_color": "1a237e",
            "frame_text_color": "#ffffff",
        }
    )
    assert options.design.frame == Frame("banner-top", "SCAN ME", "#1a237e", "#ffffff")
    _, _, plain = parse_qr_query({"type": "text", "content": "x", "frame_text": "ignored"})
    assert plain.design.frame is None
    with pytest.raises(ApiError) as caught:
        parse_qr_query({"type": "text", "content": "x", "frame": "box", "frame_text": "é"})
    assert caught.value.field == "design.frame.text"


def test_raster_dimensions() -> None:
    banner = {"frame": {"style": "banner-bottom", "text": "SCAN ME"}}
    assert raster_dimensions("png", 400, banner) == {"width": 400, "height": 472}
    assert raster_dimensions("webp", 512, {"frame": {"style": "box"}}) == {
        "width": 512,
        "height": 512 + round(0.18 * 512),
    }
    assert raster_dimensions("jpeg", 400, {"frame": {"style": "none"}}) == {
        "width": 400,
        "height": 400,
    }
    assert raster_dimensions("png", 400, {}) == {"width": 400, "height": 400}
    assert raster_dimensions("svg", 400, banner) == {}
