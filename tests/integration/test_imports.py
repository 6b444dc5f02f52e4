"""CSV imports end to end (API.md "Tags, import and export"): upload through the gateway, the
import worker as its own process creating the codes, progress and errors through the API.

One 10,000-line file (our own format) carries the heavy checks -- every line becomes exactly
one code even when the worker is killed half way and started again; small files cover the
other sources' column mappings (a 10,000-line file of each would add minutes for the same
code path: the mapping is the only per-source part).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageDraw

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


# What a code keeps of its render...
_DRAWN = (
    "format",
    "size",
    "width",
    "height",
    "error_correction",
    "quiet_zone",
    "design",
    "version",
    "applied",
    "warnings",
)
# ...and everything else a client reads of it but its ids (a dynamic code's short URL is its
# own, and with it what drawing decides: its short code is another payload).
_COMPARED = (
    *_DRAWN, "kind", "type", "content", "name", "tags", "destination_url", "rules", "variants",
    "expired_url", "forward_query", "utm", "protection", "active", "domain",
)  # fmt: skip


def _logo_data() -> str:
    image = Image.new("RGB", (64, 64), (220, 40, 60))
    ImageDraw.Draw(image).rectangle((20, 20, 44, 44), fill=(20, 90, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _drawing_options(bodies: list[dict[str, Any]], code: dict[str, Any]) -> dict[str, Any]:
    """The drawing options of the body ``code`` was created from (found by its name)."""
    [body] = [body for body in bodies if body.get("name") == code["name"]]
    return {key: body[key] for key in ("error_correction", "size", "design_id") if key in body}


def _sort_key(code: dict[str, Any]) -> tuple[str, ...]:
    return (code["kind"], code["name"] or "", str(code.get("content")), str(code.get("short_url")))


def _decoded(png: bytes, *, inverted: bool) -> list[tuple[str, str]]:
    """(text, level) of every QR code in a PNG, read as a phone app reads it (light-on-dark
    with zxing's invert pass)."""
    gray = Image.open(io.BytesIO(png)).convert("L")
    results = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode]),
        text_mode=zxingcpp.TextMode.Plain,
        try_invert=inverted,
    )
    return [(result.text, result.ec_level) for result in results]


async def test_an_imported_code_is_the_code_the_batch_stores_and_its_image_decodes(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess
) -> None:
    """Imports plan their codes instead of drawing them: every line, plain or drawn in full
    (a logo, round modules), stores what the same body stores through POST /v1/qrcodes/batch,
    and each image, drawn when downloaded, decodes to the payload."""
    owner = api.as_account(unlimited_account(stack, "import-vs-batch"))
    logo = _logo_data()
    designs = {}
    for name, design in {
        "inverted": {"fg_color": "#ffffff", "bg_color": "#1a237e"},
        "logo": {"dot_style": "round", "logo_data": logo, "logo_size": 0.4},
    }.items():
        saved = await owner.request(
            "POST", "/v1/designs", json_body={"name": name, "design": design}
        )
        designs[name] = saved.data(201)["design_id"]
    wifi = json.dumps({"ssid": "Cafe", "password": "short", "encryption": "WPA"})
    header = ["kind", "type", "content", "name", "destination_url", "error_correction", "size",
              "design_id", "tags"]  # fmt: skip
    rows = [
        ["static", "url", "https://example.com/same/1", "", "", "", "", "", "a|b"],
        ["static", "text", "x" * 900, "Long", "", "L", "1000", "", ""],
        ["static", "wifi", wifi, "", "", "", "", "", ""],
        ["static", "url", "https://example.com/same/inverted", "", "", "", "", designs["inverted"], ""],
        ["static", "url", "https://example.com/same/logo", "", "", "", "", designs["logo"], ""],
        ["dynamic", "", "", "Dyn", "https://example.com/same/d", "Q", "", "", "d"],
        ["dynamic", "", "", "Dyn logo", "https://example.com/same/dl", "", "", designs["logo"], ""],
        ["static", "text", "y" * 1200, "", "", "H", "100", "", ""],  # too small: refused
    ]  # fmt: skip
    queued = (await _upload(owner, "qrforge", _csv(header, rows))).data(202)
    job = await _finished(owner, queued["import_id"], timeout_s=60)

    bodies: list[dict[str, Any]] = []
    for kind, qr_type, content, name, destination, level, size, design_id, tags in rows:
        body: dict[str, Any] = {"kind": kind}
        if kind == "static":
            body |= {
                "type": qr_type,
                "content": json.loads(content) if qr_type == "wifi" else content,
            }
        else:
            body |= {"destination_url": destination}
        for key, value in (("name", name), ("error_correction", level), ("design_id", design_id)):
            if value:
                body[key] = value
        if size:
            body["size"] = int(size)
        if tags:
            body["tags"] = tags.split("|")
        bodies.append(body)
    batch = (await owner.batch(bodies)).data()["results"]
    errors = await owner.request("GET", f"/v1/imports/{queued['import_id']}/errors")
    failed = list(csv.DictReader(io.StringIO(errors.body.decode(), newline="")))
    # The same lines fail for the same reasons (lines count from the first after the header).
    assert [(row["line"], row["reason"].split(":")[0]) for row in failed] == [
        (str(result["index"] + 1), result["error"]["code"])
        for result in batch
        if not result["success"]
    ]
    assert [result["success"] for result in batch].count(False) == 1
    assert (job["succeeded"], job["failed"]) == (len(rows) - 1, 1)

    listed = (await owner.request("GET", "/v1/qrcodes", params={"limit": "100"})).data()
    batch_ids = {result["data"]["qr_id"] for result in batch if result["success"]}
    imported = sorted(
        (code for code in listed if code["qr_id"] not in batch_ids),
        key=_sort_key,
    )
    by_batch = sorted(
        (code for code in listed if code["qr_id"] in batch_ids),
        key=_sort_key,
    )
    assert len(imported) == len(by_batch) == len(rows) - 1
    # A dynamic code's drawing is compared with the static code of its very short URL, in the
    # same design, stored by the batch.
    twins = [
        {"type": "url", "content": mine["short_url"], **_drawing_options(bodies, mine)}
        for mine in imported
        if mine["kind"] == "dynamic"
    ]
    drawn_twins = iter((await owner.batch(twins)).data()["results"])
    warned: set[str] = set()
    for mine, theirs in zip(imported, by_batch, strict=True):
        compared: tuple[str, ...] = _COMPARED
        if mine["kind"] == "dynamic":
            compared = tuple(key for key in _COMPARED if key not in _DRAWN)
            twin = next(drawn_twins)["data"]
            assert {key: mine.get(key) for key in _DRAWN} == {key: twin.get(key) for key in _DRAWN}
        assert {key: mine.get(key) for key in compared} == {
            key: theirs.get(key) for key in compared
        }
        warned |= {warning["code"] for warning in mine["warnings"]}
        inverted = any(w["code"] == "INVERTED_COLORS" for w in mine["warnings"])
        texts = []
        for code in (mine, theirs):
            image = await owner.request("GET", f"/v1/qrcodes/{code['qr_id']}/download")
            assert image.status == 200
            [(text, level)] = _decoded(image.body, inverted=inverted)
            assert level == code["error_correction"]
            texts.append(text)
        if mine["kind"] == "dynamic":
            assert texts == [mine["short_url"], theirs["short_url"]]
        else:
            assert texts[0] == texts[1]
            if mine["type"] in ("url", "text"):
                assert texts[0] == mine["content"]
    # The cases meant to be covered were: fitting and the payload reported what they changed.
    assert {"INVERTED_COLORS", "LOGO_REDUCED", "WIFI_PASSWORD_LENGTH"} <= warned


async def test_a_slug_taken_twice_in_one_chunk_fails_one_line_and_stores_the_others(
    stack: Stack, api: ApiClient, import_worker: ServiceProcess
) -> None:
    """A chunk's dynamic codes go in one statement; a clash there stores them one by one."""
    owner = api.as_account(unlimited_account(stack, "import-slug-clash"))
    rows = [
        ["dynamic", f"link {i}", f"https://example.com/slug/{i}", "chunk-slug" if i in (2, 4) else ""]
        for i in range(1, 7)
    ]  # fmt: skip
    body = _csv(["kind", "name", "destination_url", "slug"], rows)
    queued = (await _upload(owner, "qrforge", body)).data(202)
    job = await _finished(owner, queued["import_id"], timeout_s=60)
    assert (job["succeeded"], job["failed"]) == (5, 1)
    errors = await owner.request("GET", f"/v1/imports/{queued['import_id']}/errors")
    failed = list(csv.DictReader(io.StringIO(errors.body.decode(), newline="")))
    assert [(row["line"], row["reason"].split(":")[0]) for row in failed] == [("4", "SLUG_TAKEN")]
    codes = await _exported(owner)
    assert sorted(c["destination_url"] for c in codes) == sorted(
        f"https://example.com/slug/{i}" for i in (1, 2, 3, 5, 6)
    )
    assert sorted(c["slug"] for c in codes if c["slug"] == "chunk-slug") == ["chunk-slug"]
    # The worker counts its lines where Prometheus scrapes it (its own admin port).
    metrics = await owner.http.get(f"http://127.0.0.1:{import_worker.admin_port}/metrics")
    counted = {
        line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
        for line in (await metrics.text()).splitlines()
        if line.startswith("qrforge_gateway_import_lines_total{")
    }
    assert counted['outcome="created"'] >= 5 and counted['outcome="failed"'] >= 1
