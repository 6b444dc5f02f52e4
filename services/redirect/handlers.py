"""HTTP handlers for ``/<code>``: resolve → decide → (route) → (count) → respond.

The cache-hit redirect does no database query and never awaits the broker: the scan is handed
to the publisher's buffer and the 302 goes out. Limited codes (``max_scans`` > 0) take their
scan atomically in Postgres first, so they need the database.

A code is looked up by the request's short domain (``Host``, or ``X-Forwarded-Host`` from a
trusted proxy) and its code. A routed code's destination is decided in memory
(:mod:`services.redirect.routing`) after the protection checks: a password protects the code
whatever rule would match. A gone code (expired, out of scans, inactive) with an
``expired_url`` is sent there (302, not counted) instead of the 410 page.
"""

from __future__ import annotations

import asyncio
import logging
from time import monotonic, time
from typing import Final

from aiohttp import hdrs, web

from services.redirect import metrics, pages
from services.redirect.code_cache import Miss
from services.redirect.codes import CodeRecord, Outcome, cache_key, decide, is_well_formed
from services.redirect.password_form import read_password
from services.redirect.password_limiter import (
    PasswordLimiter,
    PasswordLimiterUnavailableError,
    TriesExhausted,
)
from services.redirect.publisher import ScanPublisher
from services.redirect.resolver import CodeResolver
from services.redirect.routing import Route, Routing, VariantHasher, ascii_url, route
from services.redirect.scan_messages import (
    MAX_ACCEPT_LANGUAGE,
    MAX_REFERER,
    MAX_USER_AGENT,
    capture,
)
from services.redirect.settings import DEV_VARIANT_HASH_KEY
from services.redirect.storage import CodeStore, DatabaseUnavailableError
from services.runtime.client_ip import IPNetwork, client_ip, forwarded_host
from services.runtime.passwords import verify_password
from services.runtime.short_links import ShortDomains

log = logging.getLogger(__name__)

# scrypt costs ~16 MiB and tens of ms: bound how many run at once.
PASSWORD_CHECKS_AT_ONCE: Final = 2
_NO_QUERY: Final[dict[str, str]] = {}


def _found(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


class RedirectHandlers:
    def __init__(
        self,
        resolver: CodeResolver,
        store: CodeStore,
        publisher: ScanPublisher,
        limiter: PasswordLimiter,
        trusted_proxies: tuple[IPNetwork, ...],
        short_domains: ShortDomains | None = None,
        variant_hasher: VariantHasher | None = None,
    ) -> None:
        self._resolver = resolver
        self._cache = resolver.cache
        self._store = store
        self._publisher = publisher
        self._limiter = limiter
        self._trusted = trusted_proxies
        self._password_checks = asyncio.Semaphore(PASSWORD_CHECKS_AT_ONCE)
        self._counts = metrics.counts
        self._offer = publisher.offer
        # One domain: every host is it, and the lookup key is the code itself.
        self._domains = (
            short_domains if short_domains is not None and short_domains.several else None
        )
        self._hasher = variant_hasher or VariantHasher(DEV_VARIANT_HASH_KEY.encode())

    def _ip(self, request: web.BaseRequest) -> str:
        if not self._trusted:
            return request.remote or ""
        return client_ip(request.remote, request.headers.get("X-Forwarded-For"), self._trusted)

    def key_of(self, request: web.BaseRequest, code: str) -> str:
        """The cache key of ``code`` on the short domain the request was sent to."""
        domains = self._domains
        if domains is None:
            return code
        headers = request.headers
        host = forwarded_host(request.remote, headers.get("X-Forwarded-Host"), self._trusted)
        return cache_key(domains.key_for_host(host or headers.get(hdrs.HOST)), code)

    def _route(self, request: web.BaseRequest, record: CodeRecord, ip: str) -> Route:
        """Where this scan of ``record`` goes, and by which rule or variant."""
        routing = record.routing
        if routing is None:
            return record.destination_url, None, None
        headers = request.headers
        return self._route_as(
            request,
            routing,
            record.qr_id,
            ip,
            headers.get(hdrs.USER_AGENT, "")[:MAX_USER_AGENT],
            headers.get(hdrs.ACCEPT_LANGUAGE, "")[:MAX_ACCEPT_LANGUAGE],
        )

    def _route_as(
        self,
        request: web.BaseRequest,
        routing: Routing,
        qr_id: str,
        ip: str,
        user_agent: str,
        accept_language: str,
    ) -> Route:
        """:meth:`_route` with the (already cut) headers the scan event carries too."""
        return route(
            routing,
            qr_id,
            ip,
            user_agent,
            accept_language,
            # Parsing the query costs more than the rest: only when a rule reads a present one.
            request.query if routing.query and request.raw_path.find("?") >= 0 else _NO_QUERY,
            request.rel_url.raw_query_string if routing.forward_query else "",
            self._hasher,
        )

    def _count_scan(
        self, request: web.BaseRequest, record: CodeRecord, now: float, ip: str, route: Route
    ) -> None:
        headers = request.headers
        self._publisher.offer(
            capture(
                now,
                record.qr_id,
                record.account_id,
                ip,
                headers.get(hdrs.USER_AGENT, ""),
                headers.get(hdrs.REFERER, ""),
                headers.get(hdrs.ACCEPT_LANGUAGE, ""),
                route[1],
                route[2],
            )
        )
        self._counts.redirected += 1

    def _count_and_send(
        self, request: web.BaseRequest, record: CodeRecord, now: float
    ) -> web.Response:
        ip = self._ip(request)
        route = self._route(request, record, ip)
        self._count_scan(request, record, now, ip, route)
        return _found(route[0])

    async def _redirect_limited(
        self, request: web.BaseRequest, record: CodeRecord, now: float
    ) -> web.Response:
        """A code with ``max_scans``: take one of its scans atomically in Postgres first."""
        try:
            claimed = await self._store.claim_scan(record.qr_id)
        except DatabaseUnavailableError:
            metrics.database_errors_total.inc()
            return self._unavailable()
        if not claimed:
            self._resolver.mark_exhausted(record)
            return self._gone(record)
        return self._count_and_send(request, record, now)

    async def _redirect(
        self, request: web.BaseRequest, record: CodeRecord, now: float
    ) -> web.Response:
        """Count the scan (a limited code takes it in Postgres first) and send the 302."""
        if record.max_scans > 0:
            return await self._redirect_limited(request, record, now)
        return self._count_and_send(request, record, now)

    def _unavailable(self) -> web.Response:
        self._counts.unavailable += 1
        return pages.unavailable()

    # -- resolve → decide → respond ------------------------------------------------------------

    async def _resolve(self, request: web.BaseRequest, code: str) -> CodeRecord | None:
        """The code's record (cache, then Postgres), ``None`` when there is none; a malformed
        code is ``None`` without a lookup. Raises :class:`DatabaseUnavailableError` when neither
        Postgres nor the cache knows."""
        if not is_well_formed(code):
            return None
        return await self._resolver.resolve(self.key_of(request, code))

    def _gone(self, record: CodeRecord | None) -> web.Response:
        """A gone code: its ``expired_url`` (302, no scan) when it has one, else the 410."""
        if record is not None and record.expired_url:
            self._counts.expired_redirect += 1
            return _found(ascii_url(record.expired_url))
        self._counts.gone += 1
        return pages.gone()

    def _page_for(
        self, request: web.BaseRequest, outcome: Outcome, code: str, record: CodeRecord | None
    ) -> web.Response:
        """The answer of every outcome but a redirect."""
        if outcome is Outcome.NOT_FOUND:
            self._counts.not_found += 1
            return pages.not_found()
        if outcome is Outcome.GONE:
            return self._gone(record)
        self._counts.password += 1
        return pages.password_form(code, query=request.rel_url.raw_query_string)

    async def _respond(
        self,
        request: web.BaseRequest,
        code: str,
        record: CodeRecord | None,
        outcome: Outcome,
        now: float,
    ) -> web.Response:
        """Answer a decided scan: the counted 302, or the outcome's page."""
        # decide() answers REDIRECT only for a record: the check is for the type checker.
        if outcome is Outcome.REDIRECT and record is not None:
            return await self._redirect(request, record, now)
        return self._page_for(request, outcome, code, record)

    def get_cached(self, request: web.BaseRequest, code: str) -> web.Response | None:
        """The cache hit of a code without a limit, password or expiry reached (routed or
        not): resolved, decided, routed, counted and answered synchronously, with no database,
        no broker and no coroutine. ``None`` for anything else, which :meth:`get` then
        answers."""
        record = self._cache.fresh(
            code if self._domains is None else self.key_of(request, code), monotonic()
        )
        if record is None or isinstance(record, Miss) or record.max_scans > 0:
            return None
        now = time()
        if decide(record, now) is not Outcome.REDIRECT:
            return None
        self._counts.cache_hit += 1
        headers = request.headers
        ip = self._ip(request)
        user_agent = headers.get(hdrs.USER_AGENT, "")[:MAX_USER_AGENT]
        accept_language = headers.get(hdrs.ACCEPT_LANGUAGE, "")[:MAX_ACCEPT_LANGUAGE]
        routing = record.routing
        if routing is None:
            location, rule, variant = record.destination_url, None, None
        else:
            location, rule, variant = self._route_as(
                request, routing, record.qr_id, ip, user_agent, accept_language
            )
        # What capture() builds (and _count_scan offers), inlined: a call less per scan on the
        # hottest path. tests/unit/redirect/test_handlers.py proves the two agree.
        self._offer(
            (
                now,
                record.qr_id,
                record.account_id,
                ip,
                user_agent,
                headers.get(hdrs.REFERER, "")[:MAX_REFERER],
                accept_language,
                rule,
                variant,
            )
        )
        self._counts.redirected += 1
        return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})

    async def get(self, request: web.BaseRequest, code: str) -> web.Response:
        """Whatever :meth:`get_cached` leaves: a miss, a limited, protected or gone code."""
        try:
            record = await self._resolve(request, code)
        except DatabaseUnavailableError:
            return self._unavailable()
        now = time()
        return await self._respond(request, code, record, decide(record, now), now)

    async def head(self, request: web.BaseRequest, code: str) -> web.Response:
        """Same answer as GET, but nothing is counted."""
        try:
            record = await self._resolve(request, code)
        except DatabaseUnavailableError:
            return self._unavailable()
        outcome = decide(record, time())
        if outcome is Outcome.REDIRECT and record is not None:
            self._counts.head += 1
            return _found(self._route(request, record, self._ip(request))[0])
        return self._page_for(request, outcome, code, record)

    async def post(self, request: web.BaseRequest, code: str) -> web.Response:
        """The password form: right → 302 + scan, wrong → 401, unreadable form → 400, too many
        wrong → 429, tries not countable (Redis down) → 503. A code without a password answers
        as GET does.

        The try is reserved before the password is verified (check and count in one step), so
        guesses sent at once get no more verifications than guesses sent one by one."""
        try:
            record = await self._resolve(request, code)
        except DatabaseUnavailableError:
            return self._unavailable()
        now = time()
        outcome = decide(record, now)
        if outcome is Outcome.PASSWORD and record is not None:
            return await self._try_password(request, code, record)
        return await self._respond(request, code, record, outcome, now)

    async def _try_password(
        self, request: web.BaseRequest, code: str, record: CodeRecord
    ) -> web.Response:
        password_hash = record.password_hash
        assert password_hash is not None  # decide() answered PASSWORD
        password = await read_password(request)
        if password is None:
            self._counts.password_invalid += 1
            return pages.password_form(
                code,
                status=400,
                error="The form could not be read. Enter the password again.",
                query=request.rel_url.raw_query_string,
            )
        try:
            reservation = await self._limiter.reserve(self._ip(request), code)
        except PasswordLimiterUnavailableError:
            return self._unavailable()
        if isinstance(reservation, TriesExhausted):
            self._counts.password_limited += 1
            return pages.too_many_tries(reservation.retry_after_s)
        async with self._password_checks:
            right = await asyncio.to_thread(verify_password, password, password_hash)
        if not right:
            metrics.password_checks_wrong.inc()
            self._counts.password_wrong += 1
            return pages.password_form(
                code,
                status=401,
                error="Wrong password, try again.",
                query=request.rel_url.raw_query_string,
            )
        metrics.password_checks_right.inc()
        await self._limiter.release(reservation)
        return await self._redirect(request, record, time())

    def not_found(self) -> web.Response:
        self._counts.not_found += 1
        return pages.not_found()
