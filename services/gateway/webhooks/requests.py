"""Reading webhook bodies: types and sizes, before anything leaves the gateway. What the values
mean (known event names, a safe URL, well-formed code ids) the webhooks service checks, as the
owner of the endpoints."""

from __future__ import annotations

from typing import Any, Final

from services.gateway.backends.webhooks import NewWebhook, WebhookPatch
from services.runtime.errors import ApiError

MAX_URL_CHARS: Final = 2048
MAX_LIST: Final = 100
MAX_ITEM_CHARS: Final = 64
MAX_DESCRIPTION_CHARS: Final = 500
_CREATE_KEYS: Final = frozenset({"url", "events", "qr_ids", "description"})
_PATCH_KEYS: Final = _CREATE_KEYS | {"active"}


def _unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        field = sorted(unknown)[0]
        raise ApiError("INVALID_PARAMETER", f"unknown field {field[:64]}", field=field[:64])


def _url(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL_CHARS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"url must be an https URL of at most {MAX_URL_CHARS} characters",
            field="url",
        )
    return value


def _strings(value: object, field: str) -> list[str]:
    if (
        not isinstance(value, list)
        or len(value) > MAX_LIST
        or not all(isinstance(item, str) and 0 < len(item) <= MAX_ITEM_CHARS for item in value)
    ):
        raise ApiError(
            "INVALID_PARAMETER", f"{field} must be a list of at most {MAX_LIST} ids", field=field
        )
    return list(value)


def _description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_CHARS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"description must be a string of at most {MAX_DESCRIPTION_CHARS} characters",
            field="description",
        )
    return value


def parse_new_webhook(body: dict[str, Any]) -> NewWebhook:
    _unknown(body, _CREATE_KEYS)
    if "url" not in body:
        raise ApiError("INVALID_PARAMETER", "url is required", field="url")
    if "events" not in body:
        raise ApiError("INVALID_PARAMETER", "events is required", field="events")
    return NewWebhook(
        url=_url(body["url"]),
        events=_strings(body["events"], "events"),
        qr_ids=_strings(body.get("qr_ids") or [], "qr_ids"),
        description=_description(body.get("description")),
    )


def parse_webhook_patch(body: dict[str, Any]) -> WebhookPatch:
    _unknown(body, _PATCH_KEYS)
    if not body:
        raise ApiError("INVALID_PARAMETER", "nothing to change", field="url")
    active = body.get("active")
    if "active" in body and not isinstance(active, bool):
        raise ApiError("INVALID_PARAMETER", "active must be true or false", field="active")
    return WebhookPatch(
        url=_url(body["url"]) if "url" in body else None,
        events=_strings(body["events"], "events") if "events" in body else None,
        qr_ids=_strings(body["qr_ids"] or [], "qr_ids") if "qr_ids" in body else None,
        description=_description(body["description"]) if "description" in body else None,
        active=active if isinstance(active, bool) else None,
    )
