"""One way to run a gRPC service: interceptors for caller authentication, request id, metrics
and ApiError mapping, the standard ``grpc.health.v1`` service, and a graceful stop that lets
in-flight calls finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.runtime.errors import ApiError
from services.runtime.grpc_auth import TokenCheckingInterceptor
from services.runtime.grpc_errors import grpc_status_for, trailing_metadata_for
from services.runtime.grpc_tls import GrpcTls
from services.runtime.logs import request_id_var
from services.runtime.metrics import (
    grpc_server_request_duration_seconds,
    grpc_server_requests_total,
)

log = logging.getLogger(__name__)

REQUEST_ID_KEY = "x-request-id"

_Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def _request_id_from(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and isinstance(value, str):
            return value
    return None


@asynccontextmanager
async def _served_call(
    method: str, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[None]:
    """Around one served call (unary or streaming): the caller's request id bound to the
    logs, the call counted and timed, a raised :class:`ApiError` turned into a status and
    trailing metadata, anything else into INTERNAL (logged)."""
    token = request_id_var.set(_request_id_from(context))
    started = time.perf_counter()
    code = "OK"
    try:
        yield
    except ApiError as err:
        status = grpc_status_for(err)
        code = status.name
        await context.abort(status, err.message, trailing_metadata=trailing_metadata_for(err))
    except grpc.aio.AbortError:
        code = "ABORTED"
        raise
    except asyncio.CancelledError:
        code = "CANCELLED"
        raise
    except Exception:
        code = "INTERNAL"
        log.exception("unhandled error in %s", method)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
    finally:
        grpc_server_requests_total.labels(method, code).inc()
        grpc_server_request_duration_seconds.labels(method).observe(time.perf_counter() - started)
        request_id_var.reset(token)


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every unary call: binds the caller's request id to the logs, counts and times
    the call, and turns a raised :class:`ApiError` into a status + trailing metadata."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is not None and handler.unary_stream is not None:
            return _wrapped_server_stream(handler, handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        # Our servicers are async, so the handler grpc.aio built returns an awaitable.
        inner = cast(_Handler, handler.unary_unary)

        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with _served_call(method, context):
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


_StreamHandler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


def _wrapped_server_stream(
    handler: grpc.RpcMethodHandler[Any, Any], details: grpc.HandlerCallDetails
) -> grpc.RpcMethodHandler[Any, Any]:
    """What :class:`ServiceInterceptor` does for unary calls, for a server-streaming one: an
    ApiError raised before or between messages ends the stream with its status."""
    method = details.method.rsplit("/", 1)[-1]
    inner = cast(_StreamHandler, handler.unary_stream)

    async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with _served_call(method, context):
            async for message in inner(request, context):
                yield message

    return grpc.unary_stream_rpc_method_handler(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class GrpcServer:
    """A started ``grpc.aio`` server with the health service marked SERVING."""

    def __init__(
        self, port: int, *, host: str, auth_token: str, tls: GrpcTls | None = None
    ) -> None:
        self.server = grpc.aio.server(
            # Authentication first (outermost): a refused call reaches no servicer.
            interceptors=[TokenCheckingInterceptor(auth_token), ServiceInterceptor()],
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
                # Clients reconnect (and resolve the pods again) at least every 5 minutes, so
                # pods added by a scale-up receive calls too.
                ("grpc.max_connection_age_ms", 300_000),
                ("grpc.max_connection_age_grace_ms", 30_000),
            ],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        address = f"{host}:{port}"
        if tls is None:
            self.port = self.server.add_insecure_port(address)
        else:
            self.port = self.server.add_secure_port(address, tls.server_credentials())

    async def start(self) -> None:
        await self.server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc server listening", extra={"port": self.port})

    async def stop(self, grace_s: float) -> None:
        """Refuse new calls, let in-flight ones finish within ``grace_s``, then cancel them."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)


class GrpcServiceSettings(Protocol):
    """What every gRPC service's settings say about its server."""

    @property
    def port(self) -> int: ...
    @property
    def grpc_host(self) -> str: ...
    @property
    def grpc_auth_token(self) -> str: ...
    @property
    def grpc_tls(self) -> GrpcTls | None: ...
    @property
    def shutdown_grace_s(self) -> float: ...


async def start_grpc_server(
    stack: AsyncExitStack,
    settings: GrpcServiceSettings,
    add_servicer: Callable[[grpc.aio.Server], None],
) -> GrpcServer:
    """The service's gRPC server, its servicer added, started, and its graceful stop (within
    ``shutdown_grace_s``) pushed on ``stack``: one lifecycle entry, as every service opens it."""
    server = GrpcServer(
        settings.port,
        host=settings.grpc_host,
        auth_token=settings.grpc_auth_token,
        tls=settings.grpc_tls,
    )
    add_servicer(server.server)
    await server.start()
    stack.push_async_callback(server.stop, settings.shutdown_grace_s)
    return server
