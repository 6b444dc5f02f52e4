"""The gateway and render each write their defaults and allowed values once; these must agree,
or a changed default on one side would silently change images and ETags (the gateway hashes
the render request it sends, render fills what the request leaves unset)."""

from __future__ import annotations

from qrforge.v1 import render_pb2
from services.gateway.backends import render as gateway_render
from services.gateway.barcodes import values as gateway_barcodes
from services.gateway.logos import images as gateway_logos
from services.gateway.qrcodes import options as gateway_qr
from services.gateway.qrcodes import records as gateway_records
from services.render import logo_limits as render_logo_limits
from services.render import qr_frame as render_frame
from services.render import specs as render_specs
from services.render.servicer import barcode_spec_from, qr_spec_from


def test_allowed_qr_values_agree() -> None:
    assert gateway_qr.FORMATS == render_specs.QR_FORMATS
    # The gateway answers 304s and cached images with its own content types.
    assert gateway_render.CONTENT_TYPES == render_specs.CONTENT_TYPES
    assert gateway_qr.ERROR_CORRECTION_LEVELS == render_specs.EC_LEVELS
    assert gateway_qr.DOT_STYLES == render_specs.DOT_STYLES
    assert gateway_qr.CORNER_STYLES == render_specs.CORNER_STYLES
    assert gateway_qr.FIT_MODES == render_specs.FIT_MODES
    assert gateway_qr.EYE_INNER_STYLES == render_specs.EYE_INNER_STYLES
    assert gateway_qr.TRANSPARENT == render_specs.TRANSPARENT
    assert gateway_qr.GRADIENT_TYPES == render_specs.GRADIENT_TYPES
    assert gateway_qr.GRADIENT_STOPS == render_specs.GRADIENT_STOPS
    assert gateway_qr.GRADIENT_ANGLE_RANGE == (0, render_specs.MAX_GRADIENT_ANGLE)
    assert gateway_qr.SIZE_RANGE == (render_specs.MIN_QR_SIZE, render_specs.MAX_QR_SIZE)
    assert gateway_qr.QUIET_ZONE_RANGE[1] == render_specs.MAX_QUIET_ZONE
    assert gateway_qr.LOGO_SIZE_RANGE == (render_specs.MIN_LOGO_SIZE, render_specs.MAX_LOGO_SIZE)


def test_qr_defaults_agree() -> None:
    gateway, render = gateway_qr.DEFAULT_OPTIONS, render_specs.QRSpec(payload="")
    assert (gateway.format, gateway.size, gateway.error_correction, gateway.quiet_zone) == (
        render.format,
        render.size,
        render.error_correction,
        render.quiet_zone,
    )
    design, drawn = gateway.design, render.design
    assert (design.fg_color, design.bg_color, design.dot_style, design.corner_style) == (
        drawn.fg_color,
        drawn.bg_color,
        drawn.dot_style,
        drawn.corner_style,
    )
    assert design.logo_size == drawn.logo_size
    assert design.fit == render.fit
    # Unset on both sides means "as fg_color" / "the corner style's eye"; the gateway sends
    # None as the empty string.
    assert (design.eye_color, design.eye_inner_color, design.eye_inner_style) == (None,) * 3
    assert (drawn.eye_color, drawn.eye_inner_color, drawn.eye_inner_style) == ("",) * 3
    sent = gateway_render.request_from_options("x", gateway).design
    assert (sent.eye_color, sent.eye_inner_color, sent.eye_inner_style) == ("",) * 3
    assert design.gradient is None and drawn.gradient is None and not sent.HasField("gradient")


def test_a_gradient_reaches_render_as_sent() -> None:
    options = gateway_qr.parse_qr_options(
        {"design": {"gradient": {"type": "radial", "colors": ["#C00", "#0000aa", "#063"]}}}
    )
    spec = qr_spec_from(gateway_render.request_from_options("x", options))
    assert spec.design.gradient == render_specs.Gradient(
        type="radial", colors=("#cc0000", "#0000aa", "#006633"), angle=0
    )


def test_a_frame_reaches_render_as_sent_and_its_band_agrees() -> None:
    assert gateway_qr.FRAME_STYLES == render_specs.FRAME_STYLES
    assert gateway_qr.MAX_FRAME_TEXT == render_specs.MAX_FRAME_TEXT
    assert gateway_records.FRAME_BAND_FRACTION == render_frame.BANNER_FRACTION
    options = gateway_qr.parse_qr_options(
        {"design": {"frame": {"style": "box", "text": "SCAN ME", "color": "#123"}}}
    )
    spec = qr_spec_from(gateway_render.request_from_options("x", options))
    assert spec.design.frame == render_specs.Frame("box", "SCAN ME", "#112233", "")
    plain = qr_spec_from(gateway_render.request_from_options("x", gateway_qr.DEFAULT_OPTIONS))
    assert plain.design.frame is None


def test_a_request_that_leaves_fields_unset_gets_the_same_defaults() -> None:
    spec = qr_spec_from(render_pb2.RenderQRRequest(payload="x", quiet_zone=4))
    assert spec == render_specs.QRSpec(payload="x")
    barcode = barcode_spec_from(
        render_pb2.RenderBarcodeRequest(symbology="EAN13", value="5901234123457", show_text=True)
    )
    assert barcode == render_specs.BarcodeSpec(symbology="EAN13", value="5901234123457")


def test_barcode_values_and_defaults_agree() -> None:
    # QR is drawn by the QR renderer, not as a linear barcode.
    assert set(gateway_barcodes.SYMBOLOGIES) - {"QR"} == set(render_specs.BARCODE_SYMBOLOGIES)
    assert gateway_barcodes.OUTPUTS == render_specs.BARCODE_OUTPUTS
    gateway = gateway_barcodes.DEFAULT_BARCODE
    render = render_specs.BarcodeSpec(symbology="", value="")
    assert (gateway.output, gateway.width, gateway.height, gateway.show_text) == (
        render.output,
        render.width,
        render.height,
        render.show_text,
    )


def test_logo_limits_agree() -> None:
    """The gateway refuses a hostile logo before calling render, and render refuses it again
    (internal callers can send anything): a logo one side accepts, the other must accept too."""
    assert gateway_logos.MAX_LOGO_PIXELS == render_logo_limits.MAX_LOGO_PIXELS
    assert gateway_logos.MAX_LOGO_ASPECT == render_logo_limits.MAX_LOGO_ASPECT
    assert gateway_logos.MAX_JPEG_SCANS == render_logo_limits.MAX_JPEG_SCANS
