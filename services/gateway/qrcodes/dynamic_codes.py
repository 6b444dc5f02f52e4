"""Dynamic QR codes: a short URL printed once, whose destination and protection change later.

The image encodes ``<short domain>/<short_code>`` (``REDIRECT_BASE_URL`` unless the body names
another of ``SHORT_DOMAINS``; the code is the client's ``slug`` or a generated one); only the
row behind it changes, routing included (:mod:`services.gateway.qrcodes.routing`). Every
change is published as ``code.updated`` / ``code.deleted`` after the commit so each redirect
replica evicts its cached copy within a second.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Final

import asyncpg

from services.gateway.account.principal import Principal
from services.gateway.backends.render import (
    Rendered,
    render,
    render_options,
    request_from_record,
)
from services.gateway.designs.saved_designs import with_saved_design
from services.gateway.http.timestamps import parse_datetime
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.events import CatalogEvents
from services.gateway.qrcodes.options import parse_qr_options
from services.gateway.qrcodes.payloads import validate_http_url
from services.gateway.qrcodes.prepared import DrawingTools, PreparedCode, store_prepared_on_pool
from services.gateway.qrcodes.records import StoredQR
from services.gateway.qrcodes.routing import (
    ADDRESS_FIELDS,
    ROUTING_FIELDS,
    parse_domain,
    parse_slug,
    routing_columns,
)
from services.gateway.qrcodes.static_codes import new_record, with_fetched_logo
from services.gateway.tags.values import parse_tags
from services.runtime.errors import ApiError
from services.runtime.ids import random_base62
from services.runtime.passwords import hash_password
from services.runtime.topics import CODE_DELETED, CODE_UPDATED

# 62^7 ≈ 3.5e12 codes: collisions are rare and retried; 7 characters keep the QR version low.
SHORT_CODE_LENGTH: Final = 7
_SHORT_CODE_ATTEMPTS: Final = 5
MAX_PASSWORD_LENGTH: Final = 128
_PROTECTION_KEYS: Final = frozenset({"password", "expiry_date", "max_scans"})
_PATCH_KEYS: Final = (
    frozenset({"name", "destination_url", "protection", "active", "tags"})
    | ROUTING_FIELDS
    | ADDRESS_FIELDS
)


def _destination(value: object) -> str:
    return validate_http_url(value, "destination_url", code="INVALID_PARAMETER")


async def _password_hash(password: str) -> str:
    # scrypt costs ~50 ms of CPU: keep it off the event loop.
    return await asyncio.get_running_loop().run_in_executor(None, hash_password, password)


async def protection_changes(value: object) -> dict[str, Any]:
    """Column changes for a ``protection`` object; only the keys present change, and ``null``
    removes a password or an expiry."""
    if not isinstance(value, dict):
        raise ApiError("INVALID_PARAMETER", "protection must be an object", field="protection")
    unknown = set(value) - _PROTECTION_KEYS
    if unknown:
        field = f"protection.{sorted(unknown)[0]}"
        raise ApiError("INVALID_PARAMETER", f"unknown field {field}", field=field)
    changes: dict[str, Any] = {}
    if "password" in value:
        password = value["password"]
        if password is None:
            changes["password_hash"] = None
        elif not isinstance(password, str) or not 1 <= len(password) <= MAX_PASSWORD_LENGTH:
            raise ApiError(
                "INVALID_PARAMETER",
                f"password must be a string of 1 to {MAX_PASSWORD_LENGTH} characters",
                field="protection.password",
            )
        else:
            changes["password_hash"] = await _password_hash(password)
    if "expiry_date" in value:
        expiry = value["expiry_date"]
        changes["expires_at"] = (
            None
            if expiry is None
            else parse_datetime(expiry, "protection.expiry_date", end_of_day=True)
        )
    if "max_scans" in value:
        max_scans = value["max_scans"]
        if max_scans is None:
            max_scans = 0
        if (
            isinstance(max_scans, bool)
            or not isinstance(max_scans, int)
            or not 0 <= max_scans <= 2**31 - 1
        ):
            raise ApiError(
                "INVALID_PARAMETER",
                "max_scans must be a whole number >= 0 (0 = unlimited)",
                field="protection.max_scans",
            )
        changes["max_scans"] = max_scans
    return changes


async def prepare_dynamic_code(
    tools: DrawingTools, principal: Principal, body: dict[str, Any], *, fmt: str | None = None
) -> PreparedCode:
    """Validate and render one dynamic code with a fresh short code, ready to store."""
    destination = _destination(body.get("destination_url"))
    name = body.get("name")
    # API.md: a dynamic code is a campaign asset, so it is always named.
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ApiError(
            "INVALID_PARAMETER", "name must be a string of 1 to 200 characters", field="name"
        )
    tags = parse_tags(body.get("tags"))
    body = await with_saved_design(tools.pool, principal.account_id, body)
    options = parse_qr_options(body if fmt is None else {**body, "format": fmt})
    slug = parse_slug(body.get("slug"))
    domain_key = parse_domain(body.get("domain"), tools.short_domains)
    base_url = tools.short_domains.by_key(domain_key).base_url
    routing = routing_columns(body)
    protection = await protection_changes(body.get("protection") or {})
    options = await with_fetched_logo(tools.logo_policy, options)
    attempts = 0

    async def draw() -> PreparedCode:
        nonlocal attempts
        if slug is not None and attempts:
            # The insert found the slug taken on this domain (the unique index decides, so
            # of concurrent creates of one slug exactly one succeeds).
            raise ApiError(
                "SLUG_TAKEN", f"The slug {slug!r} is already taken on this domain", field="slug"
            )
        if attempts == _SHORT_CODE_ATTEMPTS:
            raise ApiError("SERVICE_UNAVAILABLE", "Could not allocate a short code, try again")
        attempts += 1
        short_code = slug if slug is not None else random_base62(SHORT_CODE_LENGTH)
        payload = f"{base_url}/{short_code}"
        rendered = await render_options(
            tools.render, payload, options, principal.account_id, plan_only=tools.plan_only
        )
        record = new_record(
            principal, options, rendered, kind="dynamic", qr_type="url", name=name,
            content=payload, payload=payload, short_code=short_code, destination_url=destination,
            password_hash=protection.get("password_hash"), expires_at=protection.get("expires_at"),
            max_scans=protection.get("max_scans", 0), domain=domain_key, tags=tags, **routing,
        )  # fmt: skip
        return PreparedCode(record, rendered, options.design.logo_data, redraw=draw)

    return await draw()


async def create_dynamic_code(
    tools: DrawingTools,
    pool: Any,
    principal: Principal,
    body: dict[str, Any],
    *,
    fmt: str | None = None,
) -> tuple[StoredQR, Rendered]:
    """Prepare one dynamic code and store it on a connection of ``pool`` (drawn again while
    its short code is taken)."""
    prepared = await prepare_dynamic_code(tools, principal, body, fmt=fmt)
    return await store_prepared_on_pool(pool, prepared, max_codes=principal.max_codes)


def _require_dynamic(record: StoredQR) -> None:
    if record.kind != "dynamic":
        raise ApiError("NOT_DYNAMIC", "Only dynamic codes can change destination or protection")


async def _apply(
    pool: Any, events: CatalogEvents, record: StoredQR, changes: dict[str, Any]
) -> StoredQR:
    updated = await storage.update_code(pool, record.account_id, record.qr_id, changes)
    if updated is None:
        raise ApiError("QR_NOT_FOUND", "No QR code with this id in your account")
    await events.publish(CODE_UPDATED, updated)
    return updated


async def change_destination(
    pool: Any, events: CatalogEvents, principal: Principal, qr_id: str, body: dict[str, Any]
) -> StoredQR:
    destination = _destination(body.get("destination_url"))
    record = await storage.get_owned_qr(pool, principal.account_id, qr_id)
    _require_dynamic(record)
    return await _apply(pool, events, record, {"destination_url": destination})


async def patch_code(
    pool: Any,
    events: CatalogEvents,
    drawing: DrawingTools,
    principal: Principal,
    qr_id: str,
    body: dict[str, Any],
) -> StoredQR:
    unknown = set(body) - _PATCH_KEYS
    if unknown:
        field = sorted(unknown)[0]
        raise ApiError("INVALID_PARAMETER", f"{field} cannot be changed", field=field)
    if not body:
        raise ApiError("INVALID_PARAMETER", "nothing to change", field="name")
    record = await storage.get_owned_qr(pool, principal.account_id, qr_id)
    changes: dict[str, Any] = {}
    if "name" in body:
        name = body["name"]
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise ApiError(
                "INVALID_PARAMETER", "name must be a string of at most 200 characters", field="name"
            )
        changes["name"] = name or None
    if "tags" in body:
        changes["tags"] = parse_tags(body["tags"])
    dynamic_only = (
        {"destination_url", "protection", "active"} | ROUTING_FIELDS | ADDRESS_FIELDS
    ) & set(body)
    if dynamic_only:
        _require_dynamic(record)
    changes.update(await _address_changes(pool, drawing, record, body))
    if "destination_url" in body:
        changes["destination_url"] = _destination(body["destination_url"])
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise ApiError("INVALID_PARAMETER", "active must be true or false", field="active")
        changes["active"] = body["active"]
    if "protection" in body:
        changes.update(await protection_changes(body["protection"]))
    changes.update(routing_columns(body))
    if not changes:
        return record
    try:
        updated = await _apply(pool, events, record, changes)
    except asyncpg.UniqueViolationError:
        raise ApiError(
            "SLUG_TAKEN",
            f"The slug {changes['short_code']!r} is already taken on this domain",
            field="slug",
        ) from None
    if (updated.short_code, updated.domain) != (record.short_code, record.domain):
        # The old short URL now leads nowhere: replicas forget what they cached under it.
        assert record.short_code is not None
        await events.evict_short_url(record.qr_id, record.short_code, record.domain)
    return updated


async def _address_changes(
    pool: Any, drawing: DrawingTools, record: StoredQR, body: dict[str, Any]
) -> dict[str, Any]:
    """A new ``slug`` and/or ``domain``: the short URL changes, so codes already printed with
    the old one stop working (the client asked for it). The code is drawn again with the new
    URL, in its stored design, so a URL that no longer fits is refused here rather than at
    its next download, and the stored version follows."""
    changes: dict[str, Any] = {}
    if "slug" in body:
        slug = parse_slug(body["slug"])
        if slug is None:
            raise ApiError("INVALID_PARAMETER", "slug cannot be removed", field="slug")
        if slug != record.short_code:
            changes["short_code"] = slug
    if "domain" in body:
        domain_key = parse_domain(body["domain"], drawing.short_domains)
        if domain_key != record.domain:
            changes["domain"] = domain_key
    if not changes:
        return changes
    short_code = changes.get("short_code", record.short_code)
    domain_key = changes.get("domain", record.domain)
    short_url = f"{drawing.short_domains.by_key(domain_key).base_url}/{short_code}"
    moved = replace(record, payload=short_url, content=short_url)
    logo = await storage.load_logo(pool, record.logo_sha256) if record.logo_sha256 else None
    rendered = await render(drawing.render, request_from_record(moved, logo), record.account_id)
    return {**changes, "payload": short_url, "content": short_url, "version": rendered.version}


async def announce_created(
    events: CatalogEvents, qr_id: str, short_code: str, domain_key: str
) -> None:
    """A new code with a client's slug evicts what replicas cached under its short URL: a slug
    can be tried (and its 404 cached for ``REDIRECT_NEGATIVE_TTL_S``) before the code exists.
    Generated codes need no event: nobody could have tried them."""
    await events.evict_short_url(qr_id, short_code, domain_key)


async def announce_deleted(events: CatalogEvents, record: StoredQR) -> None:
    await events.publish(CODE_DELETED, record)
