"""gRPC transport of the analytics service: messages in, :class:`ScanStats` calls, messages out.
A raised ApiError becomes a status + ``qrforge-error-code`` in the interceptor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import Final

from qrforge.v1 import analytics_pb2, analytics_pb2_grpc
from services.analytics.stats import ScanStats, Share, StatsRequest


def stats_request(query: analytics_pb2.StatsQuery) -> StatsRequest:
    return StatsRequest(
        account_id=query.account_id,
        qr_id=query.qr_id,
        from_date=query.from_date,
        to_date=query.to_date,
        tz=query.tz,
        include_bots=query.include_bots,
    )


def share_messages(shares: Iterable[Share]) -> list[analytics_pb2.Share]:
    return [
        analytics_pb2.Share(key=s.key, scans=s.scans, unique_scans=s.unique_scans, share=s.share)
        for s in shares
    ]


# gRPC's default largest message is 4 MiB: a chunk of rows goes out in pieces of at most this.
EXPORT_MESSAGE_BYTES: Final = 1024 * 1024


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, stats: ScanStats) -> None:
        self._stats = stats

    async def GetCodeStats(  # noqa: N802 - gRPC method name
        self, request: analytics_pb2.StatsQuery, context: object
    ) -> analytics_pb2.CodeStats:
        stats = await self._stats.code_stats(stats_request(request))
        return analytics_pb2.CodeStats(
            total_scans=stats.total_scans,
            unique_scans=stats.unique_scans,
            bot_scans=stats.bot_scans,
            last_scan_at=stats.last_scan_at,
            top_country=stats.top_country,
            top_city=stats.top_city,
            devices=share_messages(stats.devices),
            os=share_messages(stats.os),
            browsers=share_messages(stats.browsers),
        )

    async def GetTimeSeries(  # noqa: N802 - gRPC method name
        self, request: analytics_pb2.TimeSeriesQuery, context: object
    ) -> analytics_pb2.TimeSeries:
        points = await self._stats.time_series(stats_request(request.query), request.granularity)
        return analytics_pb2.TimeSeries(
            series=[
                analytics_pb2.TimeSeriesPoint(
                    period=p.period, scans=p.scans, unique_scans=p.unique_scans
                )
                for p in points
            ]
        )

    async def GetBreakdown(  # noqa: N802 - gRPC method name
        self, request: analytics_pb2.BreakdownQuery, context: object
    ) -> analytics_pb2.Breakdown:
        rows = await self._stats.breakdown(
            stats_request(request.query), request.dimension, request.limit
        )
        return analytics_pb2.Breakdown(rows=share_messages(rows))

    async def GetAccountOverview(  # noqa: N802 - gRPC method name
        self, request: analytics_pb2.OverviewQuery, context: object
    ) -> analytics_pb2.AccountOverview:
        query = stats_request(request.query)
        if request.only_codes:
            query = replace(query, qr_ids=tuple(request.qr_ids))
        overview = await self._stats.overview(query, request.top)
        return analytics_pb2.AccountOverview(
            total_scans=overview.total_scans,
            unique_scans=overview.unique_scans,
            top_codes=share_messages(overview.top_codes),
            top_countries=share_messages(overview.top_countries),
            devices=share_messages(overview.devices),
            scans_this_month=overview.scans_this_month,
        )

    async def ExportScans(  # noqa: N802 - gRPC method name
        self, request: analytics_pb2.ScanExportQuery, context: object
    ) -> AsyncIterator[analytics_pb2.ScanExportChunk]:
        query = stats_request(request.query)
        async for data, rows in self._stats.export_scans(query, request.format):
            view = memoryview(data)
            for start in range(0, len(data), EXPORT_MESSAGE_BYTES):
                last = start + EXPORT_MESSAGE_BYTES >= len(data)
                yield analytics_pb2.ScanExportChunk(
                    data=bytes(view[start : start + EXPORT_MESSAGE_BYTES]), rows=rows if last else 0
                )
