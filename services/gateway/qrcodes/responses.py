"""How the QR routes show one record: as :func:`~services.gateway.qrcodes.records.qr_json`
says, with the scan total of a dynamic code asked of analytics for single-record answers."""

from __future__ import annotations

from typing import Any

from services.gateway.backends.analytics import total_scans
from services.gateway.context import GatewayContext
from services.gateway.qrcodes.records import StoredQR, qr_json


async def detailed_qr_json(ctx: GatewayContext, record: StoredQR) -> dict[str, Any]:
    """A single record, with its scan total for dynamic codes (lists leave it out: one
    analytics call per row would make a page slow)."""
    if record.kind != "dynamic":
        return qr_json(record, ctx.settings)
    totals = await total_scans(ctx, record.account_id, record.qr_id)
    return qr_json(record, ctx.settings, totals)
