"""Creating a static QR code: payload, options, logo, render (verified); then store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.gateway.account.principal import Principal
from services.gateway.backends.render import Rendered, render_options, stored_design
from services.gateway.designs.saved_designs import with_saved_design
from services.gateway.logos.fetch import LogoFetchPolicy, fetch_logo
from services.gateway.qrcodes.fit_warnings import warnings_json
from services.gateway.qrcodes.grouped_inserts import GroupedInserts
from services.gateway.qrcodes.options import QROptions, parse_qr_options, with_logo_bytes
from services.gateway.qrcodes.payloads import build_payload, payload_warnings
from services.gateway.qrcodes.prepared import DrawingTools, PreparedCode
from services.gateway.qrcodes.records import StoredQR
from services.gateway.tags.values import parse_tags
from services.runtime.errors import ApiError
from services.runtime.ids import new_id


async def with_fetched_logo(policy: LogoFetchPolicy, options: QROptions) -> QROptions:
    design = options.design
    if design.logo_url and design.logo_data is None:
        return with_logo_bytes(options, await fetch_logo(design.logo_url, policy))
    return options


def new_record(
    principal: Principal,
    options: QROptions,
    rendered: Rendered,
    *,
    kind: str,
    qr_type: str,
    name: str | None,
    content: Any,
    payload: str,
    tags: list[str],
    **dynamic: Any,
) -> StoredQR:
    """The catalog row for a code just rendered from ``options``; ``dynamic`` carries the
    dynamic-only columns (short code, destination, protection)."""
    now = datetime.now(UTC)
    return StoredQR(
        qr_id=new_id("qr"),
        account_id=principal.account_id,
        kind=kind,
        qr_type=qr_type,
        name=name,
        content=content,
        payload=payload,
        format=options.format,
        size=options.size,
        error_correction=rendered.error_correction or options.error_correction,
        quiet_zone=options.quiet_zone,
        design=stored_design(options),
        logo_sha256=None,  # set by the insert, which stores the logo bytes
        version=rendered.version,
        applied_logo_size=rendered.logo_size if options.design.has_logo else None,
        warnings=warnings_json(rendered.warnings),
        tags=tags,
        created_at=now,
        updated_at=now,
        **dynamic,
    )


def required(body: dict[str, Any], key: str) -> Any:
    if body.get(key) is None:
        raise ApiError("INVALID_PARAMETER", f"{key} is required", field=key)
    return body[key]


async def prepare_static_code(
    tools: DrawingTools, principal: Principal, body: dict[str, Any], *, fmt: str | None = None
) -> PreparedCode:
    """Validate and render one static code, ready to store; ``fmt`` overrides the body's
    format (the client asked for an image type in ``Accept``)."""
    qr_type = required(body, "type")
    if not isinstance(qr_type, str):
        raise ApiError("INVALID_PARAMETER", "type must be a string", field="type")
    content = required(body, "content")
    payload = build_payload(qr_type, content)
    tags = parse_tags(body.get("tags"))
    options = parse_qr_options(await with_saved_design(tools.pool, principal.account_id, body))
    if fmt is not None:
        options = replace(options, format=fmt)
    options = await with_fetched_logo(tools.logo_policy, options)
    rendered = await render_options(
        tools.render, payload, options, principal.account_id, plan_only=tools.plan_only
    )
    rendered = replace(rendered, warnings=(*payload_warnings(qr_type, content), *rendered.warnings))
    record = new_record(
        principal, options, rendered, kind="static", qr_type=qr_type, name=options.name,
        content=content, payload=payload, tags=tags,
    )  # fmt: skip
    return PreparedCode(record, rendered, options.design.logo_data)


async def draw_static_preview(
    tools: DrawingTools, principal: Principal, body: dict[str, Any], *, fmt: str | None = None
) -> Rendered:
    """The image ``POST /v1/qrcodes/generate`` would answer for ``body`` (same checks, same
    drawing, logo included, verified), with nothing stored: no code, no logo, no count."""
    return (await prepare_static_code(tools, principal, body, fmt=fmt)).rendered


async def create_static_code(
    tools: DrawingTools,
    inserts: GroupedInserts,
    principal: Principal,
    body: dict[str, Any],
    *,
    fmt: str | None = None,
) -> tuple[StoredQR, Rendered]:
    """Prepare one static code and store it (with the concurrent creates of others)."""
    prepared = await prepare_static_code(tools, principal, body, fmt=fmt)
    return await inserts.store(prepared, max_codes=principal.max_codes)
