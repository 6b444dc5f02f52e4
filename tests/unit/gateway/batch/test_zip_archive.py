from __future__ import annotations

import csv
import io
import zipfile

from services.gateway.backends.render import Rendered
from services.gateway.batch.creation import ItemResult
from services.gateway.batch.zip_archive import MANIFEST_NAME, ZipWriter, image_members, manifest
from services.runtime.errors import ApiError


def _stored(index: int, qr_id: str, content_type: str = "image/png") -> ItemResult:
    rendered = Rendered(data=f"image {index}".encode(), content_type=content_type, version=1,
                        error_correction="M")  # fmt: skip
    return ItemResult(index, data={"qr_id": qr_id}, rendered=rendered)


def test_the_archive_streams_images_then_a_manifest_naming_every_item() -> None:
    results = [
        _stored(0, "qr_a"),
        ItemResult(1, error=ApiError("INVALID_CONTENT", 'bad, very "bad"')),
        _stored(2, "qr_c", "image/svg+xml"),
    ]
    writer = ZipWriter()
    pieces = [writer.add(name, data, text=text) for name, data, text in image_members(results)]
    pieces.append(writer.add(MANIFEST_NAME, manifest(results), text=True))
    pieces.append(writer.close())
    assert all(pieces[:2])  # each member goes out as soon as it is written
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert archive.testzip() is None
    assert archive.namelist() == ["000-qr_a.png", "002-qr_c.svg", MANIFEST_NAME]
    assert archive.read("002-qr_c.svg") == b"image 2"
    rows = list(csv.DictReader(io.StringIO(archive.read(MANIFEST_NAME).decode())))
    assert rows == [
        {"index": "0", "qr_id": "qr_a", "file": "000-qr_a.png", "error": ""},
        {"index": "1", "qr_id": "", "file": "", "error": 'INVALID_CONTENT: bad, very "bad"'},
        {"index": "2", "qr_id": "qr_c", "file": "002-qr_c.svg", "error": ""},
    ]
