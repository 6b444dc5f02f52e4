"""``/v1/designs…``: saved designs (create, list, read, patch, delete)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from aiohttp import web

from services.gateway.context import context_of, principal_of
from services.gateway.designs import saved_designs, storage
from services.gateway.designs.records import SavedDesign, design_json
from services.gateway.http.client_json import loads_client_json
from services.gateway.http.envelope import ok
from services.gateway.http.json_body import read_json_object
from services.gateway.http.pagination import page_params, pagination_json
from services.gateway.http.path_params import is_well_formed_id, path_id
from services.runtime.errors import ApiError


def _encode_cursor(record: SavedDesign) -> str:
    raw = json.dumps([record.created_at.isoformat(), record.design_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, design_id = loads_client_json(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        if not isinstance(design_id, str) or not is_well_formed_id(design_id, "dsg"):
            raise ValueError("not one of our ids")
        return datetime.fromisoformat(created), design_id
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(
            "INVALID_PARAMETER", "cursor is not one this API returned", field="cursor"
        ) from None


async def create(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    record = await saved_designs.create_design(
        ctx.pool, ctx.logo_policy, principal.account_id, body
    )
    return ok(design_json(record), status=201)


async def list_designs(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    page, limit = page_params(request)
    cursor = request.query.get("cursor")
    after = _decode_cursor(cursor) if cursor else None
    records, total = await storage.list_designs(
        ctx.pool, principal.account_id, limit=limit, offset=(page - 1) * limit, after=after
    )
    has_more = len(records) == limit and (after is not None or page * limit < total)
    next_cursor = _encode_cursor(records[-1]) if has_more else None
    return ok(
        [design_json(record) for record in records],
        pagination=pagination_json(total, page, limit, next_cursor),
    )


async def get_design(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    design_id = path_id(request, "design_id", "dsg")
    return ok(
        design_json(await saved_designs.get_design(ctx.pool, principal.account_id, design_id))
    )


async def patch_design(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    design_id = path_id(request, "design_id", "dsg")
    record = await saved_designs.patch_design(
        ctx.pool, ctx.logo_policy, principal.account_id, design_id, body
    )
    return ok(design_json(record))


async def delete_design(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    design_id = path_id(request, "design_id", "dsg")
    await saved_designs.delete_design(ctx.pool, principal.account_id, design_id)
    return ok({"design_id": design_id, "deleted": True})
