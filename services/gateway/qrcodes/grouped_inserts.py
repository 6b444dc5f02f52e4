"""Single creates of static codes, stored a group at a time.

Under load, many requests each store one code at the same moment; each insert on its own costs a
pool checkout, a round trip and a commit, more than the row itself. So the static codes of
accounts under no code limit, without logos, are stored by one statement per group of
concurrent creates (see :mod:`services.runtime.coalescing`): at low load a group is one code and
nothing waits. Everything else keeps its own statement: a limited account's quota is checked
under its counter row's lock one code at a time, a logo is stored with its code in one
transaction, and a dynamic code may need its short code drawn again.

A group is all or nothing in Postgres, so if its statement fails, its codes are stored again one
by one and only the one that fails (none in practice: ids are random) reports an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import asyncpg

from services.gateway.backends.render import Rendered
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.prepared import PreparedCode, store_prepared_on_pool
from services.gateway.qrcodes.records import StoredQR
from services.runtime.coalescing import Coalescer

log = logging.getLogger(__name__)

GROUP_MAX_CODES: Final = 64
GROUPS_IN_FLIGHT: Final = 2


class GroupedInserts:
    def __init__(self, pool: Any, *, groups_in_flight: int = GROUPS_IN_FLIGHT) -> None:
        self.pool = pool
        self._groups: Coalescer[StoredQR, StoredQR] = Coalescer(
            "qr_inserts",
            self._insert_group,
            max_batch=GROUP_MAX_CODES,
            max_in_flight=groups_in_flight,
        )

    async def store(self, prepared: PreparedCode, *, max_codes: int) -> tuple[StoredQR, Rendered]:
        """Store one create's code (QUOTA_EXCEEDED past ``max_codes``, 0 for no limit)."""
        record = prepared.record
        if max_codes > 0 or prepared.logo or record.kind != "static" or prepared.redraw:
            return await store_prepared_on_pool(self.pool, prepared, max_codes=max_codes)
        return await self._groups.submit(record), prepared.rendered

    async def _insert_group(
        self, records: Sequence[StoredQR]
    ) -> Sequence[StoredQR | BaseException]:
        async with self.pool.acquire() as conn:
            try:
                return await storage.insert_unlimited_static_qrs(conn, records)
            except asyncpg.PostgresError:
                if len(records) == 1:
                    raise
                log.warning("a group of codes failed to store; storing them one by one")
            outcomes: list[StoredQR | BaseException] = []
            for record in records:
                try:
                    outcomes.append(await storage.insert_qr(conn, record, max_codes=0, logo=None))
                except asyncpg.PostgresError as error:
                    outcomes.append(error)
            return outcomes
