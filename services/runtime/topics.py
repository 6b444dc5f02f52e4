"""Every exchange, routing key and queue name the services share, defined once.

Event payloads are JSON objects with a ``"v"`` version field; consumers ignore fields they do
not know and reject versions they cannot read (dead-lettered, never requeued in a loop).
"""

from __future__ import annotations

from typing import Final

EVENT_VERSION: Final = 1

# Key lifecycle, published by keys, consumed by every gateway (one exclusive queue each).
KEYS_EXCHANGE: Final = "keys"
KEY_REVOKED: Final = "key.revoked"

# Catalog changes, published by the gateway, consumed by every redirect replica (updated,
# deleted) and by the webhooks service (all three).
CATALOG_EXCHANGE: Final = "catalog"
CODE_CREATED: Final = "code.created"
CODE_UPDATED: Final = "code.updated"
CODE_DELETED: Final = "code.deleted"

# Scan events, published by redirect in small batches, consumed by analytics.
SCANS_EXCHANGE: Final = "scans"
SCAN_RECORDED: Final = "scan.recorded"
SCANS_QUEUE: Final = "analytics.scans"
SCANS_DEAD_LETTER_EXCHANGE: Final = "scans.dlx"
SCANS_DEAD_LETTER_QUEUE: Final = "analytics.scans.dead"

# Events the webhooks service turns into deliveries: enriched scans (from analytics, on the
# exchange of services.runtime.enriched_scans) and catalog changes, on one durable queue.
WEBHOOK_EVENTS_QUEUE: Final = "webhooks.events"
WEBHOOKS_DEAD_LETTER_EXCHANGE: Final = "webhooks.dlx"
WEBHOOKS_DEAD_LETTER_QUEUE: Final = "webhooks.events.dead"
# Import jobs (gateway -> its import worker): one message {"v", "import_id"} per upload, on the
# default exchange, straight to this durable queue.
IMPORTS_QUEUE: Final = "gateway.imports"
