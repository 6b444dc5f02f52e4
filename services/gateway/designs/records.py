"""A saved design: the named ``design`` object an account reuses by ``design_id``, and how the
API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.gateway.http.timestamps import format_rfc3339


@dataclass(frozen=True, slots=True)
class SavedDesign:
    design_id: str
    account_id: str
    name: str
    design: dict[str, Any]  # as the client gave it, checked and normalised; no logo bytes
    logo_sha256: str | None  # the logo's bytes in the logos table (from logo_data or logo_url)
    created_at: datetime
    updated_at: datetime


def design_json(record: SavedDesign) -> dict[str, Any]:
    return {
        "design_id": record.design_id,
        "name": record.name,
        "design": record.design,
        "logo_sha256": record.logo_sha256,
        "created_at": format_rfc3339(record.created_at),
        "updated_at": format_rfc3339(record.updated_at),
    }
