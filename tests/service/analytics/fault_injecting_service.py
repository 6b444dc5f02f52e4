"""The analytics service with a ClickHouse store that refuses writes on demand, for the
delivery tests: ``python -m tests.service.analytics.fault_injecting_service <fault file>``.

While the fault file exists, every insert fails before reaching ClickHouse, as a server
refusing writes would; the rest of the service is the production one (settings, pipeline,
transport, gRPC). The fault lives here, injected through :func:`services.analytics.server.serve`,
not in the production store.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from services.analytics.enrichment import ScanRow
from services.analytics.server import serve
from services.analytics.settings import AnalyticsSettings
from services.analytics.storage import ScanStore
from services.runtime.lifecycle import run_service


class InsertRefusedError(RuntimeError):
    """What an insert raises while the fault file exists."""


class FaultInjectingScanStore(ScanStore):
    def __init__(self, url: str, fault_file: Path, *, query_workers: int) -> None:
        super().__init__(url, query_workers=query_workers)
        self.fault_file = fault_file

    async def insert(self, rows: Sequence[ScanRow]) -> float:
        if self.fault_file.exists():
            raise InsertRefusedError(f"inserts refused: fault file {self.fault_file} exists")
        return await super().insert(rows)


def main(argv: Sequence[str]) -> None:
    (fault_file,) = argv
    settings = AnalyticsSettings.from_env(os.environ)
    store = FaultInjectingScanStore(
        settings.clickhouse_url, Path(fault_file), query_workers=settings.query_workers
    )
    run_service("analytics", lambda stop: serve(settings, stop, store=store), settings.log_level)


if __name__ == "__main__":
    main(sys.argv[1:])
