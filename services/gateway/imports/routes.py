"""``POST /v1/imports``, ``GET /v1/imports/{import_id}``, ``GET …/errors``: parse, call the
domain, shape (API.md "Tags, import and export").

An upload is answered 202 once its lines are stored and the job is queued; the codes are
created in the background by the import worker. ``Idempotency-Key`` is honoured here rather
than by the idempotency middleware, which reads bodies of at most 2 MiB into memory: the key
is kept with the job (hashed, scoped to the API key like every idempotency record), and a
request with the same key and the same file answers the job (``Idempotent-Replayed: true``)
without storing anything; the same key with another file or source is 409
``IDEMPOTENCY_CONFLICT``. The key is remembered as long as the job is.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from aiohttp import web

from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.path_params import path_id
from services.gateway.http.timestamps import format_rfc3339
from services.gateway.idempotency.middleware import handles_own_idempotency
from services.gateway.idempotency.policy import HEADER, REPLAYED_HEADER, key_hash, parse_key
from services.gateway.imports import storage
from services.gateway.imports.sources import SOURCES
from services.gateway.imports.storage import ImportJob
from services.gateway.imports.upload import CsvLines, cells_of, spool_body
from services.runtime.errors import ApiError
from services.runtime.ids import new_id

CSV_TYPES: Final = frozenset({"text/csv", "application/csv"})
COPY_ROWS: Final = 2_000  # lines parsed and stored per COPY


def job_json(job: ImportJob, public_base_url: str) -> dict[str, Any]:
    return {
        "import_id": job.import_id,
        "source": job.source,
        "status": job.status,
        "rows": job.rows,
        "processed": job.processed,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "errors_url": f"{public_base_url}/v1/imports/{job.import_id}/errors",
        "created_at": format_rfc3339(job.created_at),
        "updated_at": format_rfc3339(job.updated_at),
    }


def _replay(job: ImportJob, fingerprint: bytes, public_base_url: str) -> web.Response:
    if job.fingerprint != fingerprint:
        raise ApiError(
            "IDEMPOTENCY_CONFLICT",
            f"This {HEADER} was already used with a different file or source",
            field=HEADER,
        )
    response = ok(job_json(job, public_base_url), status=202)
    response.headers[REPLAYED_HEADER] = "true"
    return response


@handles_own_idempotency
async def create(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    source_name = request.query.get("source", "")
    source = SOURCES.get(source_name)
    if source is None:
        raise ApiError(
            "INVALID_PARAMETER", f"source must be one of: {', '.join(SOURCES)}", field="source"
        )
    if request.content_type not in CSV_TYPES:
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the file as Content-Type: text/csv")
    key = parse_key(request.headers.get(HEADER))
    hashed = key_hash(key) if key is not None else None
    spooled = await spool_body(request, source_name)
    base_url = ctx.settings.public_base_url
    with spooled.file:
        if hashed is not None:
            earlier = await storage.find_by_key(
                ctx.pool, principal.account_id, principal.key_id, hashed
            )
            if earlier is not None:
                return _replay(earlier, spooled.sha256, base_url)
        lines = CsvLines(spooled, source)  # the header: a file without one stops here
        import_id = new_id("imp")
        async with ctx.pool.acquire() as conn, conn.transaction():
            created = await storage.create_import(
                conn, import_id=import_id, account_id=principal.account_id,
                api_key_id=principal.key_id, source=source_name, max_codes=principal.max_codes,
                columns=lines.header, key_hash=hashed, fingerprint=spooled.sha256,
            )  # fmt: skip
            if created:
                rows = failed = 0
                batch: list[tuple[int, str, str, str | None, str | None]] = []
                for parsed in lines:
                    rows += 1
                    failed += parsed.error_code is not None
                    batch.append(
                        (parsed.line, parsed.body, parsed.cells, parsed.error_code, parsed.reason)
                    )
                    if len(batch) == COPY_ROWS:
                        await storage.copy_rows(conn, import_id, batch)
                        batch.clear()
                await storage.copy_rows(conn, import_id, batch)
                await storage.finish_upload(conn, import_id, rows, failed)
    if not created:  # a concurrent request with the same key committed first
        assert hashed is not None
        earlier = await storage.find_by_key(
            ctx.pool, principal.account_id, principal.key_id, hashed
        )
        assert earlier is not None
        return _replay(earlier, spooled.sha256, base_url)
    await ctx.import_queue.publish(import_id)
    job = await storage.get_import(ctx.pool, principal.account_id, import_id)
    assert job is not None
    return ok(job_json(job, base_url), status=202)


async def _owned(request: web.Request) -> ImportJob:
    ctx, principal = context_of(request), principal_of(request)
    import_id = path_id(request, "import_id", "imp")
    job = await storage.get_import(ctx.pool, principal.account_id, import_id)
    if job is None:
        raise ApiError("IMPORT_NOT_FOUND", "No import with this id in your account")
    return job


async def get_import(request: web.Request) -> web.Response:
    return ok(job_json(await _owned(request), context_of(request).settings.public_base_url))


async def errors_csv(request: web.Request) -> web.StreamResponse:
    """The failed lines as the file had them, between their line number and their reason."""
    job = await _owned(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{job.import_id}-errors.csv"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    width = len(job.columns)
    writer.writerow(["line", *job.columns, "reason"])
    async for line, cells, code, reason in storage.failed_rows(
        context_of(request).pool, job.import_id
    ):
        padded = (cells_of(cells) + [""] * width)[:width]
        writer.writerow([line, *padded, f"{code}: {reason}"])
        if buffer.tell() >= 64 * 1024:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write_eof(buffer.getvalue().encode())
    return response
