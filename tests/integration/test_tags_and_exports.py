"""Tags, exports and ZIP batches end to end (API.md "Tags, import and export"): every service
as a process; scans go in the way the redirect publishes them and come out of the export."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika

from services.runtime.scan_events import ScanEvent
from services.runtime.topics import SCAN_RECORDED, SCANS_EXCHANGE
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.stack import Stack

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SCAN_COLUMNS = [
    "scanned_at", "country", "city", "device", "os", "browser", "referrer_host", "bot", "rule",
    "variant",
]  # fmt: skip


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


async def _publish(stack: Stack, events: list[ScanEvent]) -> None:
    connection = await aio_pika.connect_robust(stack.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            SCANS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for start in range(0, len(events), 50):
            body = json.dumps({"v": 1, "events": [e.to_json() for e in events[start : start + 50]]})
            await exchange.publish(
                aio_pika.Message(body.encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=SCAN_RECORDED,
            )


# --- tags ----------------------------------------------------------------------------------


async def test_tags_are_kept_changed_and_filter_lists_overview_and_barcodes(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("tags"))
    spring = (
        await owner.generate(
            {
                "type": "url",
                "content": "https://example.com/a",
                "tags": ["spring", " print ", "spring"],
            }
        )
    ).data()
    assert spring["tags"] == ["spring", "print"]
    dynamic = (
        await owner.create_dynamic(
            {"name": "d", "destination_url": "https://example.com/d", "tags": ["print"]}
        )
    ).data(201)
    batch = (
        await owner.batch(
            [
                {"type": "text", "content": "batch", "tags": ["spring"]},
                {"type": "text", "content": "bad", "tags": ["x" * 51]},
            ]
        )
    ).data()
    assert batch["results"][0]["data"]["tags"] == ["spring"]
    assert batch["results"][1]["error"]["details"]["field"] == "tags[0]"
    untagged = (await owner.generate({"type": "text", "content": "none"})).data()
    assert untagged["tags"] == []

    async def listed(**params: str) -> set[str]:
        return {code["qr_id"] for code in (await owner.list_codes(**params)).data()}

    assert await listed(tag="spring") == {spring["qr_id"], batch["results"][0]["data"]["qr_id"]}
    assert await listed(tag="print") == {spring["qr_id"], dynamic["qr_id"]}
    assert await listed(tag="print", kind="dynamic") == {dynamic["qr_id"]}
    assert await listed(tag="nobody") == set()

    patched = (await owner.patch_code(untagged["qr_id"], {"tags": ["spring"]})).data()
    assert patched["tags"] == ["spring"]
    assert (await owner.get_code(untagged["qr_id"])).data()["tags"] == ["spring"]
    assert untagged["qr_id"] in await listed(tag="spring")
    too_many = await owner.patch_code(untagged["qr_id"], {"tags": [str(i) for i in range(21)]})
    assert (too_many.status, too_many.error_code) == (400, "INVALID_PARAMETER")
    assert (await owner.list_codes(tag="x" * 51)).error_code == "INVALID_PARAMETER"

    overview = (await owner.overview(tag="print")).data()
    assert (overview["total_codes"], overview["static_codes"], overview["dynamic_codes"]) == (
        2,
        1,
        1,
    )
    assert (await owner.overview(tag="nobody")).data()["total_codes"] == 0

    barcode = (
        await owner.request(
            "POST",
            "/v1/barcodes/generate",
            json_body={"format": "EAN13", "value": "590123412345", "tags": ["shelf"]},
        )
    ).data()
    assert barcode["tags"] == ["shelf"]
    other = (
        await owner.request(
            "POST", "/v1/barcodes/generate", json_body={"format": "CODE128", "value": "A-1"}
        )
    ).data()
    retagged = await owner.request(
        "PATCH", f"/v1/barcodes/{other['barcode_id']}", json_body={"tags": ["shelf", "aisle"]}
    )
    assert retagged.data()["tags"] == ["shelf", "aisle"]
    shelf = (await owner.list_barcodes(tag="shelf")).data()
    assert {b["barcode_id"] for b in shelf} == {barcode["barcode_id"], other["barcode_id"]}
    aisle = (await owner.list_barcodes(tag="aisle")).data()
    assert [b["barcode_id"] for b in aisle] == [other["barcode_id"]]

    # Another account's tags are its own.
    stranger = api.as_account(stack.create_account("tags-stranger"))
    assert (await stranger.list_codes(tag="spring")).data() == []
    assert (await stranger.overview(tag="spring")).data()["total_codes"] == 0


# --- code export ---------------------------------------------------------------------------


async def test_code_export_streams_the_tagged_codes_as_csv_and_ndjson(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("export-codes"))
    items: list[dict[str, Any]] = [
        {"type": "text", "content": f'line {i}, with "quotes"\nand a newline', "tags": ["kept"]}
        for i in range(30)
    ]
    items.append({"type": "url", "content": "https://example.com/other", "tags": ["other"]})
    created = (await owner.batch(items)).data()["results"]
    secret = (
        await owner.create_dynamic(
            {
                "name": 'locked, "named"',
                "destination_url": "https://example.com/locked",
                "tags": ["kept"],
                "protection": {"password": "hunter22"},
            }
        )
    ).data(201)
    kept = {r["data"]["qr_id"] for r in created[:30]} | {secret["qr_id"]}

    answer = await owner.request(
        "GET", "/v1/qrcodes/export", params={"format": "csv", "tag": "kept"}
    )
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = _csv_rows(answer.body)
    assert {row["qr_id"] for row in rows} == kept
    by_id = {row["qr_id"]: row for row in rows}
    assert by_id[created[3]["data"]["qr_id"]]["content"] == 'line 3, with "quotes"\nand a newline'
    assert by_id[secret["qr_id"]]["name"] == 'locked, "named"'
    assert by_id[secret["qr_id"]]["password_protected"] == "true"
    assert b"hunter22" not in answer.body and b"scrypt" not in answer.body

    dynamic_only = await owner.request(
        "GET", "/v1/qrcodes/export", params={"format": "ndjson", "tag": "kept", "kind": "dynamic"}
    )
    lines = [json.loads(line) for line in dynamic_only.body.splitlines()]
    assert [line["qr_id"] for line in lines] == [secret["qr_id"]]
    assert lines[0]["tags"] == ["kept"] and "password" not in json.dumps(lines[0]).replace(
        "password_protected", ""
    )

    bad = await owner.request("GET", "/v1/qrcodes/export", params={"format": "xml"})
    assert (bad.status, bad.error_code) == (400, "INVALID_PARAMETER")
    stranger = api.as_account(stack.create_account("export-stranger"))
    assert _csv_rows((await stranger.request("GET", "/v1/qrcodes/export")).body) == []


# --- scan export ---------------------------------------------------------------------------


async def test_scan_export_has_one_row_per_scan_counted_by_the_stats(
    stack: Stack, api: ApiClient
) -> None:
    account = stack.create_account("export-scans")
    owner = api.as_account(account)
    code = (
        await owner.create_dynamic({"name": "scanned", "destination_url": "https://example.com/s"})
    ).data(201)
    qr_id = code["qr_id"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    events = [
        ScanEvent(
            event_id=uuid.uuid4().hex,
            qr_id=qr_id,
            account_id=account.account_id,
            ts=start + timedelta(minutes=7 * i),
            ip=f"198.51.100.{i % 200}",
            user_agent=GOOGLEBOT if i % 10 == 0 else IPHONE,
            referer="https://news.example.org/item?id=1" if i % 3 == 0 else "",
            accept_language="fr-FR",
        )
        for i in range(600)
    ]
    await _publish(stack, events)

    async def all_counted() -> int | None:
        stats = (await owner.stats(qr_id, include_bots="true")).data()
        return stats["total_scans"] if stats["total_scans"] == len(events) else None

    total = await eventually(all_counted, timeout_s=60, what="every scan counted")

    answer = await owner.request(
        "GET", f"/v1/qrcodes/{qr_id}/scans/export", params={"format": "csv"}
    )
    assert answer.status == 200, answer.body[:300]
    reader = csv.reader(io.StringIO(answer.body.decode(), newline=""))
    assert next(reader) == SCAN_COLUMNS
    rows = [dict(zip(SCAN_COLUMNS, row, strict=True)) for row in reader]
    assert len(rows) == total
    assert [row["scanned_at"] for row in rows] == sorted(row["scanned_at"] for row in rows)
    assert rows[0]["scanned_at"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert sum(row["bot"] == "true" for row in rows) == 60
    assert {row["referrer_host"] for row in rows} == {"news.example.org", ""}
    assert {row["rule"] for row in rows} == {""} and {row["variant"] for row in rows} == {""}

    # from/to like the stats: the same days, the same count.
    day = (start + timedelta(days=1)).date().isoformat()
    ranged = await owner.request(
        "GET", f"/v1/qrcodes/{qr_id}/scans/export",
        params={"format": "ndjson", "from": day, "to": day, "tz": "Europe/Paris"},
    )  # fmt: skip
    day_stats = (
        await owner.stats(
            qr_id, include_bots="true", **{"from": day, "to": day, "tz": "Europe/Paris"}
        )
    ).data()
    lines = [json.loads(line) for line in ranged.body.splitlines()]
    assert len(lines) == day_stats["total_scans"] > 0
    assert set(lines[0]) == set(SCAN_COLUMNS)

    bad = await owner.request(
        "GET", f"/v1/qrcodes/{qr_id}/scans/export", params={"tz": "Mars/Olympus"}
    )
    assert (bad.status, bad.error_code) == (400, "INVALID_PARAMETER")
    stranger = api.as_account(stack.create_account("scans-stranger"))
    hidden = await stranger.request("GET", f"/v1/qrcodes/{qr_id}/scans/export")
    assert (hidden.status, hidden.error_code) == (404, "QR_NOT_FOUND")


# --- ZIP batch -----------------------------------------------------------------------------


async def test_zip_batch_holds_each_stored_image_and_a_manifest_with_the_failures(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("zip-batch"))
    items: list[Any] = [
        {"type": "url", "content": "https://example.com/zip/0"},
        {"type": "url", "content": "ftp://not-allowed"},
        {"type": "text", "content": "zip text 2", "size": 300},
        {"kind": "dynamic", "name": "zip dyn", "destination_url": "https://example.com/zip/3"},
        "not an object",
    ]
    answer = await owner.request(
        "POST",
        "/v1/qrcodes/batch",
        json_body={"items": items},
        headers={"Accept": "application/zip"},
    )
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.body))
    assert archive.testzip() is None
    manifest = _csv_rows(archive.read("manifest.csv"))
    assert [row["index"] for row in manifest] == ["0", "1", "2", "3", "4"]
    failed = {row["index"]: row["error"] for row in manifest if row["error"]}
    assert set(failed) == {"1", "4"}
    assert failed["1"].startswith("INVALID_CONTENT") and failed["4"].startswith("INVALID_PARAMETER")
    stored = {row["index"]: row for row in manifest if not row["error"]}
    assert sorted(archive.namelist()) == sorted(
        [row["file"] for row in stored.values()] + ["manifest.csv"]
    )
    assert decode_single_qr(archive.read(stored["0"]["file"])) == "https://example.com/zip/0"
    assert decode_single_qr(archive.read(stored["2"]["file"])) == "zip text 2"
    dynamic = (await owner.get_code(stored["3"]["qr_id"])).data()
    assert decode_single_qr(archive.read(stored["3"]["file"])) == dynamic["short_url"]
    listed = {code["qr_id"] for code in (await owner.list_codes()).data()}
    assert listed == {row["qr_id"] for row in stored.values()}


async def test_a_zip_batch_retried_with_its_idempotency_key_is_replayed_not_created_again(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("zip-idempotent"))
    items = [{"type": "text", "content": f"zip once {i}"} for i in range(3)]

    async def send() -> Any:
        return await owner.request(
            "POST", "/v1/qrcodes/batch", json_body={"items": items},
            headers={"Accept": "application/zip"}, idempotency_key="zip-once",
        )  # fmt: skip

    first, again = await send(), await send()
    assert first.status == again.status == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body
    assert len((await owner.list_codes()).data()) == 3
