"""``GET /v1/qrcodes/export`` and ``GET /v1/qrcodes/{qr_id}/scans/export``: files streamed
in constant memory (API.md "Tags, import and export").

Both check every parameter before the first byte, so a bad request still gets its error
envelope; once streaming has begun a failure can only cut the response short (the chunked
body then lacks its terminator, which every HTTP client reports as an error).

Codes come from Postgres through a server-side cursor; scans come from analytics as
ready-formatted text (``ExportScans``), relayed piece by piece. At most
:data:`CATALOG_EXPORTS_IN_FLIGHT` code exports run at once per gateway: each holds a pool
connection for its whole length, and the pool is shared with every other request.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from contextlib import aclosing
from typing import Final

import msgspec
from aiohttp import web

from qrforge.v1 import analytics_pb2
from services.gateway.backends import analytics
from services.gateway.context import context_of, principal_of
from services.gateway.exports.code_rows import CODE_CSV_COLUMNS, code_csv_row, code_json_line
from services.gateway.http.path_params import path_id
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.routes import KINDS
from services.gateway.stats.routes import stats_query
from services.gateway.tags.values import tag_filter
from services.runtime.errors import ApiError

FORMATS: Final = ("csv", "ndjson")
CONTENT_TYPES: Final = {"csv": "text/csv", "ndjson": "application/x-ndjson"}
SCAN_CSV_COLUMNS: Final = (
    "scanned_at", "country", "city", "device", "os", "browser", "referrer_host", "bot", "rule",
    "variant",
)  # fmt: skip
CATALOG_EXPORTS_IN_FLIGHT: Final = 4
# Bytes gathered before a write: big enough to keep writes few, small enough to stay flat.
FLUSH_BYTES: Final = 64 * 1024

_catalog_exports = asyncio.Semaphore(CATALOG_EXPORTS_IN_FLIGHT)
_json = msgspec.json.Encoder()


def export_format(request: web.Request) -> str:
    fmt = request.query.get("format") or "csv"
    if fmt not in FORMATS:
        raise ApiError("INVALID_PARAMETER", "format must be csv or ndjson", field="format")
    return fmt


async def _start(request: web.Request, fmt: str, filename: str) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{CONTENT_TYPES[fmt]}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


def _csv_line(cells: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode()


async def export_codes(request: web.Request) -> web.StreamResponse:
    ctx, principal = context_of(request), principal_of(request)
    fmt = export_format(request)
    kind = request.query.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ApiError("INVALID_PARAMETER", "kind must be static or dynamic", field="kind")
    tag = tag_filter(request.query)
    async with _catalog_exports:
        response = await _start(request, fmt, "qrcodes")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        pending = bytearray(_csv_line(CODE_CSV_COLUMNS) if fmt == "csv" else b"")
        # aclosing: a client that hangs up ends the cursor (and frees its pool connection) now,
        # not whenever the generator is collected.
        records = storage.stream_qr(ctx.pool, principal.account_id, kind=kind, tag=tag)
        async with aclosing(records):
            async for record in records:
                if fmt == "csv":
                    writer.writerow(code_csv_row(record, ctx.settings))
                    pending += buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
                else:
                    pending += _json.encode(code_json_line(record, ctx.settings)) + b"\n"
                if len(pending) >= FLUSH_BYTES:
                    await response.write(bytes(pending))
                    pending.clear()
        await response.write_eof(bytes(pending))
    return response


async def export_scans(request: web.Request) -> web.StreamResponse:
    ctx, principal = context_of(request), principal_of(request)
    qr_id = path_id(request, "qr_id", "qr")
    fmt = export_format(request)
    await storage.get_owned_qr(ctx.pool, principal.account_id, qr_id)
    query = analytics_pb2.ScanExportQuery(query=stats_query(request, qr_id), format=fmt)
    pieces = analytics.export_scans(ctx.analytics, query)
    async with aclosing(pieces):  # a client that hangs up cancels the call
        # The first piece (or the error: a bad from/to/tz) before the status line is sent.
        first = await anext(pieces, None)
        response = await _start(request, fmt, f"{qr_id}-scans")
        if fmt == "csv":
            await response.write(_csv_line(SCAN_CSV_COLUMNS))
        if first is not None:
            await response.write(first.data)
            async for piece in pieces:
                await response.write(piece.data)
    await response.write_eof()
    return response
