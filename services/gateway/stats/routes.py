"""``/v1/qrcodes/{qr_id}/stats…`` and ``/v1/stats/overview``: scoped to the caller's codes,
answered by the analytics service. Query parameters (``from``, ``to``, ``tz``,
``granularity``) are validated there and come back as INVALID_PARAMETER with the field."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from qrforge.v1 import analytics_pb2, analytics_pb2_grpc
from services.gateway.backends import analytics
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.path_params import path_id
from services.gateway.qrcodes import storage
from services.gateway.tags.values import tag_filter
from services.runtime.errors import ApiError

DEVICE_KEYS: Final = ("mobile", "desktop", "tablet", "other")
OS_KEYS: Final = ("ios", "android", "windows", "macos", "linux", "other")
BREAKDOWN_LIMIT: Final = 50
_BREAKDOWN_NAMES: Final = {"country": "country", "city": "city", "referrer": "referrer"}


def _include_bots(request: web.Request) -> bool:
    raw = request.query.get("include_bots", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(
            "INVALID_PARAMETER", "include_bots must be true or false", field="include_bots"
        )
    return raw in ("true", "1")


def stats_query(request: web.Request, qr_id: str = "") -> analytics_pb2.StatsQuery:
    return analytics_pb2.StatsQuery(
        account_id=principal_of(request).account_id,
        qr_id=qr_id,
        from_date=request.query.get("from", ""),
        to_date=request.query.get("to", ""),
        tz=request.query.get("tz", "") or "UTC",
        include_bots=_include_bots(request),
    )


async def _owned_qr_id(request: web.Request) -> str:
    ctx, principal = context_of(request), principal_of(request)
    qr_id = path_id(request, "qr_id", "qr")
    await storage.get_owned_qr(ctx.pool, principal.account_id, qr_id)
    return qr_id


def _percent_map(shares: Any, keys: tuple[str, ...]) -> dict[str, float]:
    """Every expected key present; anything unexpected (e.g. ``bot``) folded into ``other``."""
    result = dict.fromkeys(keys, 0.0)
    for share in shares:
        key = share.key if share.key in result else "other"
        result[key] = round(result[key] + share.share, 2)
    return result


def _share_rows(shares: Any, name: str) -> list[dict[str, Any]]:
    return [
        {name: s.key, "scans": s.scans, "unique_scans": s.unique_scans, "share": s.share}
        for s in shares
    ]


async def _breakdown(
    stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
    query: analytics_pb2.StatsQuery,
    dimension: str,
) -> Any:
    return await analytics.breakdown(stub, query, dimension, BREAKDOWN_LIMIT)


async def code_stats(request: web.Request) -> web.Response:
    ctx = context_of(request)
    qr_id = await _owned_qr_id(request)
    stats = await analytics.code_stats(ctx.analytics, stats_query(request, qr_id))
    return ok(
        {
            "qr_id": qr_id,
            "total_scans": stats.total_scans,
            "unique_scans": stats.unique_scans,
            "bot_scans": stats.bot_scans,
            "last_scan_at": stats.last_scan_at or None,
            "top_country": stats.top_country or None,
            "top_city": stats.top_city or None,
            "devices": _percent_map(stats.devices, DEVICE_KEYS),
            "os": _percent_map(stats.os, OS_KEYS),
            "browsers": {s.key: s.share for s in stats.browsers},
        }
    )


async def daily(request: web.Request) -> web.Response:
    ctx = context_of(request)
    qr_id = await _owned_qr_id(request)
    query = stats_query(request, qr_id)
    granularity = request.query.get("granularity", "day")
    series = await analytics.time_series(ctx.analytics, query, granularity)
    return ok(
        {
            "granularity": granularity,
            "tz": query.tz,
            "series": [
                {"period": p.period, "scans": p.scans, "unique_scans": p.unique_scans}
                for p in series.series
            ],
        }
    )


def breakdown_handler(dimension: str) -> Any:
    name = _BREAKDOWN_NAMES[dimension]

    async def handler(request: web.Request) -> web.Response:
        ctx = context_of(request)
        qr_id = await _owned_qr_id(request)
        rows = await _breakdown(ctx.analytics, stats_query(request, qr_id), dimension)
        return ok(_share_rows(rows, name))

    handler.__name__ = f"{dimension}_stats"
    return handler


def _route_rows(
    shares: Any, destinations: list[str], default_destination: str | None
) -> list[dict[str, Any]]:
    """``[{index, destination_url, scans, unique_scans, share}]``: every current rule or
    variant in order (zero-filled), then the default destination (``index: null``), then any
    index that scanned before the list was shortened (its destination no longer known)."""
    by_key = {share.key: share for share in shares}

    def row(index: int | None, destination: str | None) -> dict[str, Any]:
        share = by_key.pop("" if index is None else str(index), None)
        return {
            "index": index,
            "destination_url": destination,
            "scans": share.scans if share else 0,
            "unique_scans": share.unique_scans if share else 0,
            "share": share.share if share else 0.0,
        }

    rows = [row(index, url) for index, url in enumerate(destinations)]
    rows.append(row(None, default_destination))
    for key in sorted(list(by_key), key=lambda k: int(k) if k.isdigit() else -1):
        if key.isdigit():
            rows.append(row(int(key), None))
    return rows


def route_stats_handler(dimension: str) -> Any:
    """``…/stats/rules`` and ``…/stats/variants``: scans per routing rule or A/B variant."""

    async def handler(request: web.Request) -> web.Response:
        ctx, principal = context_of(request), principal_of(request)
        qr_id = path_id(request, "qr_id", "qr")
        record = await storage.get_owned_qr(ctx.pool, principal.account_id, qr_id)
        shares = await _breakdown(ctx.analytics, stats_query(request, qr_id), dimension)
        listed = record.rules if dimension == "rule" else record.variants
        destinations = [str(item["destination_url"]) for item in listed]
        return ok(_route_rows(shares, destinations, record.destination_url))

    handler.__name__ = f"{dimension}_stats"
    return handler


async def devices(request: web.Request) -> web.Response:
    ctx = context_of(request)
    query = stats_query(request, await _owned_qr_id(request))
    return ok(
        {
            "devices": _share_rows(await _breakdown(ctx.analytics, query, "device"), "device"),
            "os": _share_rows(await _breakdown(ctx.analytics, query, "os"), "os"),
            "browsers": _share_rows(await _breakdown(ctx.analytics, query, "browser"), "browser"),
        }
    )


async def _tagged_codes(request: web.Request, tag: str | None) -> list[str] | None:
    """The codes an overview with ``?tag=`` covers (``None``: no tag, every code)."""
    if tag is None:
        return None
    ctx, principal = context_of(request), principal_of(request)
    qr_ids = await storage.tagged_qr_ids(ctx.pool, principal.account_id, tag)
    if len(qr_ids) > analytics.MAX_OVERVIEW_CODES:
        raise ApiError(
            "INVALID_PARAMETER",
            f"an overview by tag covers at most {analytics.MAX_OVERVIEW_CODES} codes; "
            f"this tag has {len(qr_ids)}",
            field="tag",
        )
    return qr_ids


async def overview(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    tag = tag_filter(request.query)
    qr_ids = await _tagged_codes(request, tag)
    result = await analytics.account_overview(
        ctx.analytics, stats_query(request), top=10, qr_ids=qr_ids
    )
    by_kind = await storage.count_by_kind(ctx.pool, principal.account_id, tag)
    names = await storage.names_of(
        ctx.pool, principal.account_id, [s.key for s in result.top_codes]
    )
    return ok(
        {
            "total_codes": sum(by_kind.values()),
            "static_codes": by_kind.get("static", 0),
            "dynamic_codes": by_kind.get("dynamic", 0),
            "total_scans": result.total_scans,
            "unique_scans": result.unique_scans,
            "top_codes": [
                {"qr_id": s.key, "name": names.get(s.key), "scans": s.scans}
                for s in result.top_codes
            ],
            "top_countries": _share_rows(result.top_countries, "country"),
            "devices": _percent_map(result.devices, DEVICE_KEYS),
        }
    )
