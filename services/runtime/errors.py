"""The API error shape shared by every service.

Domain code raises :class:`ApiError` with a code from API.md's error table; the HTTP
middleware turns it into the JSON envelope and the gRPC interceptor carries it across
service boundaries in trailing metadata, so the code a client sees is the one the domain
chose, whichever service raised it.
"""

from __future__ import annotations

from typing import Any, Final

HTTP_STATUS: Final[dict[str, int]] = {
    "INVALID_API_KEY": 401,
    "INSUFFICIENT_PERMISSION": 403,
    "API_NOT_AVAILABLE": 403,
    "QUOTA_EXCEEDED": 403,
    "INVALID_JSON": 400,
    "INVALID_PARAMETER": 400,
    "INVALID_TYPE": 400,
    "INVALID_CONTENT": 400,
    "INVALID_COLOR": 400,
    "LOGO_TOO_LARGE": 400,
    "LOGO_FETCH_FAILED": 400,
    "INVALID_EAN": 400,
    "INVALID_BARCODE_VALUE": 400,
    "INVALID_GS1": 400,
    "NOT_DYNAMIC": 400,
    "BATCH_TOO_LARGE": 400,
    "INVALID_IMAGE": 400,
    "QR_NOT_FOUND": 404,
    "BARCODE_NOT_FOUND": 404,
    "KEY_NOT_FOUND": 404,
    "DESIGN_NOT_FOUND": 404,
    "WEBHOOK_NOT_FOUND": 404,
    "DELIVERY_NOT_FOUND": 404,
    "IMPORT_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "IDEMPOTENCY_CONFLICT": 409,
    "SLUG_TAKEN": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "DATA_TOO_LONG": 422,
    "UNSCANNABLE_DESIGN": 422,
    "RATE_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


class ApiError(Exception):
    """An error a client is meant to see: a code from API.md, a message, optional details."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown API error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        merged: dict[str, Any] = dict(details or {})
        if field is not None:
            merged["field"] = field
        self.details: dict[str, Any] | None = merged or None

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    @property
    def field(self) -> str | None:
        value = (self.details or {}).get("field")
        return value if isinstance(value, str) else None

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"success": False, "error": error}

    def __reduce__(self) -> tuple[Any, ...]:
        # Render workers raise ApiErrors in a process pool: they must survive pickling.
        return (_rebuild, (self.code, self.message, self.details))

    def __repr__(self) -> str:
        return f"ApiError({self.code!r}, {self.message!r}, details={self.details!r})"


def _rebuild(code: str, message: str, details: dict[str, Any] | None) -> ApiError:
    return ApiError(code, message, details=details)
