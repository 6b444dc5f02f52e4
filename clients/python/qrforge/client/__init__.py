"""QRForge Python SDK: ``Client`` (blocking) and ``AsyncClient`` (asyncio) over the REST API,
typed records in ``models``, exceptions in ``errors``, webhook signature checks.

    from qrforge.client import Client

    with Client(api_key="sk_live_…", base_url="https://qr.example.com") as qr:
        code = qr.generate_qr("url", "https://example.com", include_image=True)
        qr.generate_qr_image("url", "https://example.com").save("code.png")
"""

from qrforge.client import models
from qrforge.client.async_client import AsyncClient
from qrforge.client.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    QRForgeError,
    RateLimitError,
    ServerError,
)
from qrforge.client.retries import RetryPolicy
from qrforge.client.sync_client import Client
from qrforge.client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "InvalidRequestError",
    "NetworkError",
    "NotFoundError",
    "PermissionDeniedError",
    "QRForgeError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "WebhookVerificationError",
    "models",
    "verify_webhook",
]
