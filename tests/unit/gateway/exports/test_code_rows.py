from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from services.gateway.exports.code_rows import CODE_CSV_COLUMNS, code_csv_row, code_json_line
from services.gateway.qrcodes.records import StoredQR
from services.gateway.settings import GatewaySettings
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV

WHEN = datetime(2026, 3, 12, 10, 30, tzinfo=UTC)


def _code(**changes: object) -> StoredQR:
    values: dict[str, object] = {
        "qr_id": "qr_abc", "account_id": "acc_1", "kind": "static", "qr_type": "wifi",
        "name": 'a, "name"', "content": {"ssid": "x", "password": "p"}, "payload": "WIFI:...",
        "format": "png", "size": 512, "error_correction": "M", "quiet_zone": 4, "design": {},
        "logo_sha256": None, "version": 3, "created_at": WHEN, "updated_at": WHEN,
        "tags": ["a", "b"],
    }  # fmt: skip
    values.update(changes)
    return StoredQR(**values)  # type: ignore[arg-type]


def test_a_csv_row_fills_every_column_and_never_shows_a_password_hash() -> None:
    settings = GatewaySettings.from_env({GRPC_AUTH_TOKEN_ENV: "t" * 32})
    record = _code(kind="dynamic", qr_type="url", short_code="AbCdEfG",
                   destination_url="https://example.com", password_hash="scrypt$secret")  # fmt: skip
    row = dict(zip(CODE_CSV_COLUMNS, code_csv_row(record, settings), strict=True))
    assert row["slug"] == "AbCdEfG"
    assert row["short_url"].endswith("/AbCdEfG")
    assert row["password_protected"] == "true"
    assert row["tags"] == "a|b"
    assert row["created_at"] == "2026-03-12T10:30:00Z"
    assert "scrypt$secret" not in code_csv_row(record, settings)
    assert "scrypt" not in str(code_json_line(record, settings))


def test_object_content_is_written_as_json_and_the_row_survives_csv_quoting() -> None:
    settings = GatewaySettings.from_env({GRPC_AUTH_TOKEN_ENV: "t" * 32})
    cells = code_csv_row(_code(), settings)
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    (read,) = list(csv.reader(io.StringIO(buffer.getvalue())))
    row = dict(zip(CODE_CSV_COLUMNS, read, strict=True))
    assert row["content"] == '{"password":"p","ssid":"x"}'
    assert row["name"] == 'a, "name"'
