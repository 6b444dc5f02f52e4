"""QR rendering options: defaults, aliases, range edges, JSON types, and the GET query form."""

from __future__ import annotations

import base64
import dataclasses
import io

import pytest
from PIL import Image

from services.gateway.backends.render import request_from_options, stored_design
from services.gateway.qrcodes.options import (
    Design,
    QROptions,
    parse_qr_options,
    parse_qr_query,
    with_logo_bytes,
)
from services.runtime.errors import ApiError


def png_bytes(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def error_of(body: dict[str, object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_qr_options(body)
    return info.value


def query_error_of(query: dict[str, str]) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_qr_query(query)
    return info.value


def test_defaults() -> None:
    options = parse_qr_options({"type": "url", "content": "https://example.com"})
    assert options == QROptions()
    assert options.format == "png"
    assert options.size == 512
    assert options.error_correction == "M"
    assert options.quiet_zone == 4
    assert options.name is None
    assert options.include_image is False
    assert options.design == Design(
        fg_color="#000000", bg_color="#ffffff", dot_style="square", corner_style="square"
    )
    assert options.design.logo_size == 0.2
    assert not options.design.has_logo


def test_nulls_mean_defaults() -> None:
    body: dict[str, object] = {
        key: None
        for key in ("format", "size", "error_correction", "quiet_zone", "name", "include_image")
    }
    body["design"] = {"fg_color": None, "logo_size": None, "logo_url": None}
    assert parse_qr_options(body) == QROptions()


def test_options_are_frozen() -> None:
    options = parse_qr_options({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.size = 1  # type: ignore[misc]


def test_full_body() -> None:
    options = parse_qr_options(
        {
            "format": "SVG",
            "size": 1024,
            "error_correction": "q",
            "quiet_zone": 2,
            "name": "Menu",
            "include_image": True,
            "design": {
                "fg_color": "#E11D48",
                "bg_color": "#fff",
                "dot_style": "classy-rounded",
                "corner_style": "extra-rounded",
                "logo_size": 0.25,
            },
        }
    )
    assert options == QROptions(
        format="svg",
        size=1024,
        error_correction="Q",
        quiet_zone=2,
        name="Menu",
        include_image=True,
        design=Design(
            fg_color="#e11d48",
            bg_color="#ffffff",
            dot_style="classy-rounded",
            corner_style="extra-rounded",
            logo_size=0.25,
        ),
        error_correction_requested=True,
    )


@pytest.mark.parametrize(
    ("design", "attribute", "expected"),
    [
        ({"dot_style": "rounded"}, "dot_style", "round"),
        ({"dot_style": "Round"}, "dot_style", "round"),
        ({"dot_style": "dots"}, "dot_style", "dots"),
        ({"corner_style": "dot"}, "corner_style", "round"),
        ({"corner_style": "square"}, "corner_style", "square"),
        ({"fg_color": "#abc"}, "fg_color", "#aabbcc"),
        ({"bg_color": "#AbCdEf"}, "bg_color", "#abcdef"),
    ],
)
def test_aliases_and_normalisation(
    design: dict[str, object], attribute: str, expected: str
) -> None:
    assert getattr(parse_qr_options({"design": design}).design, attribute) == expected


@pytest.mark.parametrize(
    ("body", "attribute", "value"),
    [
        ({"size": 100}, "size", 100),
        ({"size": 4096}, "size", 4096),
        ({"size": 512.0}, "size", 512),
        ({"quiet_zone": 0}, "quiet_zone", 0),
        ({"quiet_zone": 20}, "quiet_zone", 20),
        ({"name": "n" * 200}, "name", "n" * 200),
        ({"format": "pdf"}, "format", "pdf"),
        ({"error_correction": "L"}, "error_correction", "L"),
    ],
)
def test_range_edges_accepted(body: dict[str, object], attribute: str, value: object) -> None:
    assert getattr(parse_qr_options(body), attribute) == value


@pytest.mark.parametrize("logo_size", [0.1, 0.4, 0.2])
def test_logo_size_edges_accepted(logo_size: float) -> None:
    assert parse_qr_options({"design": {"logo_size": logo_size}}).design.logo_size == logo_size


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"size": 99}, "INVALID_PARAMETER", "size"),
        ({"size": 4097}, "INVALID_PARAMETER", "size"),
        ({"size": True}, "INVALID_PARAMETER", "size"),
        ({"size": "512"}, "INVALID_PARAMETER", "size"),
        ({"size": 512.5}, "INVALID_PARAMETER", "size"),
        ({"quiet_zone": -1}, "INVALID_PARAMETER", "quiet_zone"),
        ({"quiet_zone": 21}, "INVALID_PARAMETER", "quiet_zone"),
        ({"quiet_zone": False}, "INVALID_PARAMETER", "quiet_zone"),
        ({"format": "gif"}, "INVALID_PARAMETER", "format"),
        ({"format": 1}, "INVALID_PARAMETER", "format"),
        ({"error_correction": "X"}, "INVALID_PARAMETER", "error_correction"),
        ({"name": "n" * 201}, "INVALID_PARAMETER", "name"),
        ({"name": 5}, "INVALID_PARAMETER", "name"),
        ({"include_image": "true"}, "INVALID_PARAMETER", "include_image"),
        ({"include_image": 1}, "INVALID_PARAMETER", "include_image"),
        ({"design": "red"}, "INVALID_PARAMETER", "design"),
        ({"design": {"colour": "#000"}}, "INVALID_PARAMETER", "design.colour"),
        ({"design": {"fg_color": "red"}}, "INVALID_COLOR", "design.fg_color"),
        ({"design": {"fg_color": "#abcd"}}, "INVALID_COLOR", "design.fg_color"),
        ({"design": {"bg_color": "000000"}}, "INVALID_COLOR", "design.bg_color"),
        ({"design": {"bg_color": 0}}, "INVALID_COLOR", "design.bg_color"),
        ({"design": {"dot_style": "stars"}}, "INVALID_PARAMETER", "design.dot_style"),
        ({"design": {"corner_style": "dots"}}, "INVALID_PARAMETER", "design.corner_style"),
        ({"design": {"logo_size": 0.09}}, "LOGO_TOO_LARGE", "design.logo_size"),
        ({"design": {"logo_size": 0.41}}, "LOGO_TOO_LARGE", "design.logo_size"),
        ({"design": {"logo_size": True}}, "INVALID_PARAMETER", "design.logo_size"),
        ({"design": {"logo_size": "0.2"}}, "INVALID_PARAMETER", "design.logo_size"),
        (
            {"design": {"logo_url": "http://example.com/l.png"}},
            "LOGO_FETCH_FAILED",
            "design.logo_url",
        ),
        ({"design": {"logo_url": "https://"}}, "LOGO_FETCH_FAILED", "design.logo_url"),
        ({"design": {"logo_url": 5}}, "INVALID_PARAMETER", "design.logo_url"),
        ({"design": {"logo_data": 5}}, "INVALID_PARAMETER", "design.logo_data"),
        ({"design": {"logo_data": "!!not base64!!"}}, "INVALID_PARAMETER", "design.logo_data"),
        (
            {"design": {"logo_data": base64.b64encode(b"just text").decode()}},
            "INVALID_PARAMETER",
            "design.logo_data",
        ),
        (
            {"design": {"logo_url": "https://example.com/l.png", "logo_data": "AAAA"}},
            "INVALID_PARAMETER",
            "design.logo_data",
        ),
    ],
)
def test_rejections(body: dict[str, object], code: str, field: str) -> None:
    err = error_of(body)
    assert (err.code, err.field) == (code, field)
    assert err.status == 400


def test_logo_url_defaults_error_correction_to_h() -> None:
    options = parse_qr_options({"design": {"logo_url": "https://example.com/logo.png"}})
    assert options.error_correction == "H"
    assert options.design.logo_url == "https://example.com/logo.png"
    assert options.design.logo_data is None
    assert options.design.has_logo


def test_explicit_level_wins_over_logo_default() -> None:
    options = parse_qr_options(
        {"error_correction": "Q", "design": {"logo_url": "https://example.com/logo.png"}}
    )
    assert options.error_correction == "Q"


def test_logo_data_is_decoded_and_kept() -> None:
    png = png_bytes()
    options = parse_qr_options({"design": {"logo_data": base64.b64encode(png).decode()}})
    assert options.design.logo_data == png
    assert options.error_correction == "H"


def test_logo_data_as_data_uri() -> None:
    png = png_bytes()
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    assert parse_qr_options({"design": {"logo_data": uri}}).design.logo_data == png


def test_logo_data_over_one_mib_is_too_large() -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024)
    err = error_of({"design": {"logo_data": base64.b64encode(big).decode()}})
    assert (err.code, err.field) == ("LOGO_TOO_LARGE", "design.logo_data")


def test_with_logo_bytes_keeps_the_url() -> None:
    options = parse_qr_options({"design": {"logo_url": "https://example.com/logo.png"}})
    fetched = with_logo_bytes(options, b"bytes")
    assert fetched.design.logo_data == b"bytes"
    assert fetched.design.logo_url == "https://example.com/logo.png"
    assert options.design.logo_data is None


# --- GET /v1/qrcodes/generate ------------------------------------------------------------


def test_query_minimal() -> None:
    qr_type, content, options = parse_qr_query({"type": "url", "content": "https://x.io"})
    assert (qr_type, content, options) == ("url", "https://x.io", QROptions())


def test_query_all_options() -> None:
    qr_type, content, options = parse_qr_query(
        {
            "type": "text",
            "content": "hello",
            "format": "svg",
            "size": "300",
            "error_correction": "h",
            "fg_color": "ff0000",
            "bg_color": "#0f0",
            "dot_style": "rounded",
            "corner_style": "dot",
            "quiet_zone": "0",
            "utm_source": "ignored",
        }
    )
    assert (qr_type, content) == ("text", "hello")
    assert options == QROptions(
        format="svg",
        size=300,
        error_correction="H",
        quiet_zone=0,
        design=Design(
            fg_color="#ff0000", bg_color="#00ff00", dot_style="round", corner_style="round"
        ),
        error_correction_requested=True,
    )


def test_query_object_content_is_json() -> None:
    _, content, _ = parse_qr_query(
        {"type": "wifi", "content": '{"ssid": "Cafe", "encryption": "nopass"}'}
    )
    assert content == {"ssid": "Cafe", "encryption": "nopass"}


def test_query_empty_values_mean_defaults() -> None:
    _, _, options = parse_qr_query({"type": "text", "content": "x", "size": "", "fg_color": ""})
    assert options == QROptions()


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ({"content": "x"}, "INVALID_PARAMETER", "type"),
        ({"type": "fax", "content": "x"}, "INVALID_TYPE", "type"),
        ({"type": "url"}, "INVALID_PARAMETER", "content"),
        ({"type": "wifi", "content": "ssid=Cafe"}, "INVALID_CONTENT", "content"),
        ({"type": "wifi", "content": "[1, 2]"}, "INVALID_CONTENT", "content"),
        ({"type": "text", "content": "x", "size": "abc"}, "INVALID_PARAMETER", "size"),
        ({"type": "text", "content": "x", "size": "1_000"}, "INVALID_PARAMETER", "size"),
        ({"type": "text", "content": "x", "size": "+500"}, "INVALID_PARAMETER", "size"),
        ({"type": "text", "content": "x", "size": "99"}, "INVALID_PARAMETER", "size"),
        ({"type": "text", "content": "x", "quiet_zone": "21"}, "INVALID_PARAMETER", "quiet_zone"),
        ({"type": "text", "content": "x", "fg_color": "red"}, "INVALID_COLOR", "design.fg_color"),
        (
            {"type": "text", "content": "x", "dot_style": "x"},
            "INVALID_PARAMETER",
            "design.dot_style",
        ),
        ({"type": "text", "content": "x", "format": "bmp"}, "INVALID_PARAMETER", "format"),
    ],
)
def test_query_rejections(query: dict[str, str], code: str, field: str) -> None:
    err = query_error_of(query)
    assert (err.code, err.field) == (code, field)


def test_fit_defaults_to_auto_and_takes_strict() -> None:
    assert parse_qr_options({}).design.fit == "auto"
    assert parse_qr_options({"design": {"fit": "Strict"}}).design.fit == "strict"
    assert parse_qr_options({"design": {"fit": None}}).design.fit == "auto"
    with pytest.raises(ApiError) as refused:
        parse_qr_options({"design": {"fit": "loose"}})
    assert (refused.value.code, refused.value.field) == ("INVALID_PARAMETER", "design.fit")


def test_whether_the_level_was_chosen_is_kept() -> None:
    assert parse_qr_options({}).error_correction_requested is False
    chosen = parse_qr_options({"error_correction": "M"})
    assert (chosen.error_correction, chosen.error_correction_requested) == ("M", True)
    with_logo = parse_qr_options({"design": {"logo_url": "https://example.com/logo.png"}})
    assert (with_logo.error_correction, with_logo.error_correction_requested) == ("H", False)


def test_the_embed_query_takes_fit() -> None:
    _, _, options = parse_qr_query({"type": "text", "content": "x", "fit": "strict"})
    assert options.design.fit == "strict"


def test_eye_options_are_parsed_and_normalised() -> None:
    design = parse_qr_options(
        {"design": {"eye_color": "#C00", "eye_inner_color": "#0000AA", "eye_inner_style": "Round"}}
    ).design
    assert (design.eye_color, design.eye_inner_color, design.eye_inner_style) == (
        "#cc0000",
        "#0000aa",
        "round",
    )
    unset = parse_qr_options({"design": {"eye_color": None}}).design
    assert (unset.eye_color, unset.eye_inner_color, unset.eye_inner_style) == (None, None, None)


@pytest.mark.parametrize(
    ("design", "code", "field"),
    [
        ({"eye_color": "red"}, "INVALID_COLOR", "design.eye_color"),
        ({"eye_inner_color": 12}, "INVALID_COLOR", "design.eye_inner_color"),
        ({"eye_inner_style": "star"}, "INVALID_PARAMETER", "design.eye_inner_style"),
        ({"eye_inner_style": ["round"]}, "INVALID_PARAMETER", "design.eye_inner_style"),
    ],
)
def test_eye_options_are_refused_when_wrong(
    design: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(ApiError) as caught:
        parse_qr_options({"design": design})
    assert (caught.value.code, caught.value.field) == (code, field)


def test_the_embed_query_takes_the_eye_options() -> None:
    _, _, options = parse_qr_query(
        {
            "type": "url",
            "content": "https://example.com",
            "eye_color": "c80000",
            "eye_inner_color": "#0000aa",
            "eye_inner_style": "round",
        }
    )
    design = options.design
    assert (design.eye_color, design.eye_inner_color, design.eye_inner_style) == (
        "#c80000",
        "#0000aa",
        "round",
    )


def test_eye_options_are_stored_and_sent_only_when_given() -> None:
    plain = parse_qr_options({})
    assert not {"eye_color", "eye_inner_color", "eye_inner_style"} & set(stored_design(plain))
    eyes = parse_qr_options({"design": {"eye_color": "#c80000", "eye_inner_style": "square"}})
    kept = stored_design(eyes)
    assert (kept["eye_color"], kept["eye_inner_style"]) == ("#c80000", "square")
    sent = request_from_options("x", eyes).design
    assert (sent.eye_color, sent.eye_inner_color, sent.eye_inner_style) == (
        "#c80000",
        "",
        "square",
    )


@pytest.mark.parametrize("given", ["transparent", " Transparent ", "TRANSPARENT"])
def test_bg_color_takes_transparent(given: str) -> None:
    assert parse_qr_options({"design": {"bg_color": given}}).design.bg_color == "transparent"
    _, _, options = parse_qr_query(
        {"type": "text", "content": "x", "bg_color": given.strip(), "fg_color": "1a2b3c"}
    )
    assert options.design.bg_color == "transparent"
    assert stored_design(options)["bg_color"] == "transparent"
    assert request_from_options("x", options).design.bg_color == "transparent"


@pytest.mark.parametrize("field", ["fg_color", "eye_color", "eye_inner_color"])
def test_only_bg_color_may_be_transparent(field: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_qr_options({"design": {field: "transparent"}})
    assert (caught.value.code, caught.value.field) == ("INVALID_COLOR", f"design.{field}")
    with pytest.raises(ApiError) as caught:
        parse_qr_query({"type": "text", "content": "x", field: "transparent"})
    assert (caught.value.code, caught.value.field) == ("INVALID_COLOR", f"design.{field}")


def test_a_gradient_is_parsed_normalised_and_stored() -> None:
    options = parse_qr_options(
        {"design": {"gradient": {"type": "Radial", "colors": ["#C00", "#0000AA", "#063"]}}}
    )
    gradient = options.design.gradient
    assert gradient is not None
    assert (gradient.type, gradient.colors, gradient.angle) == (
        "radial",
        ("#cc0000", "#0000aa", "#006633"),
        0,
    )
    assert stored_design(options)["gradient"] == {
        "type": "radial",
        "colors": ["#cc0000", "#0000aa", "#006633"],
        "angle": 0,
    }
    sent = request_from_options("x", options).design.gradient
    assert (sent.type, list(sent.colors), sent.angle) == ("radial", list(gradient.colors), 0)
    linear = parse_qr_options({"design": {"gradient": {"colors": ["#000", "#123"], "angle": 45}}})
    assert linear.design.gradient is not None
    assert (linear.design.gradient.type, linear.design.gradient.angle) == ("linear", 45)
    assert "gradient" not in stored_design(parse_qr_options({}))


@pytest.mark.parametrize(
    ("gradient", "code", "field"),
    [
        ("red", "INVALID_PARAMETER", "design.gradient"),
        ({"colors": ["#000"]}, "INVALID_PARAMETER", "design.gradient.colors"),
        ({"colors": ["#000"] * 4}, "INVALID_PARAMETER", "design.gradient.colors"),
        ({"colors": ["#000"] * 100_000}, "INVALID_PARAMETER", "design.gradient.colors"),
        ({"colors": "#000,#111"}, "INVALID_PARAMETER", "design.gradient.colors"),
        ({"type": "linear"}, "INVALID_PARAMETER", "design.gradient.colors"),
        ({"colors": ["#000", "blue"]}, "INVALID_COLOR", "design.gradient.colors[1]"),
        (
            {"colors": ["#000", "#111"], "type": "conic"},
            "INVALID_PARAMETER",
            "design.gradient.type",
        ),
        ({"colors": ["#000", "#111"], "angle": 360}, "INVALID_PARAMETER", "design.gradient.angle"),
        ({"colors": ["#000", "#111"], "angle": -1}, "INVALID_PARAMETER", "design.gradient.angle"),
        ({"colors": ["#000", "#111"], "angle": True}, "INVALID_PARAMETER", "design.gradient.angle"),
        ({"colors": ["#000", "#111"], "stops": []}, "INVALID_PARAMETER", "design.gradient.stops"),
    ],
)
def test_bad_gradients_are_refused(gradient: object, code: str, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_qr_options({"design": {"gradient": gradient}})
    assert (caught.value.code, caught.value.field) == (code, field)


def test_the_embed_query_takes_a_gradient() -> None:
    _, _, options = parse_qr_query(
        {
            "type": "text",
            "content": "x",
            "gradient": "linear",
            "gradient_colors": "c80000,#0000aa",
            "gradient_angle": "90",
        }
    )
    gradient = options.design.gradient
    assert gradient is not None
    assert (gradient.type, gradient.colors, gradient.angle) == (
        "linear",
        ("#c80000", "#0000aa"),
        90,
    )
    with pytest.raises(ApiError) as caught:
        parse_qr_query({"type": "text", "content": "x", "gradient": "radial"})
    assert caught.value.field == "gradient_colors"
