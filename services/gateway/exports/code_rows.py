"""How a stored code is written in an export (API.md "Tags, import and export"). Pure.

Every record, no secrets: a password is only ``password_protected``, and nothing of the
account or its keys is written. The CSV's first columns are the ``qrforge`` import's own
(``kind, type, content, name, destination_url, slug, tags``), so an export imports back;
``content`` that is an object is written as JSON, ``tags`` joined by ``|``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from services.gateway.http.timestamps import format_rfc3339
from services.gateway.qrcodes.records import StoredQR, qr_json
from services.gateway.settings import GatewaySettings

TAG_SEPARATOR: Final = "|"

CODE_CSV_COLUMNS: Final = (
    "kind", "type", "content", "name", "destination_url", "slug", "tags", "qr_id", "short_url",
    "format", "size", "error_correction", "quiet_zone", "active", "password_protected",
    "expiry_date", "max_scans", "image_url", "created_at", "updated_at",
)  # fmt: skip


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


def code_csv_row(record: StoredQR, settings: GatewaySettings) -> list[str]:
    """The cells of ``record`` in :data:`CODE_CSV_COLUMNS` order."""
    dynamic = record.kind == "dynamic"
    short_url = f"{settings.redirect_base_url}/{record.short_code}" if dynamic else None
    values: dict[str, Any] = {
        "kind": record.kind,
        "type": record.qr_type,
        "content": None if dynamic else record.content,
        "name": record.name,
        "destination_url": record.destination_url,
        "slug": record.short_code,
        "tags": TAG_SEPARATOR.join(record.tags),
        "qr_id": record.qr_id,
        "short_url": short_url,
        "format": record.format,
        "size": record.size,
        "error_correction": record.error_correction,
        "quiet_zone": record.quiet_zone,
        "active": record.active,
        "password_protected": record.password_hash is not None,
        "expiry_date": format_rfc3339(record.expires_at) if record.expires_at else None,
        "max_scans": record.max_scans,
        "image_url": f"{settings.public_base_url}/i/{record.qr_id}.{record.format}",
        "created_at": format_rfc3339(record.created_at),
        "updated_at": format_rfc3339(record.updated_at),
    }
    return [_text(values[column]) for column in CODE_CSV_COLUMNS]


def code_json_line(record: StoredQR, settings: GatewaySettings) -> dict[str, Any]:
    """The record as ``GET /v1/qrcodes/{qr_id}`` shows it, without the live scan total (an
    export reads the catalog only)."""
    shown = qr_json(record, settings)
    shown.pop("total_scans", None)
    return shown
