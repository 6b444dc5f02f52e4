"""CSV imports end to end (API.md "Tags, import and export"): upload through the gateway, the
import worker as its own process creating the codes, progress and errors through the API.

One 10,000-line file (our own format) carries the heavy checks -- every line becomes exactly
one code even when the worker is killed half way and started again; small files cover the
other sources' column mappings (a 10,000-line file of each would add minutes for the same
code path: the mapping is the only per-source part).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.support.api_client import ApiClient, ApiResponse
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.stack import Stack, unlimited_account


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def _upload(
    client: ApiClient, source: str, body: bytes, *, key: str | None = None
) -> ApiResponse:
    return await client.request(
        "POST",
        "/v1/imports",
        params={"source": source},
        data=body,
        headers={"Content-Type": "text/csv"},
        idempotency_key=key,
    )


async def _finished(client: ApiClient, import_id: str, timeout_s: float = 120) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.request("GET", f"/v1/imports/{import_id}")).data()
        return job if job["status"] in ("done", "failed") else None

    return await eventually(done, timeout_s=timeout_s, what=f"import {import_id} finished")


async def _exported(client: ApiClient, **params: str) -> list[dict[str, str]]:
    answer = await client.request("GET", "/v1/qrcodes/export", params={"format": "csv", **params})
    return list(csv.DictReader(io.StringIO(answer.body.decode(), newline="")))


async def test_a_10000_line_import_creates_every_code_once_across_a_worker_crash(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess
) -> None:
    owner = api.as_account(unlimited_account(stack, "import-10k"))
    bad_line = 5_000
    rows: list[list[str]] = []
    for i in range(1, 10_001):
        if i == bad_line:
            rows.append(["dynamic", "", "", f"bad {i}", "javascript:alert(1)", "", ""])
        elif i % 3 == 0:
            rows.append(["dynamic", "", "", f"link {i}", f"https://example.com/l/{i}", "", "bulk"])
        else:
            rows.append(["static", "text", f"imported {i}", "", "", "", "bulk|text"])
    body = _csv(["kind", "type", "content", "name", "destination_url", "slug", "tags"], rows)
    queued = (await _upload(owner, "qrforge", body)).data(202)
    assert queued["import_id"].startswith("imp_")
    # The worker may have claimed the job before the answer was written.
    assert queued["status"] in ("queued", "running") and queued["rows"] == 10_000

    async def half_way() -> int | None:
        job = (await owner.request("GET", f"/v1/imports/{queued['import_id']}")).data()
        return job["processed"] if 1_000 <= job["processed"] < 10_000 else None

    seen = await eventually(half_way, timeout_s=120, what="progress visible")
    import_worker.kill()  # SIGKILL: chunks in flight die with their transactions
    stalled = (await owner.request("GET", f"/v1/imports/{queued['import_id']}")).data()
    assert seen <= stalled["processed"] < 10_000
    import_worker.start()
    import_worker.wait_ready()

    job = await _finished(owner, queued["import_id"])
    assert (job["status"], job["processed"], job["succeeded"], job["failed"]) == (
        "done", 10_000, 9_999, 1,
    )  # fmt: skip

    codes = await _exported(owner)
    assert len(codes) == 9_999  # none twice
    contents = sorted(c["content"] for c in codes if c["kind"] == "static")
    destinations = sorted(c["destination_url"] for c in codes if c["kind"] == "dynamic")
    assert contents == sorted(r[2] for r in rows if r[0] == "static")
    assert destinations == sorted(
        r[4] for i, r in enumerate(rows, 1) if r[0] == "dynamic" and i != bad_line
    )
    assert {c["tags"] for c in codes} == {"bulk", "bulk|text"}

    errors = await owner.request("GET", f"/v1/imports/{queued['import_id']}/errors")
    failed = list(csv.DictReader(io.StringIO(errors.body.decode(), newline="")))
    assert len(failed) == 1
    assert failed[0]["line"] == str(bad_line)
    assert failed[0]["destination_url"] == "javascript:alert(1)"
    assert failed[0]["reason"].startswith("INVALID_PARAMETER")


SOURCE_FILES: dict[str, tuple[list[str], list[list[str]], list[tuple[str, str, str]]]] = {
    # source: (header, rows, expected (destination_url, name, tags) of the good rows)
    "bitly": (
        ["Bitlink", "Long URL", "Title", "Tags", "Created", "Clicks"],
        [
            ["bit.ly/3abcDEF", "https://example.com/bitly/1", "Spring sale", "promo, print", "2024-01-02", "12"],
            ["bit.ly/3ghiJKL", "not a url", "Broken", "", "2024-01-03", "0"],
            ["https://bit.ly/3mnoPQR", "https://example.com/bitly/2", "", "", "2024-01-04", "3"],
        ],
        [("https://example.com/bitly/1", "Spring sale", "promo|print"),
         ("https://example.com/bitly/2", "3mnoPQR", "")],
    ),
    "shlink": (
        ["createdAt", "domain", "shortCode", "shortUrl", "longUrl", "title", "tags", "visits"],
        [
            ["2024-01-01T00:00:00+00:00", "", "abc12", "https://s.test/abc12", "https://example.com/shlink/1", "Docs", "docs|team", "4"],
            ["2024-01-01T00:00:00+00:00", "", "def34", "https://s.test/def34", "ftp://example.com/x", "FTP", "", "0"],
        ],
        [("https://example.com/shlink/1", "Docs", "docs|team")],
    ),
    "yourls": (
        ["keyword", "url", "title", "timestamp", "ip", "clicks"],
        [
            ["ozh", "https://example.com/yourls/1", "Ozh's page", "2024-01-01 10:00:00", "127.0.0.1", "9"],
            ["nope", "", "Empty", "2024-01-01 10:00:00", "127.0.0.1", "0"],
        ],
        [("https://example.com/yourls/1", "Ozh's page", "")],
    ),
    "kutt": (
        ["address", "target", "description", "link", "visit_count"],
        [
            ["kt1", "https://example.com/kutt/1", "", "https://kutt.it/kt1", "1"],
            ["kt2", "https://example.com/kutt/2", "Second", "https://kutt.it/kt2", "0"],
            ["kt3", "mailto:someone@example.com", "Mail", "https://kutt.it/kt3", "0"],
        ],
        [("https://example.com/kutt/1", "kt1", ""), ("https://example.com/kutt/2", "Second", "")],
    ),
}  # fmt: skip
# The old tool's short code becomes the code's slug, so a moved domain keeps its links.
SLUGS: dict[str, set[str]] = {
    "bitly": {"3abcDEF", "3mnoPQR"},
    "shlink": {"abc12"},
    "yourls": {"ozh"},
    "kutt": {"kt1", "kt2"},
}


@pytest.mark.parametrize("source", sorted(SOURCE_FILES))
async def test_each_source_maps_its_columns_and_bad_lines_fail_alone(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess, source: str
) -> None:
    owner = api.as_account(stack.create_account(f"import-{source}"))
    header, rows, expected = SOURCE_FILES[source]
    queued = (await _upload(owner, source, _csv(header, rows))).data(202)
    job = await _finished(owner, queued["import_id"], timeout_s=60)
    assert (job["succeeded"], job["failed"]) == (len(expected), len(rows) - len(expected))
    codes = await _exported(owner)
    assert sorted((c["destination_url"], c["name"], c["tags"]) for c in codes) == sorted(expected)
    assert {c["kind"] for c in codes} == {"dynamic"}
    assert {c["slug"] for c in codes} == SLUGS[source]
    errors = await owner.request("GET", f"/v1/imports/{queued['import_id']}/errors")
    failed = list(csv.DictReader(io.StringIO(errors.body.decode(), newline="")))
    assert len(failed) == len(rows) - len(expected)
    assert all(row["reason"] for row in failed)
    assert list(failed[0])[1:-1] == header  # the line as the file had it


async def test_the_same_idempotency_key_does_not_import_twice(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess
) -> None:
    owner = api.as_account(stack.create_account("import-idempotent"))
    body = _csv(["type", "content"], [["text", f"once {i}"] for i in range(5)])
    first = (await _upload(owner, "qrforge", body, key="import-once")).data(202)
    again = await _upload(owner, "qrforge", body, key="import-once")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.data(202)["import_id"] == first["import_id"]
    await _finished(owner, first["import_id"], timeout_s=60)
    other_file = await _upload(owner, "qrforge", body + b"text,six\r\n", key="import-once")
    assert (other_file.status, other_file.error_code) == (409, "IDEMPOTENCY_CONFLICT")
    other_source = await _upload(owner, "yourls", body, key="import-once")
    assert other_source.error_code == "IDEMPOTENCY_CONFLICT"
    assert len(await _exported(owner)) == 5


async def test_an_import_belongs_to_its_account_and_bad_files_are_refused_whole(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess
) -> None:
    owner = api.as_account(stack.create_account("import-owner"))
    queued = (await _upload(owner, "qrforge", _csv(["type", "content"], [["text", "mine"]]))).data(
        202
    )
    stranger = api.as_account(stack.create_account("import-stranger"))
    for path in (f"/v1/imports/{queued['import_id']}", f"/v1/imports/{queued['import_id']}/errors"):
        hidden = await stranger.request("GET", path)
        assert (hidden.status, hidden.error_code) == (404, "IMPORT_NOT_FOUND")

    cases: list[tuple[str, bytes, str, int, str]] = [
        ("qrforge", b"type,content\r\ntext,x\r\n", "application/json", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("excel", b"type,content\r\n", "text/csv", 400, "INVALID_PARAMETER"),
        ("bitly", b"title,tags\r\nx,y\r\n", "text/csv", 400, "INVALID_PARAMETER"),
        ("qrforge", b"", "text/csv", 400, "INVALID_PARAMETER"),
        ("qrforge", b"type,content\r\ntext,\xff\xfe\r\n", "text/csv", 400, "INVALID_PARAMETER"),
        ("qrforge", b"type,content\r\ntext,a\x00b\r\n", "text/csv", 400, "INVALID_PARAMETER"),
    ]  # fmt: skip
    for source, body, content_type, status, code in cases:
        answer = await owner.request(
            "POST", "/v1/imports", params={"source": source}, data=body,
            headers={"Content-Type": content_type},
        )  # fmt: skip
        assert (answer.status, answer.error_code) == (status, code), (source, body)
    job = await _finished(owner, queued["import_id"], timeout_s=60)
    assert job["succeeded"] == 1
    assert json.loads((await stranger.request("GET", "/v1/qrcodes")).body)["data"] == []


async def test_an_import_stops_creating_at_the_plans_code_limit(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess
) -> None:
    owner = api.as_account(stack.create_account("import-quota", max_codes=3))
    body = _csv(["type", "content"], [["text", f"quota {i}"] for i in range(5)])
    queued = (await _upload(owner, "qrforge", body)).data(202)
    job = await _finished(owner, queued["import_id"], timeout_s=60)
    assert (job["succeeded"], job["failed"]) == (3, 2)
    errors = await owner.request("GET", f"/v1/imports/{queued['import_id']}/errors")
    failed = list(csv.DictReader(io.StringIO(errors.body.decode(), newline="")))
    assert all(row["reason"].startswith("QUOTA_EXCEEDED") for row in failed)
    assert len(await _exported(owner)) == 3
