"""Who is calling: API keys resolved through the keys service, cached briefly.

The cache is keyed by a SHA-256 of the presented key, so no secret sits in memory as a dict key
or in a log. ``key.revoked`` events evict entries at once; the TTL bounds staleness should an
event be missed, and expiry is re-checked on every hit.
"""

from __future__ import annotations

import hashlib
import time
from typing import Final

from aiohttp import web

from qrforge.v1 import keys_pb2_grpc
from services.gateway.account.principal import Principal
from services.gateway.backends import keys
from services.runtime.errors import ApiError

MAX_CACHED_KEYS: Final = 100_000


def presented_key(request: web.Request) -> str | None:
    """The key from ``Authorization: Bearer`` or ``X-API-Key``; never from the query string."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = request.headers.get("X-API-Key", "").strip()
    return api_key or None


class Authenticator:
    def __init__(
        self, stub: keys_pb2_grpc.KeysServiceAsyncStub, ttl_s: float, timeout_s: float
    ) -> None:
        self._keys = keys.KeysBackend(stub, timeout_s)
        self._ttl_s = ttl_s
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._digests_by_key_id: dict[str, set[bytes]] = {}

    def known(self, secret: str | None) -> Principal | None:
        """The caller, when ``secret`` is a key this gateway authenticated lately (cached and
        not expired): such a caller is not held back by the failures of others at its address,
        and costs no call to keys. ``None`` means: :meth:`authenticate` it."""
        if not secret:
            return None
        cached = self._cache.get(hashlib.sha256(secret.encode()).digest())
        if cached is None or cached[0] <= time.monotonic():
            return None
        principal = cached[1]
        if principal.expires_at is not None and principal.expires_at <= time.time():
            return None  # authenticate() says why, and evicts it
        return principal

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise ApiError("INVALID_API_KEY", "Missing API key")
        digest = hashlib.sha256(secret.encode()).digest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await keys.authenticate(self._keys, secret)
            self._remember(digest, principal, now)
        if principal.expires_at is not None and principal.expires_at <= time.time():
            self.evict_key(principal.key_id)
            raise ApiError("INVALID_API_KEY", "The API key has expired")
        return principal

    def _remember(self, digest: bytes, principal: Principal, now: float) -> None:
        if len(self._cache) >= MAX_CACHED_KEYS:
            self._cache.clear()
            self._digests_by_key_id.clear()
        self._cache[digest] = (now + self._ttl_s, principal)
        self._digests_by_key_id.setdefault(principal.key_id, set()).add(digest)

    def forget_all(self) -> None:
        """Drop every cached key: revocations may have been missed (the broker link was down)."""
        self._cache.clear()
        self._digests_by_key_id.clear()

    def evict_key(self, key_id: str) -> None:
        for digest in self._digests_by_key_id.pop(key_id, ()):
            self._cache.pop(digest, None)
