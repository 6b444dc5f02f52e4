"""Where a client connects and how it behaves, read once (arguments first, then the environment:
``QRFORGE_URL``, ``QRFORGE_API_KEY``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import httpx

from qrforge.client.retries import RetryPolicy

DEFAULT_URL: Final = "http://127.0.0.1:8080"
URL_ENV: Final = "QRFORGE_URL"
API_KEY_ENV: Final = "QRFORGE_API_KEY"
USER_AGENT: Final = "qrforge-python/0.1.0"


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    api_key: str | None
    timeout: httpx.Timeout
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def resolve(
        cls,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy | None,
        env: Mapping[str, str] | None = None,
    ) -> ClientSettings:
        environ = os.environ if env is None else env
        return cls(
            base_url=(base_url or environ.get(URL_ENV) or DEFAULT_URL).rstrip("/"),
            api_key=api_key or environ.get(API_KEY_ENV) or None,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            retry=retry or RetryPolicy(),
        )

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def request_headers(method: str, call_headers: Mapping[str, str]) -> dict[str, str]:
    """The call's headers plus an ``Idempotency-Key`` on every POST that has none: made once per
    call, so every retry of it carries the same key and the server does it at most once."""
    headers = dict(call_headers)
    if method == "POST" and not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers
