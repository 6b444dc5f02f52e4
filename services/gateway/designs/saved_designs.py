"""Saved designs: checking one before it is stored, and drawing with one (``design_id``).

A saved design is checked by the parser inline designs go through
(:func:`services.gateway.qrcodes.options.parse_qr_options`), so every saved design is one a
QR request could have sent. It is kept as the client gave it (only the keys given, values
normalised), so a request's inline ``design`` can override it field by field.

Logos: a saved design's logo, given as ``logo_data`` or ``logo_url``, is stored by hash in the
logos table as codes' logos are. A ``logo_url`` is fetched once, when the design is saved (or
its logo patched), so drawing with a saved design never fetches anything, and the embed path
(a GET, which fetches nothing) can draw saved logos too; later changes at that URL do not
reach the design until it is patched.

Using one: :func:`with_saved_design` turns a request body with ``design_id`` into the body it
stands for, the saved design merged under the inline ``design``. Codes store the design they
were drawn with in their own row, so later edits of a saved design change no existing code.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Final

from services.gateway.designs import storage
from services.gateway.designs.records import SavedDesign
from services.gateway.http.path_params import is_well_formed_id
from services.gateway.logos.fetch import LogoFetchPolicy, fetch_logo
from services.gateway.qrcodes.options import Design, parse_qr_options
from services.runtime.errors import ApiError
from services.runtime.ids import new_id

# A design is a few hundred bytes; 1,000 cover any brand book and bound an account's rows.
MAX_DESIGNS_PER_ACCOUNT: Final = 1_000
MAX_DESIGN_NAME_LENGTH: Final = 200
# Two ways of giving one logo: a request that sets either replaces the saved logo.
_LOGO_KEYS: Final = frozenset({"logo_url", "logo_data"})
_CREATE_KEYS: Final = frozenset({"name", "design"})
_DESIGN_FIELDS: Final = frozenset(f.name for f in fields(Design))


def _not_found() -> ApiError:
    return ApiError("DESIGN_NOT_FOUND", "No design with this id in your account")


def merge_designs(saved: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``saved`` with every field of ``override`` on top; ``null`` in ``override`` removes the
    field (back to its default). Setting ``logo_url`` or ``logo_data`` replaces both."""
    merged = dict(saved)
    if _LOGO_KEYS & override.keys():
        for key in _LOGO_KEYS:
            merged.pop(key, None)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _design_object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ApiError("INVALID_PARAMETER", "design must be an object", field="design")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_DESIGN_NAME_LENGTH:
        raise ApiError(
            "INVALID_PARAMETER",
            f"name must be a string of 1 to {MAX_DESIGN_NAME_LENGTH} characters",
            field="name",
        )
    return value


def _refuse_unknown(body: Mapping[str, Any]) -> None:
    unknown = sorted(str(key) for key in body if key not in _CREATE_KEYS)
    if unknown:
        raise ApiError("INVALID_PARAMETER", f"unknown field {unknown[0]!r}", field=unknown[0])


def _normalised(key: str, raw: Any, parsed: Design) -> Any:
    # Plain values as the parser normalised them (#ABC → #aabbcc, rounded → round); anything
    # else (a nested object) as given, already accepted by the parser.
    value = getattr(parsed, key, None) if key in _DESIGN_FIELDS else None
    return value if isinstance(value, str | int | float) else raw


async def check_design(
    raw: Mapping[str, Any], policy: LogoFetchPolicy, *, with_logo: bool
) -> tuple[dict[str, Any], bytes | None]:
    """``(design to store, logo bytes)`` of a design as given: checked by the inline-design
    parser (its errors name ``design.<field>``), ``null`` fields dropped, ``logo_data`` taken
    out as bytes. With ``with_logo``, a ``logo_url`` is fetched now (LOGO_FETCH_FAILED)."""
    given = {str(key): value for key, value in raw.items() if value is not None}
    parsed = parse_qr_options({"design": given}).design
    logo = parsed.logo_data
    if with_logo and parsed.logo_url is not None:
        logo = await fetch_logo(parsed.logo_url, policy)
    kept = {key: _normalised(key, value, parsed) for key, value in given.items()}
    kept.pop("logo_data", None)
    return kept, logo


async def create_design(
    pool: Any, policy: LogoFetchPolicy, account_id: str, body: Mapping[str, Any]
) -> SavedDesign:
    """``POST /v1/designs``: QUOTA_EXCEEDED past :data:`MAX_DESIGNS_PER_ACCOUNT`."""
    _refuse_unknown(body)
    name = _name(body.get("name"))
    if body.get("design") is None:
        raise ApiError("INVALID_PARAMETER", "design is required", field="design")
    design, logo = await check_design(_design_object(body["design"]), policy, with_logo=True)
    now = datetime.now(UTC)
    record = SavedDesign(new_id("dsg"), account_id, name, design, None, now, now)
    stored = await storage.insert_design(
        pool, record, logo=logo, max_designs=MAX_DESIGNS_PER_ACCOUNT
    )
    if stored is None:
        raise ApiError(
            "QUOTA_EXCEEDED", f"An account keeps at most {MAX_DESIGNS_PER_ACCOUNT} designs"
        )
    return stored


async def get_design(pool: Any, account_id: str, design_id: str) -> SavedDesign:
    record = await storage.get_design(pool, account_id, design_id)
    if record is None:
        raise _not_found()
    return record


async def patch_design(
    pool: Any,
    policy: LogoFetchPolicy,
    account_id: str,
    design_id: str,
    body: Mapping[str, Any],
) -> SavedDesign:
    """``PATCH``: ``name`` replaces the name; ``design`` is merged into the saved one field by
    field (see :func:`merge_designs`) and the result checked as a whole. Existing codes keep
    the design they were drawn with."""
    _refuse_unknown(body)
    if not body:
        raise ApiError("INVALID_PARAMETER", "nothing to change", field="name")
    current = await get_design(pool, account_id, design_id)
    name = _name(body["name"]) if "name" in body else current.name
    design, logo, replace_logo = current.design, None, False
    if "design" in body:
        changes = _design_object(body["design"])
        replace_logo = bool(_LOGO_KEYS & changes.keys())
        # A logo kept from before is not fetched or decoded again: it was checked when stored.
        design, logo = await check_design(
            merge_designs(current.design, changes), policy, with_logo=replace_logo
        )
    updated = await storage.update_design(
        pool, account_id, design_id, name=name, design=design, logo=logo,
        replace_logo=replace_logo,
    )  # fmt: skip
    if updated is None:
        raise _not_found()
    return updated


async def delete_design(pool: Any, account_id: str, design_id: str) -> None:
    if not await storage.delete_design(pool, account_id, design_id):
        raise _not_found()


async def with_saved_design(pool: Any, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` itself without ``design_id``; else the body with the saved design merged under
    its inline ``design`` (DESIGN_NOT_FOUND for an id that is not one of the account's). The
    saved logo travels as ``logo_data`` so the parser checks and sizes it as any other."""
    design_id = body.get("design_id")
    if design_id is None:
        return body
    if not isinstance(design_id, str):
        raise ApiError("INVALID_PARAMETER", "design_id must be a string", field="design_id")
    inline = body.get("design")
    override = {} if inline is None else _design_object(inline)
    found = (
        await storage.design_for_drawing(pool, account_id, design_id)
        if is_well_formed_id(design_id, "dsg")
        else None
    )
    if found is None:
        raise ApiError(
            "DESIGN_NOT_FOUND", "No design with this id in your account", field="design_id"
        )
    saved, logo = dict(found[0]), found[1]
    if logo is not None:
        saved.pop("logo_url", None)
        saved["logo_data"] = base64.b64encode(logo).decode("ascii")
    return {**body, "design": merge_designs(saved, override)}
