"""One delivery attempt over HTTP, within the limits API.md sets.

- The host is checked before connecting, against the rules of
  :mod:`services.runtime.public_addresses` (the allowlist aside, public addresses only), and
  the connection goes to exactly the vetted addresses (a pinned resolver): a DNS answer that
  changed to a private address after the endpoint was created is refused, never called. The
  check is repeated at least every ``revet_s`` per host; keep-alive connections stay pinned to
  addresses that passed it.
- One deadline (``timeout_s``, 10 s) covers connect, send and the answer; redirects are not
  followed (a 3xx is a failure: the customer fixes the URL); no proxy from the environment.
- At most ``max_response_bytes`` (64 KiB) of the answer are read (so the connection can be
  reused), never kept; a longer answer drops the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import aiohttp
from yarl import URL

from services.runtime.public_addresses import (
    BlockedAddressError,
    PinnedResolver,
    Resolve,
    vet_host,
)
from services.webhooks.url_safety import UnsafeUrlError, default_port, parse_endpoint_url

USER_AGENT: Final = "QRForge-Webhooks/1"
_CHUNK: Final = 16 * 1024
MAX_HOSTS: Final = 1024


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None  # None: no HTTP answer
    error: str  # "" when accepted; short and safe to show the customer

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


@dataclass(slots=True)
class _HostClient:
    session: aiohttp.ClientSession
    addresses: tuple[str, ...]
    vetted_at: float


class HttpSender:
    def __init__(
        self,
        allowlist: Sequence[str],
        *,
        timeout_s: float,
        max_response_bytes: int,
        ssl_context: ssl.SSLContext | None = None,
        resolve: Resolve | None = None,
        revet_s: float = 30.0,
        connections_per_host: int = 64,
    ) -> None:
        self._allowlist = tuple(allowlist)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_bytes = max_response_bytes
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._resolve = resolve
        self._revet_s = revet_s
        self._per_host = connections_per_host
        self._hosts: OrderedDict[tuple[str, str, int], _HostClient] = OrderedDict()
        self._locks: dict[tuple[str, str, int], asyncio.Lock] = {}

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        try:
            parsed = parse_endpoint_url(url, self._allowlist)
        except UnsafeUrlError as exc:
            return AttemptResult(None, str(exc))
        try:
            async with asyncio.timeout(self._timeout.total):
                session = await self._session_for(parsed)
                return await self._send(session, parsed, headers, body)
        except BlockedAddressError as exc:
            return AttemptResult(None, f"refused: {exc}")
        except TimeoutError:
            return AttemptResult(None, f"no answer within {self._timeout.total:g} s")
        except aiohttp.ClientSSLError:
            return AttemptResult(None, "TLS handshake or certificate check failed")
        except (aiohttp.ClientError, OSError, ValueError):
            return AttemptResult(None, "connection failed")

    async def _send(
        self, session: aiohttp.ClientSession, url: URL, headers: dict[str, str], body: bytes
    ) -> AttemptResult:
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **headers,
        }
        async with session.post(
            url, data=body, headers=all_headers, allow_redirects=False
        ) as response:
            read = 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                read += len(chunk)
                if read > self._max_bytes:
                    response.close()  # drop the connection rather than read the rest
                    break
            status = response.status
        return AttemptResult(status, "" if 200 <= status < 300 else f"HTTP {status}")

    async def _session_for(self, url: URL) -> aiohttp.ClientSession:
        host = url.raw_host or ""
        key = (url.scheme.lower(), host, default_port(url))
        client = self._hosts.get(key)
        if client is not None and time.monotonic() - client.vetted_at < self._revet_s:
            return client.session  # the hot path: no lock, no DNS
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            client = self._hosts.get(key)
            now = time.monotonic()
            if client is not None and now - client.vetted_at < self._revet_s:
                self._hosts.move_to_end(key)
                return client.session
            vetted = await vet_host(host, key[2], self._allowlist, self._resolve)
            addresses = tuple(sorted(result["host"] for result in vetted))
            if client is not None and client.addresses == addresses:
                client.vetted_at = now
                return client.session
            if client is not None:
                await self._drop(key)
            connector = aiohttp.TCPConnector(
                resolver=PinnedResolver(host, vetted),
                ssl=self._ssl,
                use_dns_cache=False,
                limit=self._per_host,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # HTTPS_PROXY and friends would route around the checks
                auto_decompress=False,
                timeout=self._timeout,
            )
            self._hosts[key] = _HostClient(session, addresses, now)
            while len(self._hosts) > MAX_HOSTS:
                await self._drop(next(iter(self._hosts)))
            return session

    async def _drop(self, key: tuple[str, str, int]) -> None:
        self._locks.pop(key, None)
        client = self._hosts.pop(key, None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.session.close()

    async def close(self) -> None:
        for key in list(self._hosts):
            await self._drop(key)
