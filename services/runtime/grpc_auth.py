"""Who may call the internal gRPC services: only a peer that presents the shared token.

Every call carries ``authorization: Bearer <GRPC_AUTH_TOKEN>`` in its metadata. Servers check
it before any handler runs and answer UNAUTHENTICATED otherwise; clients add it in a channel
interceptor, so no call site can forget it. The token is a process setting like any secret: read
once by the service's settings, never logged, never part of a ``repr``.

The standard ``grpc.health.v1.Health`` service stays open: it tells only SERVING / NOT_SERVING,
and probes (kubelet's gRPC probe, ``grpc_health_probe``, load balancers) cannot send metadata.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

import grpc

from services.runtime.config import ConfigError, env_str
from services.runtime.metrics import grpc_server_unauthenticated_total

GRPC_AUTH_TOKEN_ENV: Final = "GRPC_AUTH_TOKEN"  # noqa: S105 - the setting's name, not a value
# 32 characters: `openssl rand -hex 32` gives 64, `secrets.token_urlsafe(32)` 43; a short
# hand-typed password would be guessable by anyone who can reach the port.
MIN_TOKEN_LENGTH: Final = 32
AUTHORIZATION_KEY: Final = "authorization"
BEARER_PREFIX: Final = "Bearer "
UNAUTHENTICATED_MESSAGE: Final = "missing or invalid internal credentials"
OPEN_SERVICE_PREFIX: Final = "/grpc.health.v1.Health/"


def grpc_auth_token_from_env(env: Mapping[str, str] | None = None) -> str:
    """``GRPC_AUTH_TOKEN``, required in every environment: a development default would be a
    published credential for whoever shares the host."""
    token = env_str(GRPC_AUTH_TOKEN_ENV, "", env)
    check_token(token)
    return token


def check_token(token: str) -> None:
    """Raises :class:`ConfigError` (without the value) when ``token`` is unusable."""
    if not token:
        raise ConfigError(
            f"{GRPC_AUTH_TOKEN_ENV} must be set: the internal gRPC services accept only callers "
            "that present it (`make run` generates one; `openssl rand -hex 32`)"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{GRPC_AUTH_TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters")
    # It travels as an HTTP/2 header value: printable ASCII, and no spaces so "Bearer " parses.
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise ConfigError(f"{GRPC_AUTH_TOKEN_ENV} must be printable ASCII without spaces")


def bearer_value(token: str) -> str:
    return f"{BEARER_PREFIX}{token}"


async def _reject(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
    grpc_server_unauthenticated_total.inc()
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)


def _rejecting_handler(
    handler: grpc.RpcMethodHandler[Any, Any] | None,
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same kind as ``handler`` that aborts at once (the request is never
    deserialized, so nothing the caller sent is parsed)."""
    if handler is not None and handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_reject)
    if handler is not None and handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_reject)
    if handler is not None and handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(_reject)
    return grpc.unary_unary_rpc_method_handler(_reject)


class TokenCheckingInterceptor(grpc.aio.ServerInterceptor):
    """Lets a call reach its handler only when its metadata holds the expected bearer token.

    It must be the first interceptor: a refused call then never reaches a servicer, and an
    unknown method is refused the same way (a stranger learns nothing about which exist)."""

    def __init__(self, token: str) -> None:
        check_token(token)
        self._expected = bearer_value(token).encode()

    def _is_authenticated(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> bool:
        presented = [v for k, v in metadata or () if k == AUTHORIZATION_KEY]
        if len(presented) != 1 or not isinstance(presented[0], str):
            return False
        # Constant time: the comparison must not tell how many leading characters matched.
        return hmac.compare_digest(presented[0].encode("utf-8", "replace"), self._expected)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler_call_details.method.startswith(OPEN_SERVICE_PREFIX):
            return handler
        if self._is_authenticated(handler_call_details.invocation_metadata):
            return handler
        return _rejecting_handler(handler)


def _with_token(
    details: grpc.aio.ClientCallDetails, entry: tuple[str, str]
) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()), entry)
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=metadata,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


class TokenAttachingInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the bearer token to every unary call made on the channel it is installed on."""

    def __init__(self, token: str) -> None:
        check_token(token)
        self._entry = (AUTHORIZATION_KEY, bearer_value(token))

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_token(client_call_details, self._entry), request)


class TokenAttachingStreamInterceptor(grpc.aio.UnaryStreamClientInterceptor):
    """Adds the bearer token to every server-streaming call made on the channel (grpc.aio
    takes one interceptor class per call shape)."""

    def __init__(self, token: str) -> None:
        check_token(token)
        self._entry = (AUTHORIZATION_KEY, bearer_value(token))

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_token(client_call_details, self._entry), request)
