"""A batch's answer as a ZIP archive (``Accept: application/zip``): the image of every item
that was stored, then ``manifest.csv`` (``index, qr_id, file, error``: one line per item, the
failed ones with their error code and message), written to the response as it is built.

:class:`zipfile.ZipFile` writes to any object with ``write``: given one that cannot seek, it
puts each member's sizes and CRC in a data descriptor after the member, so nothing is ever
rewritten and each member's bytes can go to the client as soon as they are compressed. Images
are already compressed (PNG, JPEG, WebP) or small (SVG), so members are stored, except the
text ones (SVG, EPS, the manifest), deflated.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from typing import Final

from services.gateway.batch.creation import ItemResult

MANIFEST_NAME: Final = "manifest.csv"
MANIFEST_COLUMNS: Final = ("index", "qr_id", "file", "error")
_EXTENSIONS: Final = {
    "image/png": "png",
    "image/svg+xml": "svg",
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "application/postscript": "eps",
}
_TEXT_TYPES: Final = frozenset({"image/svg+xml", "application/postscript"})


class _Pending(io.RawIOBase):
    """A write-only, unseekable sink whose bytes are taken out after each member."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]  # bytes-like, as zipfile gives it
        self._chunks.append(chunk)
        self._offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:  # zipfile records member offsets; it never seeks back
        return self._offset

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def file_name(result: ItemResult) -> str:
    assert result.data is not None and result.rendered is not None
    extension = _EXTENSIONS.get(result.rendered.content_type, "bin")
    return f"{result.index:03d}-{result.data['qr_id']}.{extension}"


def manifest(results: Sequence[ItemResult]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for result in results:
        if result.error is not None or result.data is None:
            error = result.error
            reason = f"{error.code}: {error.message}" if error is not None else "INTERNAL_ERROR"
            writer.writerow([result.index, "", "", reason])
        else:
            writer.writerow([result.index, result.data["qr_id"], file_name(result), ""])
    return buffer.getvalue().encode()


class ZipWriter:
    """Members in, archive bytes out: :meth:`add` and :meth:`close` return the bytes to send."""

    def __init__(self) -> None:
        self._sink = _Pending()
        self._archive = zipfile.ZipFile(self._sink, mode="w")

    def add(self, name: str, data: bytes, *, text: bool) -> bytes:
        compression = zipfile.ZIP_DEFLATED if text else zipfile.ZIP_STORED
        self._archive.writestr(name, data, compress_type=compression)
        return self._sink.take()

    def close(self) -> bytes:
        self._archive.close()
        return self._sink.take()


def image_members(results: Sequence[ItemResult]) -> list[tuple[str, bytes, bool]]:
    """(file name, image, is text) of every stored item, in request order."""
    return [
        (file_name(r), r.rendered.data, r.rendered.content_type in _TEXT_TYPES)
        for r in results
        if r.error is None and r.rendered is not None
    ]
