"""How an :class:`ApiError` crosses a gRPC boundary and comes back as itself.

The server puts the API code and details in trailing metadata next to a matching gRPC status;
the client rebuilds the same ApiError, so the gateway answers with the code the domain chose.
"""

from __future__ import annotations

import json
import logging
from typing import Final

import grpc

from services.runtime.errors import HTTP_STATUS, ApiError

CODE_KEY: Final = "qrforge-error-code"
DETAILS_KEY: Final = "qrforge-error-details"

log = logging.getLogger(__name__)

_GRPC_STATUS_BY_HTTP: Final[dict[int, grpc.StatusCode]] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.FAILED_PRECONDITION,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
}


def grpc_status_for(error: ApiError) -> grpc.StatusCode:
    return _GRPC_STATUS_BY_HTTP.get(error.status, grpc.StatusCode.UNKNOWN)


def trailing_metadata_for(error: ApiError) -> tuple[tuple[str, str], ...]:
    metadata: list[tuple[str, str]] = [(CODE_KEY, error.code)]
    if error.details is not None:
        metadata.append((DETAILS_KEY, json.dumps(error.details, separators=(",", ":"))))
    return tuple(metadata)


def api_error_from_rpc(err: grpc.aio.AioRpcError) -> ApiError:
    """The ApiError a failed call stands for; transport failures become SERVICE_UNAVAILABLE."""
    metadata = {
        key: value for key, value in (err.trailing_metadata() or ()) if isinstance(value, str)
    }
    code = metadata.get(CODE_KEY)
    if code in HTTP_STATUS:
        details = None
        raw = metadata.get(DETAILS_KEY)
        if raw:
            try:
                loaded = json.loads(raw)
                details = loaded if isinstance(loaded, dict) else None
            except ValueError:
                details = None
        return ApiError(code, err.details() or code, details=details)
    if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ApiError("SERVICE_UNAVAILABLE", "A backing service is unavailable, try again")
    if err.code() == grpc.StatusCode.UNAUTHENTICATED:
        # Without our error code, this is the backend's interceptor refusing this service's
        # own credentials (a GRPC_AUTH_TOKEN or certificate that does not match): to the
        # client the backend is unavailable; to the operator it is a misconfiguration.
        log.error("a backing service refused this service's gRPC credentials")
        return ApiError("SERVICE_UNAVAILABLE", "A backing service is unavailable, try again")
    return ApiError("INTERNAL_ERROR", "Internal error")
