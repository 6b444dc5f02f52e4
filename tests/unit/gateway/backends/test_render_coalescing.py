"""Which renders travel in coalesced batches: only the cheap ones, so a heavy render never holds
up the light renders of other accounts that would share its batch."""

from __future__ import annotations

import pytest

from qrforge.v1 import render_pb2
from services.gateway.backends.render import is_cheap


def request(**fields: object) -> render_pb2.RenderQRRequest:
    base: dict[str, object] = {"payload": "https://example.com/p/1", "format": "png", "size": 512}
    return render_pb2.RenderQRRequest(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"format": "svg"},
        {"size": 1024},
        {"payload": "x" * 512},
        {"design": render_pb2.QRDesign(frame=render_pb2.QRFrame(style="none"))},
    ],
)
def test_small_plain_renders_are_coalesced(fields: dict[str, object]) -> None:
    assert is_cheap(request(**fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"format": "pdf"},
        {"format": "eps"},
        {"format": "jpeg"},
        {"size": 1025},
        {"size": 4096},
        {"payload": "x" * 513},
        {"design": render_pb2.QRDesign(logo=b"\x89PNG...")},
        {"design": render_pb2.QRDesign(frame=render_pb2.QRFrame(style="banner-bottom"))},
    ],
)
def test_heavy_renders_go_alone(fields: dict[str, object]) -> None:
    assert not is_cheap(request(**fields))
