"""One delivery attempt over HTTP, within the limits API.md sets.

- The host is checked before connecting, against the rules of
  :mod:`services.runtime.public_addresses` (the allowlist aside, public addresses only), and
  the connection goes to exactly the vetted addresses (no second lookup): a DNS answer that
  changed to a private address after the endpoint was created is refused, never called. The
  check is repeated at least every ``revet_s`` per host; keep-alive connections stay pinned to
  addresses that passed it.
- One deadline (``timeout_s``, 10 s) covers connect, send and the answer; redirects are not
  followed (a 3xx is a failure: the customer fixes the URL); no proxy from the environment.
- At most ``max_response_bytes`` (64 KiB) of the answer are read (so the connection can be
  reused), never kept; a longer answer drops the connection.
- The exchange itself is :mod:`services.webhooks.http_connections` (a lean HTTP/1.1 client
  whose answers llhttp parses: the CPU of each attempt is what bounds deliveries per second).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from services.runtime.public_addresses import BlockedAddressError, Resolve, vet_host
from services.webhooks.http_connections import (
    ConnectionLostError,
    ConnectionPool,
    InvalidAnswerError,
)
from services.webhooks.url_safety import UnsafeUrlError, default_port, parse_endpoint_url

USER_AGENT: Final = "QRForge-Webhooks/1"
MAX_HOSTS: Final = 1024
MAX_URLS: Final = 4096


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
    pool: ConnectionPool
    addresses: tuple[str, ...]
    vetted_at: float


@dataclass(frozen=True, slots=True)
class _Target:
    """An endpoint URL as a request needs it, parsed once (every attempt to an endpoint has
    the same URL)."""

    key: tuple[str, str, int]  # scheme, host, port: one pool each
    host: str
    head: bytes  # request line, Host, User-Agent and Content-Type


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
        self._timeout_s = timeout_s
        self._max_bytes = max_response_bytes
        self._ssl = ssl_context  # the system's trust store, loaded at the first https host
        self._resolve = resolve
        self._revet_s = revet_s
        self._per_host = connections_per_host
        self._hosts: OrderedDict[tuple[str, str, int], _HostClient] = OrderedDict()
        self._locks: dict[tuple[str, str, int], asyncio.Lock] = {}
        self._targets: dict[str, _Target | str] = {}  # URL -> target, or why it is refused

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        target = self._target_of(url)
        if isinstance(target, str):
            return AttemptResult(None, target)
        try:
            request = _request(target, headers, body)
            async with asyncio.timeout(self._timeout_s):
                pool = await self._pool_for(target)
                status = await pool.exchange(request)
        except BlockedAddressError as exc:
            return AttemptResult(None, f"refused: {exc}")
        except TimeoutError:
            return AttemptResult(None, f"no answer within {self._timeout_s:g} s")
        except ssl.SSLError:
            return AttemptResult(None, "TLS handshake or certificate check failed")
        except InvalidAnswerError:
            return AttemptResult(None, "the answer was not valid HTTP")
        except (ConnectionLostError, OSError, ValueError):
            return AttemptResult(None, "connection failed")
        return AttemptResult(status, "" if 200 <= status < 300 else f"HTTP {status}")

    def _target_of(self, url: str) -> _Target | str:
        target = self._targets.get(url)
        if target is None:
            try:
                parsed = parse_endpoint_url(url, self._allowlist)
            except UnsafeUrlError as exc:
                target = str(exc)
            else:
                scheme = parsed.scheme.lower()
                host = parsed.raw_host or ""
                target = _Target(
                    (scheme, host, default_port(parsed)),
                    host,
                    (
                        f"POST {parsed.raw_path_qs or '/'} HTTP/1.1\r\n"
                        f"Host: {parsed.raw_authority}\r\n"
                        f"User-Agent: {USER_AGENT}\r\n"
                        "Content-Type: application/json\r\n"
                    ).encode("latin-1"),
                )
            if len(self._targets) >= MAX_URLS:
                self._targets.clear()
            self._targets[url] = target
        return target

    async def _pool_for(self, target: _Target) -> ConnectionPool:
        key = target.key
        client = self._hosts.get(key)
        if client is not None and time.monotonic() - client.vetted_at < self._revet_s:
            return client.pool  # the hot path: no lock, no DNS
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            client = self._hosts.get(key)
            now = time.monotonic()
            if client is not None and now - client.vetted_at < self._revet_s:
                self._hosts.move_to_end(key)
                return client.pool
            vetted = await vet_host(target.host, key[2], self._allowlist, self._resolve)
            addresses = tuple(sorted(result["host"] for result in vetted))
            if client is not None and client.addresses == addresses:
                client.vetted_at = now
                return client.pool
            if client is not None:
                self._drop(key)
            tls: ssl.SSLContext | None = None
            if key[0] == "https":
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
                tls = self._ssl
            # Connections go to exactly the vetted addresses (none for an IP literal: the
            # literal itself, vetted as such); keep-alive ones stay pinned to them.
            pool = ConnectionPool(
                target.host.strip("[]"),
                addresses,
                key[2],
                tls,
                limit=self._per_host,
                max_body=self._max_bytes,
            )
            self._hosts[key] = _HostClient(pool, addresses, now)
            while len(self._hosts) > MAX_HOSTS:
                self._drop(next(iter(self._hosts)))
            return pool

    def _drop(self, key: tuple[str, str, int]) -> None:
        self._locks.pop(key, None)
        client = self._hosts.pop(key, None)
        if client is not None:
            client.pool.close()

    async def close(self) -> None:
        for key in list(self._hosts):
            self._drop(key)


_NOT_IN_HEADERS: Final = re.compile(r"[\r\n\0]")


def _request(target: _Target, headers: dict[str, str], body: bytes) -> bytes:
    """The POST, head and body. A header name or value holding CR, LF or NUL could end the
    header or inject another: it is refused (``ValueError``) before anything is sent."""
    for name, value in headers.items():
        if _NOT_IN_HEADERS.search(name) or _NOT_IN_HEADERS.search(value):
            raise ValueError("header names and values cannot hold CR, LF or NUL")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return b"%sContent-Length: %d\r\n%s\r\n%s" % (
        target.head,
        len(body),
        extra.encode("latin-1"),
        body,
    )
