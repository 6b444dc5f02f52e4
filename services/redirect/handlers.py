"""HTTP handlers for ``/<code>``: resolve → decide → (count) → respond.

The cache-hit redirect does no database query and never awaits the broker: the scan is handed
to the publisher's buffer and the 302 goes out. Limited codes (``max_scans`` > 0) take their
scan atomically in Postgres first, so they need the database.
"""

from __future__ import annotations

import asyncio
import logging
from time import monotonic, time
from typing import Final

from aiohttp import hdrs, web

from services.redirect import metrics, pages
from services.redirect.code_cache import Miss
from services.redirect.codes import CodeRecord, Outcome, decide, is_well_formed
from services.redirect.password_form import read_password
from services.redirect.password_limiter import (
    PasswordLimiter,
    PasswordLimiterUnavailableError,
    TriesExhausted,
)
from services.redirect.publisher import ScanPublisher
from services.redirect.resolver import CodeResolver
from services.redirect.scan_messages import (
    MAX_ACCEPT_LANGUAGE,
    MAX_REFERER,
    MAX_USER_AGENT,
    capture,
)
from services.redirect.storage import CodeStore, DatabaseUnavailableError
from services.runtime.client_ip import IPNetwork, client_ip
from services.runtime.passwords import verify_password

log = logging.getLogger(__name__)

# scrypt costs ~16 MiB and tens of ms: bound how many run at once.
PASSWORD_CHECKS_AT_ONCE: Final = 2


def _found(record: CodeRecord) -> web.Response:
    return web.Response(
        status=302, headers={"Location": record.destination_url, "Cache-Control": "no-store"}
    )


class RedirectHandlers:
    def __init__(
        self,
        resolver: CodeResolver,
        store: CodeStore,
        publisher: ScanPublisher,
        limiter: PasswordLimiter,
        trusted_proxies: tuple[IPNetwork, ...],
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

    def _ip(self, request: web.BaseRequest) -> str:
        if not self._trusted:
            return request.remote or ""
        return client_ip(request.remote, request.headers.get("X-Forwarded-For"), self._trusted)

    def _count_scan(self, request: web.BaseRequest, record: CodeRecord, now: float) -> None:
        headers = request.headers
        self._publisher.offer(
            capture(
                now,
                record.qr_id,
                record.account_id,
                self._ip(request),
                headers.get(hdrs.USER_AGENT, ""),
                headers.get(hdrs.REFERER, ""),
                headers.get(hdrs.ACCEPT_LANGUAGE, ""),
            )
        )
        self._counts.redirected += 1

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
            self._counts.gone += 1
            return pages.gone()
        self._count_scan(request, record, now)
        return _found(record)

    async def _redirect(
        self, request: web.BaseRequest, record: CodeRecord, now: float
    ) -> web.Response:
        """Count the scan (a limited code takes it in Postgres first) and send the 302."""
        if record.max_scans > 0:
            return await self._redirect_limited(request, record, now)
        self._count_scan(request, record, now)
        return _found(record)

    def _unavailable(self) -> web.Response:
        self._counts.unavailable += 1
        return pages.unavailable()

    # -- resolve → decide → respond ------------------------------------------------------------

    async def _resolve(self, code: str) -> CodeRecord | None:
        """The code's record (cache, then Postgres), ``None`` when there is none; a malformed
        code is ``None`` without a lookup. Raises :class:`DatabaseUnavailableError` when neither
        Postgres nor the cache knows."""
        if not is_well_formed(code):
            return None
        return await self._resolver.resolve(code)

    def _page_for(self, outcome: Outcome, code: str) -> web.Response:
        """The page of every outcome but a redirect."""
        if outcome is Outcome.NOT_FOUND:
            self._counts.not_found += 1
            return pages.not_found()
        if outcome is Outcome.GONE:
            self._counts.gone += 1
            return pages.gone()
        self._counts.password += 1
        return pages.password_form(code)

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
        return self._page_for(outcome, code)

    def get_cached(self, request: web.BaseRequest, code: str) -> web.Response | None:
        """The cache hit of a plain code (no limit, password or expiry reached): resolved,
        decided, counted and answered synchronously, with no database, no broker and no
        coroutine. ``None`` for anything else, which :meth:`get` then answers."""
        record = self._cache.fresh(code, monotonic())
        if record is None or isinstance(record, Miss) or record.max_scans > 0:
            return None
        now = time()
        if decide(record, now) is not Outcome.REDIRECT:
            return None
        self._counts.cache_hit += 1
        headers = request.headers
        # What capture() builds (and _count_scan offers), inlined: a call less per scan on the
        # hottest path. tests/unit/redirect/test_handlers.py proves the two agree.
        self._offer(
            (
                now,
                record.qr_id,
                record.account_id,
                self._ip(request),
                headers.get(hdrs.USER_AGENT, "")[:MAX_USER_AGENT],
                headers.get(hdrs.REFERER, "")[:MAX_REFERER],
                headers.get(hdrs.ACCEPT_LANGUAGE, "")[:MAX_ACCEPT_LANGUAGE],
            )
        )
        self._counts.redirected += 1
        return web.Response(
            status=302, headers={"Location": record.destination_url, "Cache-Control": "no-store"}
        )

    async def get(self, request: web.BaseRequest, code: str) -> web.Response:
        """Whatever :meth:`get_cached` leaves: a miss, a limited, protected or gone code."""
        try:
            record = await self._resolve(code)
        except DatabaseUnavailableError:
            return self._unavailable()
        now = time()
        return await self._respond(request, code, record, decide(record, now), now)

    async def head(self, request: web.BaseRequest, code: str) -> web.Response:
        """Same answer as GET, but nothing is counted."""
        try:
            record = await self._resolve(code)
        except DatabaseUnavailableError:
            return self._unavailable()
        outcome = decide(record, time())
        if outcome is Outcome.REDIRECT and record is not None:
            self._counts.head += 1
            return _found(record)
        return self._page_for(outcome, code)

    async def post(self, request: web.BaseRequest, code: str) -> web.Response:
        """The password form: right → 302 + scan, wrong → 401, unreadable form → 400, too many
        wrong → 429, tries not countable (Redis down) → 503. A code without a password answers
        as GET does.

        The try is reserved before the password is verified (check and count in one step), so
        guesses sent at once get no more verifications than guesses sent one by one."""
        try:
            record = await self._resolve(code)
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
                code, status=400, error="The form could not be read. Enter the password again."
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
            return pages.password_form(code, status=401, error="Wrong password, try again.")
        metrics.password_checks_right.inc()
        await self._limiter.release(reservation)
        return await self._redirect(request, record, time())

    def not_found(self) -> web.Response:
        self._counts.not_found += 1
        return pages.not_found()
