"""How many times a code was scanned, asked of the analytics service.

A record view must not fail because analytics is away: the total is then ``None`` (unknown),
never a made-up zero.
"""

from __future__ import annotations

import logging
from typing import Final

from qrforge.v1 import analytics_pb2
from services.gateway.context import GatewayContext
from services.runtime.errors import ApiError
from services.runtime.grpc_client import call_unary

log = logging.getLogger(__name__)

TOTAL_TIMEOUT_S: Final = 0.5


async def total_scans(ctx: GatewayContext, account_id: str, qr_id: str) -> int | None:
    """All scans of one code (bots excluded)."""
    try:
        stats = await call_unary(
            ctx.analytics.GetCodeStats,
            analytics_pb2.StatsQuery(account_id=account_id, qr_id=qr_id),
            timeout=TOTAL_TIMEOUT_S,
            name="analytics.GetCodeStats",
        )
    except ApiError as err:
        log.warning("scan total unavailable", extra={"code": err.code})
        return None
    return int(stats.total_scans)


async def scans_this_month(ctx: GatewayContext, account_id: str) -> int | None:
    """Scans of the account since the start of the month (UTC)."""
    try:
        overview = await call_unary(
            ctx.analytics.GetAccountOverview,
            analytics_pb2.OverviewQuery(
                query=analytics_pb2.StatsQuery(account_id=account_id, tz="UTC"), top=1
            ),
            timeout=TOTAL_TIMEOUT_S,
            name="analytics.GetAccountOverview",
        )
    except ApiError as err:
        log.warning("scans this month unavailable", extra={"code": err.code})
        return None
    return int(overview.scans_this_month)
