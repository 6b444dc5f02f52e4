"""What can go wrong talking to the API, as exceptions.

``ApiError`` carries the API's error envelope as it was sent (``code`` from the API's error table,
``message``, ``details``, the HTTP status and the request id to quote in a support request);
subclasses group the codes a caller usually treats alike. ``NetworkError`` means no answer
came at all (server down, DNS, timeout)."""

from __future__ import annotations

from typing import Any


class QRForgeError(Exception):
    """Base of every exception the SDK raises."""


class NetworkError(QRForgeError):
    """No HTTP answer: the server could not be reached or did not answer in time."""


class ApiError(QRForgeError):
    """The API answered with an error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.request_id = request_id


class AuthenticationError(ApiError):
    """401: the key is missing, unknown, revoked or expired."""


class PermissionDeniedError(ApiError):
    """403: the key or the plan does not allow this (or the quota is reached)."""


class NotFoundError(ApiError):
    """404: no such resource in the caller's account (``QR_NOT_FOUND``, ``KEY_NOT_FOUND``, …)."""


class ConflictError(ApiError):
    """409: e.g. an ``Idempotency-Key`` reused with another body."""


class InvalidRequestError(ApiError):
    """400, 413, 415, 422: the request itself is wrong; retrying it the same way will not help."""


class RateLimitError(ApiError):
    """429: over the rate limit, still so after the client's retries."""


class ServerError(ApiError):
    """5xx: the service failed or a backing service is down, still so after retries."""


def error_class(status: int) -> type[ApiError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return InvalidRequestError
