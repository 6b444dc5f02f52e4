"""Which renders travel in coalesced batches: only the cheap ones, so a heavy render never holds
up the light renders of other accounts that would share its batch."""

from __future__ import annotations

import asyncio

import pytest

from qrforge.v1 import render_pb2
from services.gateway.backends.render import RenderBackend, is_cheap


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


class _CountingStub:
    """RenderQR answering after a pause, counting the calls out at once."""

    def __init__(self) -> None:
        self.out = 0
        self.most_out = 0

    async def RenderQR(
        self, request: render_pb2.RenderQRRequest, **_: object
    ) -> render_pb2.RenderedImage:
        self.out += 1
        self.most_out = max(self.most_out, self.out)
        await asyncio.sleep(0.01)
        self.out -= 1
        return render_pb2.RenderedImage(data=request.payload.encode())


@pytest.mark.parametrize(("bound", "most"), [(3, 3), (0, 12)])
async def test_renders_sent_alone_are_bounded_when_the_caller_asks(bound: int, most: int) -> None:
    stub = _CountingStub()
    backend = RenderBackend(stub, 5.0, singles_in_flight=bound)  # type: ignore[arg-type]
    heavy = [request(format="pdf", payload=f"https://example.com/{n}") for n in range(12)]
    images = await asyncio.gather(*(backend.render_qr(r) for r in heavy))
    assert [image.data for image in images] == [r.payload.encode() for r in heavy]
    assert stub.most_out == most
