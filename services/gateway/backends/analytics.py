"""Every question the gateway asks the analytics service.

The stats routes' questions fail as the call failed (the route answers with that error). A
record view's scan total and the usage page's monthly scans must not fail because analytics is
away: they are then ``None`` (unknown), never a made-up zero.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any, Final

from qrforge.v1 import analytics_pb2, analytics_pb2_grpc
from services.runtime.errors import ApiError
from services.runtime.grpc_client import call_server_stream, call_unary

log = logging.getLogger(__name__)

TOTAL_TIMEOUT_S: Final = 0.5
STATS_TIMEOUT_S: Final = 5.0
# The most codes an overview can be limited to (analytics' stats.MAX_OVERVIEW_CODES; a unit
# test checks they agree).
MAX_OVERVIEW_CODES: Final = 50_000


async def code_stats(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub, query: analytics_pb2.StatsQuery
) -> Any:
    return await call_unary(
        analytics.GetCodeStats, query, timeout=STATS_TIMEOUT_S, name="analytics.GetCodeStats"
    )


async def time_series(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
    query: analytics_pb2.StatsQuery,
    granularity: str,
) -> Any:
    return await call_unary(
        analytics.GetTimeSeries,
        analytics_pb2.TimeSeriesQuery(query=query, granularity=granularity),
        timeout=STATS_TIMEOUT_S,
        name="analytics.GetTimeSeries",
    )


async def breakdown(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
    query: analytics_pb2.StatsQuery,
    dimension: str,
    limit: int,
) -> Any:
    """The rows of one dimension (country, device, …), at most ``limit``."""
    response = await call_unary(
        analytics.GetBreakdown,
        analytics_pb2.BreakdownQuery(query=query, dimension=dimension, limit=limit),
        timeout=STATS_TIMEOUT_S,
        name="analytics.GetBreakdown",
    )
    return response.rows


async def account_overview(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
    query: analytics_pb2.StatsQuery,
    top: int,
    qr_ids: list[str] | None = None,
) -> Any:
    """The account's overview; with ``qr_ids``, of those codes only (an empty list: none)."""
    return await call_unary(
        analytics.GetAccountOverview,
        analytics_pb2.OverviewQuery(
            query=query, top=top, only_codes=qr_ids is not None, qr_ids=qr_ids or ()
        ),
        timeout=STATS_TIMEOUT_S,
        name="analytics.GetAccountOverview",
    )


# A scan export streams for as long as it takes: this bounds a stuck one, not a big one
# (1 M scans take a few seconds).
EXPORT_TIMEOUT_S: Final = 600.0


def export_scans(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub, query: analytics_pb2.ScanExportQuery
) -> AsyncGenerator[Any, None]:
    """The pieces of a scan export (``data``: CSV rows without header, or NDJSON lines)."""
    return call_server_stream(
        analytics.ExportScans, query, timeout=EXPORT_TIMEOUT_S, name="analytics.ExportScans"
    )


async def total_scans(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub, account_id: str, qr_id: str
) -> int | None:
    """All scans of one code (bots excluded)."""
    try:
        stats = await call_unary(
            analytics.GetCodeStats,
            analytics_pb2.StatsQuery(account_id=account_id, qr_id=qr_id),
            timeout=TOTAL_TIMEOUT_S,
            name="analytics.GetCodeStats",
        )
    except ApiError as err:
        log.warning("scan total unavailable", extra={"code": err.code})
        return None
    return int(stats.total_scans)


async def scans_this_month(
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub, account_id: str
) -> int | None:
    """Scans of the account since the start of the month (UTC)."""
    try:
        overview = await call_unary(
            analytics.GetAccountOverview,
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
