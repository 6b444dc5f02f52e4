"""Three independent QR readers, each tried as a phone app tries it: the image, then its inverse.

Phones do not all run zxing, so a design is only proven when readers built on different
finder detectors read it:

- **zxing-cpp** (``zxingcpp``): the reader render verifies every image with.
- **zbar** (``pyzbar`` over Debian ``libzbar0``): a scanline reader whose finder search is a
  strict 1:1:3:1:1 run-length match along rows and columns.
- **OpenCV WeChat** (``cv2.wechat_qrcode_WeChatQRCode`` from
  ``opencv-contrib-python-headless``), built without model files: it then uses its
  traditional (zxing-derived) detector and no super-resolution. The CNN detector and
  super-resolution models are separate downloads (WeChatCV's ``detect.caffemodel`` /
  ``sr.caffemodel``) that the tests never fetch; the model-free reader is the stricter of the
  two, since the CNN only helps it locate a code.

Each reader gets the image; when it reads nothing it gets the inverse (light modules on a dark
background become dark on light), as camera apps do. Every text any reader returns is kept,
so a test can assert that no reader ever returns a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from PIL import Image
from pyzbar import pyzbar

READERS: Final = ("zxing-cpp", "zbar", "wechat")

Gray = npt.NDArray[np.uint8]


def _zxing(gray: Gray) -> list[str]:
    results = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode]),
        text_mode=zxingcpp.TextMode.Plain,
        # The inverse is tried by read_all, as for the other readers.
        try_invert=False,
    )
    return [result.text for result in results]


def _zbar(gray: Gray) -> list[str]:
    height, width = gray.shape
    symbols = pyzbar.decode((gray.tobytes(), width, height), symbols=[pyzbar.ZBarSymbol.QRCODE])
    # zbar guesses a charset for 8-bit data; the payloads of these tests are UTF-8.
    return [symbol.data.decode("utf-8", errors="replace") for symbol in symbols]


@lru_cache(maxsize=1)
def _wechat_reader() -> cv2.wechat_qrcode.WeChatQRCode:
    # No model paths: the traditional detector (see the module docstring).
    return cv2.wechat_qrcode.WeChatQRCode()


def _wechat(gray: Gray) -> list[str]:
    texts, _ = _wechat_reader().detectAndDecode(gray)
    return [str(text) for text in texts]


_DECODERS: Final[dict[str, Callable[[Gray], list[str]]]] = {
    "zxing-cpp": _zxing,
    "zbar": _zbar,
    "wechat": _wechat,
}


def gray_of(image: Image.Image) -> Gray:
    """8-bit grey pixels of ``image``, transparency flattened onto white as a viewer shows it."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        image = flat
    return np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))


def read_with(reader: str, image: Image.Image | Gray) -> list[str]:
    """Texts ``reader`` reads in ``image``, or in its inverse when it reads nothing."""
    gray = image if isinstance(image, np.ndarray) else gray_of(image)
    decode = _DECODERS[reader]
    texts = decode(gray)
    if not texts:
        texts = decode(np.ascontiguousarray(255 - gray))
    return texts


def read_all(image: Image.Image | Gray) -> dict[str, list[str]]:
    """What each of :data:`READERS` reads in ``image`` (see :func:`read_with`)."""
    gray = image if isinstance(image, np.ndarray) else gray_of(image)
    return {reader: read_with(reader, gray) for reader in READERS}


def wrong_texts(reads: dict[str, list[str]], expected: str) -> dict[str, list[str]]:
    """Per reader, any text it returned that is not ``expected`` (empty when none is wrong)."""
    wrong = {reader: [t for t in texts if t != expected] for reader, texts in reads.items()}
    return {reader: texts for reader, texts in wrong.items() if texts}
