"""A code made ready to store, and storing it: the two halves of every create.

Preparing (``prepare_static_code``, ``prepare_dynamic_code``) validates, fetches the logo,
renders with verification and builds the catalog row, and writes nothing. Storing is one
quota-checked insert on a connection the caller holds: a single create's own, or a batch's,
inside its transaction. Only a short-code clash sends a dynamic code back to be drawn again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.gateway.backends.render import RenderBackend, Rendered
from services.gateway.logos.fetch import LogoFetchPolicy
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.records import StoredQR
from services.runtime.short_links import ShortDomains


@dataclass(frozen=True, slots=True)
class DrawingTools:
    """What preparing a code draws with: the render service, the policy ``logo_url`` is
    fetched under, the short domains dynamic codes' URLs may use, and the catalog pool the
    saved designs a request names (``design_id``) are read from. ``plan_only``: the codes
    are stored without their image being returned (an import), so render only plans them
    (version, level, warnings: what the row keeps) and draws nothing it need not; every image
    of them is drawn and verified when asked for."""

    render: RenderBackend
    logo_policy: LogoFetchPolicy
    short_domains: ShortDomains
    pool: Any  # asyncpg.Pool (untyped library)
    plan_only: bool = False


@dataclass(frozen=True, slots=True)
class PreparedCode:
    record: StoredQR
    rendered: Rendered
    logo: bytes | None  # stored with the row, by hash
    # Dynamic codes: the same code with another short code, drawn again (SERVICE_UNAVAILABLE
    # once the attempts are spent). None for static codes, whose ids do not clash.
    redraw: Callable[[], Awaitable[PreparedCode]] | None = None


async def store_prepared(
    conn: Any, prepared: PreparedCode, *, max_codes: int
) -> tuple[StoredQR, Rendered]:
    """Insert ``prepared`` on ``conn`` (QUOTA_EXCEEDED past ``max_codes``); the stored row and
    the image that goes with it (a redrawn one after a short-code clash)."""
    while True:
        try:
            stored = await storage.insert_qr(
                conn, prepared.record, max_codes=max_codes, logo=prepared.logo
            )
        except asyncpg.UniqueViolationError:
            if prepared.redraw is None:
                raise
            prepared = await prepared.redraw()  # short code taken: draw another
            continue
        return stored, prepared.rendered


async def store_prepared_on_pool(
    pool: Any, prepared: PreparedCode, *, max_codes: int
) -> tuple[StoredQR, Rendered]:
    """:func:`store_prepared` on a connection of its own (a single create)."""
    async with pool.acquire() as conn:
        return await store_prepared(conn, prepared, max_codes=max_codes)
