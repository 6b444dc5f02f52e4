"""Receiving an import file: the body spooled to a temporary file while it arrives (at most
50 MiB, in memory up to 1 MiB, then on disk) with its SHA-256, then read back line by line
into create bodies. Nothing here holds more than one line, or one batch of lines, at a time.

A file is refused whole (400, before anything is stored) when it is not UTF-8, is not CSV
(csv's own errors, a NUL byte), has no header, lacks a column its source needs, or has more
than 100,000 data lines (413). A line whose data is bad is not refused here: it gets its
reason as it is mapped (an unmappable qrforge content) or when its code is created.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Final

import msgspec
from aiohttp import web

from services.gateway.imports.sources import SourceFormat, row_body
from services.runtime.errors import ApiError

MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
MAX_ROWS: Final = 100_000
MAX_COLUMNS: Final = 200
_SPOOL_IN_MEMORY_BYTES: Final = 1024 * 1024
_READ_BYTES: Final = 64 * 1024

_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Spooled:
    file: IO[bytes]
    size: int
    sha256: bytes


def too_large() -> ApiError:
    return ApiError(
        "PAYLOAD_TOO_LARGE",
        f"An import file is at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB",
        details={"limit": MAX_UPLOAD_BYTES},
    )


async def spool_body(request: web.Request, source: str) -> Spooled:
    """The request body in a temporary file (the caller closes it), and the fingerprint of
    (source, body) an Idempotency-Key is matched on."""
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
        raise too_large()
    digest = hashlib.sha256(f"{source}\n".encode())
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.content.iter_chunked(_READ_BYTES):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise too_large()
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Spooled(spool, size, digest.digest())


def _bad_file(message: str, line: int | None = None) -> ApiError:
    where = f" (line {line})" if line is not None else ""
    return ApiError("INVALID_PARAMETER", f"{message}{where}", field="body")


@dataclass(frozen=True, slots=True)
class ParsedLine:
    line: int
    body: str  # JSON of the create body ("{}" when it could not be mapped)
    cells: str  # JSON array of the line's cells as the file had them
    error_code: str | None = None
    reason: str | None = None


class CsvLines:
    """The lines of a spooled CSV file as :class:`ParsedLine`: :attr:`header` once built,
    then iterate."""

    def __init__(self, spooled: Spooled, source: SourceFormat) -> None:
        # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name.
        text = codecs.getreader("utf-8-sig")(spooled.file)  # strict: bad bytes raise
        self._reader = csv.reader(text)
        self._source = source
        header = self._next_row()
        if header is None:
            raise _bad_file("the file is empty: it needs a header line")
        self.header: list[str] = header
        if len(self.header) > MAX_COLUMNS:
            raise _bad_file(f"at most {MAX_COLUMNS} columns")
        self.columns = source.columns(self.header)

    def _next_row(self) -> list[str] | None:
        try:
            row = next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError:
            raise _bad_file("the file is not UTF-8 text", self._reader.line_num + 1) from None
        except csv.Error as error:
            raise _bad_file(f"not CSV: {error}", self._reader.line_num) from None
        if any("\x00" in cell for cell in row):
            raise _bad_file("a NUL byte is not text", self._reader.line_num)
        return row

    def __iter__(self) -> Iterator[ParsedLine]:
        line = 0
        while (row := self._next_row()) is not None:
            if not any(cell.strip() for cell in row):
                continue  # blank lines (a trailing one, most often) are not codes
            line += 1
            if line > MAX_ROWS:
                raise ApiError(
                    "PAYLOAD_TOO_LARGE",
                    f"An import holds at most {MAX_ROWS} lines",
                    details={"limit": MAX_ROWS},
                )
            cells = _json.encode(row[: len(self.header)]).decode()
            try:
                body = row_body(self._source, self.columns, row)
            except ApiError as error:
                yield ParsedLine(line, "{}", cells, error.code, error.message)
                continue
            yield ParsedLine(line, _json.encode(body).decode(), cells)


def cells_of(cells_json: str) -> list[str]:
    decoded: list[str] = msgspec.json.decode(cells_json.encode())
    return decoded
