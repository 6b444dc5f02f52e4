"""A stored QR code: the spec it was made from, and how the API shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from services.gateway.http.timestamps import format_rfc3339
from services.gateway.settings import GatewaySettings
from services.runtime.short_links import ShortDomains


@dataclass(frozen=True, slots=True)
class StoredQR:
    qr_id: str
    account_id: str
    kind: str
    qr_type: str
    name: str | None
    content: Any
    payload: str
    format: str
    size: int
    error_correction: str
    quiet_zone: int
    design: dict[str, Any]  # without logo bytes; see logo_sha256
    logo_sha256: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    # Dynamic codes only.
    short_code: str | None = None
    destination_url: str | None = None
    password_hash: str | None = None  # never shown
    expires_at: datetime | None = None
    max_scans: int = 0
    scan_count: int = 0
    active: bool = True
    # What fitting drew (API.md "Designs v1.1"): the logo size (None: no logo, or a code
    # stored before fitting existed, drawn at its design's size) and [{code, message}].
    applied_logo_size: float | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)
    # Dynamic codes v1.1 (services/gateway/qrcodes/routing.py): the short domain's key ("" is
    # the default domain) and how the code routes.
    domain: str = ""
    rules: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    expired_url: str | None = None
    forward_query: bool = False
    utm: dict[str, str] | None = None
    tags: list[str] = field(default_factory=list)


def image_url(public_base_url: str, qr_id: str, fmt: str) -> str:
    return f"{public_base_url}/i/{qr_id}.{fmt}"


def qr_json(
    record: StoredQR, settings: GatewaySettings, total_scans: int | None = None
) -> dict[str, Any]:
    """How the API shows ``record``, static or dynamic (``total_scans`` only for dynamic)."""
    if record.kind == "dynamic":
        return dynamic_qr_json(
            record, settings.public_base_url, settings.short_domains, total_scans
        )
    return static_qr_json(record, settings.public_base_url)


def applied_json(record: StoredQR) -> dict[str, Any]:
    """What was actually drawn: ``error_correction`` is stored as drawn already."""
    logo_size = record.applied_logo_size
    if logo_size is None:
        logo_size = record.design.get("logo_size")  # no logo, or stored before fitting
    return {"error_correction": record.error_correction, "logo_size": logo_size}


RASTER_FORMATS: Final = ("png", "jpeg", "webp")
# A frame's band is this fraction of the width high (render's qr_frame.BANNER_FRACTION;
# tests/unit/test_render_contract.py checks they agree).
FRAME_BAND_FRACTION: Final = 0.18


def raster_dimensions(fmt: str, size: int, design: dict[str, Any]) -> dict[str, int]:
    """``{width, height}`` in pixels of a raster image (``{}`` for vectors): ``size`` wide,
    and as high plus the band of a frame (API.md "Designs v1.1")."""
    if fmt not in RASTER_FORMATS:
        return {}
    frame = design.get("frame")
    framed = isinstance(frame, dict) and frame.get("style", "none") != "none"
    band = round(FRAME_BAND_FRACTION * size) if framed else 0
    return {"width": size, "height": size + band}


def _drawing_json(record: StoredQR, public_base_url: str) -> dict[str, Any]:
    """The part both kinds show alike: how the code is drawn and where its image is."""
    return {
        "format": record.format,
        "size": record.size,
        **raster_dimensions(record.format, record.size, record.design),
        "error_correction": record.error_correction,
        "quiet_zone": record.quiet_zone,
        "design": record.design,
        "applied": applied_json(record),
        "warnings": record.warnings,
        "version": record.version,
        "image_url": image_url(public_base_url, record.qr_id, record.format),
        "download_url": f"{public_base_url}/v1/qrcodes/{record.qr_id}/download",
    }


def static_qr_json(record: StoredQR, public_base_url: str) -> dict[str, Any]:
    return {
        "qr_id": record.qr_id,
        "kind": record.kind,
        "type": record.qr_type,
        "name": record.name,
        "content": record.content,
        "tags": record.tags,
        **_drawing_json(record, public_base_url),
        "created_at": format_rfc3339(record.created_at),
    }


def dynamic_qr_json(
    record: StoredQR, public_base_url: str, short_domains: ShortDomains, total_scans: int | None
) -> dict[str, Any]:
    domain = short_domains.by_key(record.domain)
    return {
        "qr_id": record.qr_id,
        "kind": "dynamic",
        "type": record.qr_type,
        "name": record.name,
        "short_url": f"{domain.base_url}/{record.short_code}",
        "slug": record.short_code,
        "domain": domain.name,
        "destination_url": record.destination_url,
        "rules": record.rules,
        "variants": record.variants,
        "expired_url": record.expired_url,
        "forward_query": record.forward_query,
        "utm": record.utm,
        "protection": {
            "password_protected": record.password_hash is not None,
            "expiry_date": format_rfc3339(record.expires_at) if record.expires_at else None,
            "max_scans": record.max_scans,
        },
        "active": record.active,
        "tags": record.tags,
        "total_scans": total_scans,
        **_drawing_json(record, public_base_url),
        "created_at": format_rfc3339(record.created_at),
        "updated_at": format_rfc3339(record.updated_at),
    }
