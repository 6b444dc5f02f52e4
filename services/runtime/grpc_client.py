"""Calling another service: every call has a deadline, carries the request id, is counted, and
fails as an :class:`ApiError` (a down or slow backend is SERVICE_UNAVAILABLE, never a hang)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeVar

import grpc

from services.runtime.errors import ApiError
from services.runtime.grpc_auth import TokenAttachingInterceptor, TokenAttachingStreamInterceptor
from services.runtime.grpc_errors import api_error_from_rpc
from services.runtime.grpc_server import REQUEST_ID_KEY
from services.runtime.grpc_tls import GrpcTls
from services.runtime.logs import request_id_var
from services.runtime.metrics import grpc_client_requests_total

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


def open_channel(address: str, *, auth_token: str, tls: GrpcTls | None = None) -> grpc.aio.Channel:
    """A channel whose every call presents ``auth_token`` (see :mod:`services.runtime.grpc_auth`),
    over mutual TLS when ``tls`` is given.

    Calls are balanced round-robin over every address the target resolves to: in Kubernetes
    the target is ``dns:///<headless service>:<port>``, one address per pod (a plain Service's
    single virtual IP would pin each gateway to one pod for the connection's life)."""
    options = [
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.max_send_message_length", 16 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.enable_retries", 1),
    ]
    interceptors: list[grpc.aio.ClientInterceptor] = [
        TokenAttachingInterceptor(auth_token),
        TokenAttachingStreamInterceptor(auth_token),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(
        address, tls.channel_credentials(), options=options, interceptors=interceptors
    )


async def call_unary(
    method: grpc.aio.UnaryUnaryMultiCallable[RequestT, ResponseT],
    request: RequestT,
    *,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline, passed through
    name: str,
) -> ResponseT:
    """Call ``method`` with a deadline of ``timeout`` seconds and the current request id."""
    request_id = request_id_var.get()
    metadata = ((REQUEST_ID_KEY, request_id),) if request_id else ()
    try:
        response: ResponseT = await method(request, timeout=timeout, metadata=metadata)
    except grpc.aio.AioRpcError as err:
        grpc_client_requests_total.labels(name, err.code().name).inc()
        raise api_error_from_rpc(err) from None
    except grpc.aio.UsageError:
        grpc_client_requests_total.labels(name, "UNAVAILABLE").inc()
        raise ApiError(
            "SERVICE_UNAVAILABLE", "A backing service is unavailable, try again"
        ) from None
    grpc_client_requests_total.labels(name, "OK").inc()
    return response


async def call_server_stream(
    method: grpc.aio.UnaryStreamMultiCallable[RequestT, ResponseT],
    request: RequestT,
    *,
    timeout: float,  # noqa: ASYNC109 - the gRPC deadline, passed through
    name: str,
) -> AsyncGenerator[ResponseT, None]:
    """The messages of a server-streaming call, failing as :func:`call_unary` does (an
    ApiError). The deadline covers the whole stream. Closing the iterator early cancels the
    call, so the server stops producing."""
    request_id = request_id_var.get()
    metadata = ((REQUEST_ID_KEY, request_id),) if request_id else ()
    try:
        call = method(request, timeout=timeout, metadata=metadata)
    except grpc.aio.UsageError:
        grpc_client_requests_total.labels(name, "UNAVAILABLE").inc()
        raise ApiError(
            "SERVICE_UNAVAILABLE", "A backing service is unavailable, try again"
        ) from None
    try:
        async for message in call:
            yield message
    except grpc.aio.AioRpcError as err:
        grpc_client_requests_total.labels(name, err.code().name).inc()
        raise api_error_from_rpc(err) from None
    finally:
        call.cancel()  # a no-op once the stream ended
    grpc_client_requests_total.labels(name, "OK").inc()
