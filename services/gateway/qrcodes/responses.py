"""How the QR routes show one record: as :func:`~services.gateway.qrcodes.records.qr_json`
says, with the scan total of a dynamic code asked of analytics for single-record answers, and
a code just created as its image when ``Accept`` asked for one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from qrforge.v1 import analytics_pb2_grpc
from services.gateway.backends.analytics import total_scans
from services.gateway.backends.render import Rendered
from services.gateway.http.envelope import ok
from services.gateway.http.image_responses import image_response, with_inline_image
from services.gateway.qrcodes.fit_warnings import warnings_header
from services.gateway.qrcodes.records import StoredQR, qr_json
from services.gateway.settings import GatewaySettings


async def detailed_qr_json(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
    settings: GatewaySettings,
    record: StoredQR,
) -> dict[str, Any]:
    """A single record, with its scan total for dynamic codes (lists leave it out: one
    analytics call per row would make a page slow)."""
    if record.kind != "dynamic":
        return qr_json(record, settings)
    totals = await total_scans(analytics, record.account_id, record.qr_id)
    return qr_json(record, settings, totals)


def created_qr_response(
    settings: GatewaySettings,
    record: StoredQR,
    rendered: Rendered,
    body: Mapping[str, Any],
    image_format: str | None,
    *,
    status: int,
) -> web.Response:
    """The answer to a create: the verified image itself when ``Accept`` asked for one (the id
    in ``X-QR-Id``), else the record (never scanned yet), with ``image_base64`` if asked."""
    if image_format is not None:
        codes = (warning["code"] for warning in record.warnings)
        return image_response(rendered, {"X-QR-Id": record.qr_id, **warnings_header(codes)})
    data = qr_json(record, settings, total_scans=0)
    return ok(with_inline_image(data, body, rendered), status=status)
