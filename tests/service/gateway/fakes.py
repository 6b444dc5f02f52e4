"""Scripted render, keys and analytics services for the gateway's service tests.

They run behind the real :class:`~services.runtime.grpc_server.GrpcServer` (token check, then
ApiError → status + trailing metadata), so the gateway meets them exactly as it meets the real
services: an :class:`ApiError` a fake raises reaches the gateway as that error, any other
exception as INTERNAL, :class:`Abort` as a bare gRPC status (a backend with no opinion, e.g.
one going away).

Every call is recorded (``calls``); ``failures`` and ``delays`` script one method's next calls.
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import grpc
import segno
from google.protobuf.timestamp_pb2 import Timestamp

from qrforge.v1 import (
    analytics_pb2,
    analytics_pb2_grpc,
    keys_pb2,
    keys_pb2_grpc,
    render_pb2,
    render_pb2_grpc,
)
from services.render.servicer import error_message
from services.runtime.errors import ApiError
from services.runtime.grpc_server import GrpcServer

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True)
class Abort:
    """A failure without our error code: the call ends with ``status`` and nothing else."""

    status: grpc.StatusCode
    message: str = "scripted"


Failure = ApiError | Exception | Abort | Callable[[Any], ApiError | Exception | Abort | None]


class Scripted:
    """What every fake shares: the calls it saw, and the failures and delays it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.failures: dict[str, Failure] = {}
        self.delays: dict[str, float] = {}

    def reset(self) -> None:
        self.calls.clear()
        self.failures.clear()
        self.delays.clear()

    def requests(self, method: str) -> list[Any]:
        return [request for name, request in self.calls if name == method]

    async def enter(self, method: str, request: Any, context: Context) -> None:
        self.calls.append((method, request))
        delay = self.delays.get(method)
        if delay:
            await asyncio.sleep(delay)
        failure = self.failures.get(method)
        if callable(failure):
            failure = failure(request)  # decides per request; None lets it through
        if isinstance(failure, Abort):
            await context.abort(failure.status, failure.message)
        if isinstance(failure, Exception):
            raise failure


def qr_png(payload: str, *, size: int = 300, quiet_zone: int = 4, level: str = "M") -> bytes:
    """A real, decodable QR code of ``payload`` (segno), about ``size`` pixels wide."""
    code = segno.make_qr(payload, error=level or "M")
    modules = code.symbol_size(border=quiet_zone)[0]
    out = io.BytesIO()
    code.save(out, kind="png", scale=max(2, (size or 300) // modules), border=quiet_zone)
    return out.getvalue()


# What a scripted fitting drew: the level, the logo size and the warnings (code, message).
Fitting = Callable[[render_pb2.RenderQRRequest], tuple[str, float, list[tuple[str, str]]]]


class FakeRender(render_pb2_grpc.RenderServiceServicer):
    def __init__(self) -> None:
        self.script = Scripted()
        # Set by a test to answer as render's design.fit would have (None: drawn as asked).
        self.fitting: Fitting | None = None

    async def RenderQR(
        self, request: render_pb2.RenderQRRequest, context: Context
    ) -> render_pb2.RenderedImage:
        await self.script.enter("RenderQR", request, context)
        level = request.error_correction or "M"
        logo_size, warnings = 0.0, list[tuple[str, str]]()
        if self.fitting is not None:
            level, logo_size, warnings = self.fitting(request)
        code = segno.make_qr(request.payload, error=level)
        content_type = {"svg": "image/svg+xml", "pdf": "application/pdf"}.get(
            request.format, "image/png"
        )
        if content_type == "image/png":
            data = qr_png(
                request.payload, size=request.size, quiet_zone=request.quiet_zone, level=level
            )
        else:
            out = io.BytesIO()
            code.save(out, kind=request.format, border=request.quiet_zone)
            data = out.getvalue()
        return render_pb2.RenderedImage(
            data=data,
            content_type=content_type,
            version=int(code.version),
            error_correction=level,
            logo_size_applied=logo_size,
            warnings=[render_pb2.FitWarning(code=name, message=text) for name, text in warnings],
        )

    async def RenderQRBatch(
        self, request: render_pb2.RenderQRBatchRequest, context: Context
    ) -> render_pb2.RenderQRBatchResponse:
        """Each item as RenderQR answers it (and as scripted for RenderQR): an ApiError is that
        item's outcome; an abort or any other failure fails the whole call, as a real one would."""
        outcomes = []
        for item in request.items:
            try:
                image = await self.RenderQR(item, context)
            except ApiError as error:
                outcomes.append(render_pb2.RenderOutcome(error=error_message(error)))
            else:
                outcomes.append(render_pb2.RenderOutcome(image=image))
        return render_pb2.RenderQRBatchResponse(outcomes=outcomes)

    async def RenderBarcode(
        self, request: render_pb2.RenderBarcodeRequest, context: Context
    ) -> render_pb2.RenderedImage:
        await self.script.enter("RenderBarcode", request, context)
        # Not a real barcode: these tests look at what the gateway does with the answer.
        return render_pb2.RenderedImage(
            data=qr_png(request.value), content_type="image/png", version=0
        )


def stamp(seconds: float) -> Timestamp:
    value = Timestamp()
    value.FromMicroseconds(round(seconds * 1_000_000))
    return value


class FakeKeys(keys_pb2_grpc.KeysServiceServicer):
    """Accounts and keys in memory: ``add_key`` makes a secret that authenticates."""

    def __init__(self) -> None:
        self.script = Scripted()
        self.by_secret: dict[str, keys_pb2.AuthenticateResponse] = {}
        self.listed: dict[str, list[keys_pb2.ApiKey]] = {}
        self._ids = itertools.count(1)

    def reset(self) -> None:
        self.script.reset()

    def add_key(
        self,
        secret: str,
        account_id: str,
        *,
        permissions: tuple[str, ...] = ("read", "write"),
        plan: str = "pro",
        rate_limit_per_min: int = 1000,
        max_codes: int = 0,
        key_rate_limit_per_min: int = 0,
        expires_at: float | None = None,
        api_access: bool = True,
    ) -> keys_pb2.AuthenticateResponse:
        key = keys_pb2.ApiKey(
            key_id=f"key_{next(self._ids):08d}{account_id[-8:]}",
            account_id=account_id,
            name="test key",
            permissions=list(permissions),
            prefix=secret[:12],
            rate_limit_per_min=key_rate_limit_per_min,
        )
        if expires_at is not None:
            key.expires_at.CopyFrom(stamp(expires_at))
        response = keys_pb2.AuthenticateResponse(
            account=keys_pb2.Account(
                account_id=account_id,
                name="test account",
                plan=plan,
                api_access=api_access,
                rate_limit_per_min=rate_limit_per_min,
                max_codes=max_codes,
            ),
            key=key,
        )
        self.by_secret[secret] = response
        return response

    async def Authenticate(
        self, request: keys_pb2.AuthenticateRequest, context: Context
    ) -> keys_pb2.AuthenticateResponse:
        await self.script.enter("Authenticate", request, context)
        found = self.by_secret.get(request.api_key)
        if found is None:
            raise ApiError("INVALID_API_KEY", "Invalid API key")
        return found

    async def CreateKey(
        self, request: keys_pb2.CreateKeyRequest, context: Context
    ) -> keys_pb2.CreateKeyResponse:
        await self.script.enter("CreateKey", request, context)
        secret = f"sk_test_created{next(self._ids):08d}"
        key = keys_pb2.ApiKey(
            key_id=f"key_created{next(self._ids):08d}",
            account_id=request.account_id,
            name=request.name,
            permissions=list(request.permissions),
            prefix=secret[:12],
            created_at=stamp(1_780_000_000),
            rate_limit_per_min=request.rate_limit_per_min,
        )
        if request.HasField("expires_at"):
            key.expires_at.CopyFrom(request.expires_at)
        return keys_pb2.CreateKeyResponse(key=key, api_key=secret)

    async def ListKeys(
        self, request: keys_pb2.ListKeysRequest, context: Context
    ) -> keys_pb2.ListKeysResponse:
        await self.script.enter("ListKeys", request, context)
        return keys_pb2.ListKeysResponse(keys=self.listed.get(request.account_id, []))

    async def RevokeKey(
        self, request: keys_pb2.RevokeKeyRequest, context: Context
    ) -> keys_pb2.RevokeKeyResponse:
        await self.script.enter("RevokeKey", request, context)
        for secret, found in list(self.by_secret.items()):
            if (found.key.key_id, found.account.account_id) == (
                request.key_id,
                request.account_id,
            ):
                del self.by_secret[secret]
                return keys_pb2.RevokeKeyResponse()
        raise ApiError("KEY_NOT_FOUND", "No such API key in this account")


class FakeAnalytics(analytics_pb2_grpc.AnalyticsServiceServicer):
    """Answers what it was given (``code_stats`` by qr id, ``overview``, …), zeros otherwise."""

    def __init__(self) -> None:
        self.script = Scripted()
        self.reset()

    def reset(self) -> None:
        self.script.reset()
        self.code_stats: dict[str, analytics_pb2.CodeStats] = {}
        self.overview = analytics_pb2.AccountOverview()
        self.series = analytics_pb2.TimeSeries()
        self.breakdowns: dict[str, list[analytics_pb2.Share]] = {}

    async def GetCodeStats(
        self, request: analytics_pb2.StatsQuery, context: Context
    ) -> analytics_pb2.CodeStats:
        await self.script.enter("GetCodeStats", request, context)
        return self.code_stats.get(request.qr_id, analytics_pb2.CodeStats())

    async def GetTimeSeries(
        self, request: analytics_pb2.TimeSeriesQuery, context: Context
    ) -> analytics_pb2.TimeSeries:
        await self.script.enter("GetTimeSeries", request, context)
        return self.series

    async def GetBreakdown(
        self, request: analytics_pb2.BreakdownQuery, context: Context
    ) -> analytics_pb2.Breakdown:
        await self.script.enter("GetBreakdown", request, context)
        return analytics_pb2.Breakdown(rows=self.breakdowns.get(request.dimension, []))

    async def GetAccountOverview(
        self, request: analytics_pb2.OverviewQuery, context: Context
    ) -> analytics_pb2.AccountOverview:
        await self.script.enter("GetAccountOverview", request, context)
        return self.overview


@dataclass
class FakeBackends:
    """The three fakes on one gRPC server (one address serves all three services)."""

    render: FakeRender
    keys: FakeKeys
    analytics: FakeAnalytics
    server: GrpcServer

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    @classmethod
    async def start(cls, auth_token: str) -> FakeBackends:
        server = GrpcServer(0, host="127.0.0.1", auth_token=auth_token)
        # The generated servicer bases declare every RPC abstract; the fakes implement what the
        # gateway calls, and the bases answer UNIMPLEMENTED for the rest (GetAccount, …).
        render: FakeRender = cast(Any, FakeRender)()
        keys: FakeKeys = cast(Any, FakeKeys)()
        analytics: FakeAnalytics = cast(Any, FakeAnalytics)()
        render_pb2_grpc.add_RenderServiceServicer_to_server(render, server.server)
        keys_pb2_grpc.add_KeysServiceServicer_to_server(keys, server.server)
        analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(analytics, server.server)
        await server.start()
        return cls(render, keys, analytics, server)

    def reset(self) -> None:
        self.render.script.reset()
        self.render.fitting = None
        self.keys.reset()
        self.analytics.reset()

    async def stop(self) -> None:
        await self.server.stop(0)
