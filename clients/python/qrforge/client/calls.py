"""Every API operation as a plain description of one HTTP request and of how to read its answer.

The sync and async clients only send a :class:`Call` and hand the response to ``call.read``;
building requests and decoding answers lives here once, without I/O, so both clients behave
exactly alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from qrforge.client import models
from qrforge.client.errors import ApiError, error_class

T = TypeVar("T")

IMAGE_MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "eps": "application/postscript",
}


class _Data(msgspec.Struct, Generic[T]):
    data: T


class _ListData(msgspec.Struct, Generic[T]):
    data: list[T]
    pagination: models.Pagination


class _ErrorEnvelope(msgspec.Struct):
    error: models.ErrorInfo


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def raise_for_error(response: httpx.Response) -> None:
    """An ApiError built from the error envelope (or from the status, for a body that is not one)."""
    if response.status_code < 400:
        return
    cls = error_class(response.status_code)
    request_id = response.headers.get("x-request-id")
    try:
        error = msgspec.json.decode(response.content, type=_ErrorEnvelope).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = response.text.strip()[:200] or response.reason_phrase
        raise cls(
            response.status_code, f"HTTP_{response.status_code}", text, None, request_id
        ) from None
    raise cls(response.status_code, error.code, error.message, error.details, request_id)


def data_of(model: type[T]) -> Callable[[httpx.Response], T]:
    decoder = msgspec.json.Decoder(_Data[model])  # type: ignore[valid-type]

    def read(response: httpx.Response) -> T:
        raise_for_error(response)
        result: T = decoder.decode(response.content).data
        return result

    return read


def page_of(model: type[T]) -> Callable[[httpx.Response], models.Page[T]]:
    decoder = msgspec.json.Decoder(_ListData[model])  # type: ignore[valid-type]

    def read(response: httpx.Response) -> models.Page[T]:
        raise_for_error(response)
        decoded = decoder.decode(response.content)
        return models.Page(items=decoded.data, pagination=decoded.pagination)

    return read


def read_image(response: httpx.Response) -> models.Image:
    raise_for_error(response)
    warnings = response.headers.get("x-qr-warnings", "")
    return models.Image(
        content=response.content,
        media_type=response.headers.get("content-type", "").split(";")[0],
        qr_id=response.headers.get("x-qr-id"),
        warnings=[w.strip() for w in warnings.split(",") if w.strip()],
    )


def read_bytes(response: httpx.Response) -> bytes:
    raise_for_error(response)
    return response.content


def _params(**values: Any) -> dict[str, str]:
    """Query parameters without the unset ones; booleans as the API spells them."""
    result: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        result[name.rstrip("_")] = str(value).lower() if isinstance(value, bool) else str(value)
    return result


def _body(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _id(value: str) -> str:
    return quote(value, safe="")


# --- QR codes -----------------------------------------------------------------------------


def generate_qr(
    type: str, content: str | Mapping[str, Any], options: Mapping[str, Any]
) -> Call[models.StaticQrCode]:
    body = {"type": type, "content": content, **_body(**options)}
    return Call("POST", "/v1/qrcodes/generate", data_of(models.StaticQrCode), json=body)


def _qr_image(
    path: str,
    type: str,
    content: str | Mapping[str, Any],
    format: str,
    options: Mapping[str, Any],
) -> Call[models.Image]:
    body = {"type": type, "content": content, "format": format, **_body(**options)}
    accept = {"Accept": IMAGE_MEDIA_TYPES.get(format, "image/png")}
    return Call("POST", path, read_image, json=body, headers=accept)


def generate_qr_image(
    type: str, content: str | Mapping[str, Any], format: str, options: Mapping[str, Any]
) -> Call[models.Image]:
    return _qr_image("/v1/qrcodes/generate", type, content, format, options)


def preview_qr(
    type: str, content: str | Mapping[str, Any], format: str, options: Mapping[str, Any]
) -> Call[models.Image]:
    """Drawn and verified, never stored."""
    return _qr_image("/v1/qrcodes/preview", type, content, format, options)


def create_dynamic(
    name: str, destination_url: str, options: Mapping[str, Any]
) -> Call[models.DynamicQrCode]:
    body = {"name": name, "destination_url": destination_url, **_body(**options)}
    return Call("POST", "/v1/qrcodes/dynamic", data_of(models.DynamicQrCode), json=body)


def get_qr_code(qr_id: str) -> Call[models.QrCode]:
    return Call("GET", f"/v1/qrcodes/{_id(qr_id)}", data_of(models.QrCode))  # type: ignore[arg-type]


def list_qr_codes(
    *,
    page: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    type: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    q: str | None = None,
) -> Call[models.Page[models.QrCode]]:
    params = _params(page=page, limit=limit, cursor=cursor, type=type, kind=kind, tag=tag, q=q)
    return Call("GET", "/v1/qrcodes", page_of(models.QrCode), params=params)  # type: ignore[arg-type]


def update_qr_code(qr_id: str, fields: Mapping[str, Any]) -> Call[models.QrCode]:
    return Call(
        "PATCH",
        f"/v1/qrcodes/{_id(qr_id)}",
        data_of(models.QrCode),  # type: ignore[arg-type]
        json=dict(fields),
    )


def set_destination(qr_id: str, destination_url: str) -> Call[models.DynamicQrCode]:
    return Call(
        "PUT",
        f"/v1/qrcodes/{_id(qr_id)}/destination",
        data_of(models.DynamicQrCode),
        json={"destination_url": destination_url},
    )


def delete_qr_code(qr_id: str) -> Call[models.Deleted]:
    return Call("DELETE", f"/v1/qrcodes/{_id(qr_id)}", data_of(models.Deleted))


def download_qr_code(
    qr_id: str, format: str | None = None, size: int | None = None
) -> Call[models.Image]:
    params = _params(format=format, size=size)
    return Call("GET", f"/v1/qrcodes/{_id(qr_id)}/download", read_image, params=params)


def batch_create(items: list[Mapping[str, Any]]) -> Call[models.BatchResults]:
    return Call(
        "POST", "/v1/qrcodes/batch", data_of(models.BatchResults), json={"items": list(items)}
    )


# --- statistics ---------------------------------------------------------------------------


def _stats_params(window: Mapping[str, Any]) -> dict[str, str]:
    return _params(**window)


def code_stats(qr_id: str, window: Mapping[str, Any]) -> Call[models.CodeStats]:
    return Call(
        "GET",
        f"/v1/qrcodes/{_id(qr_id)}/stats",
        data_of(models.CodeStats),
        params=_stats_params(window),
    )


def time_series(qr_id: str, granularity: str, window: Mapping[str, Any]) -> Call[models.TimeSeries]:
    params = {"granularity": granularity, **_stats_params(window)}
    return Call(
        "GET", f"/v1/qrcodes/{_id(qr_id)}/stats/daily", data_of(models.TimeSeries), params=params
    )


def breakdown(qr_id: str, dimension: str, window: Mapping[str, Any]) -> Call[list[models.ShareRow]]:
    """``dimension``: countries, cities or referrers."""
    return Call(
        "GET",
        f"/v1/qrcodes/{_id(qr_id)}/stats/{_id(dimension)}",
        data_of(list[models.ShareRow]),
        params=_stats_params(window),
    )


def device_breakdown(qr_id: str, window: Mapping[str, Any]) -> Call[models.DeviceBreakdown]:
    return Call(
        "GET",
        f"/v1/qrcodes/{_id(qr_id)}/stats/devices",
        data_of(models.DeviceBreakdown),
        params=_stats_params(window),
    )


def route_stats(
    qr_id: str, routes: str, window: Mapping[str, Any]
) -> Call[list[models.RouteShare]]:
    """``routes``: rules or variants."""
    return Call(
        "GET",
        f"/v1/qrcodes/{_id(qr_id)}/stats/{_id(routes)}",
        data_of(list[models.RouteShare]),
        params=_stats_params(window),
    )


def overview(window: Mapping[str, Any]) -> Call[models.Overview]:
    return Call("GET", "/v1/stats/overview", data_of(models.Overview), params=_stats_params(window))


# --- barcodes -----------------------------------------------------------------------------


def generate_barcode(format: str, value: str, options: Mapping[str, Any]) -> Call[models.Barcode]:
    body = {"format": format, "value": value, **_body(**options)}
    return Call("POST", "/v1/barcodes/generate", data_of(models.Barcode), json=body)


def list_barcodes(
    *, page: int | None = None, limit: int | None = None, cursor: str | None = None
) -> Call[models.Page[models.Barcode]]:
    params = _params(page=page, limit=limit, cursor=cursor)
    return Call("GET", "/v1/barcodes", page_of(models.Barcode), params=params)


def get_barcode(barcode_id: str) -> Call[models.Barcode]:
    return Call("GET", f"/v1/barcodes/{_id(barcode_id)}", data_of(models.Barcode))


def update_barcode(barcode_id: str, tags: list[str]) -> Call[models.Barcode]:
    return Call(
        "PATCH", f"/v1/barcodes/{_id(barcode_id)}", data_of(models.Barcode), json={"tags": tags}
    )


def delete_barcode(barcode_id: str) -> Call[models.Deleted]:
    return Call("DELETE", f"/v1/barcodes/{_id(barcode_id)}", data_of(models.Deleted))


def download_barcode(barcode_id: str, output: str | None = None) -> Call[models.Image]:
    params = _params(output=output)
    return Call("GET", f"/v1/barcodes/{_id(barcode_id)}/download", read_image, params=params)


# --- short domains and webhooks -------------------------------------------------------------


def list_tags(
    *, page: int | None = None, limit: int | None = None
) -> Call[models.Page[models.TagCount]]:
    params = _params(page=page, limit=limit)
    return Call("GET", "/v1/tags", page_of(models.TagCount), params=params)


def list_domains() -> Call[list[models.ShortDomain]]:
    return Call("GET", "/v1/domains", data_of(list[models.ShortDomain]))


def create_webhook(
    url: str, events: list[str], options: Mapping[str, Any]
) -> Call[models.CreatedWebhook]:
    body = {"url": url, "events": list(events), **_body(**options)}
    return Call("POST", "/v1/webhooks", data_of(models.CreatedWebhook), json=body)


def list_webhooks(
    *, page: int | None = None, limit: int | None = None
) -> Call[models.Page[models.Webhook]]:
    params = _params(page=page, limit=limit)
    return Call("GET", "/v1/webhooks", page_of(models.Webhook), params=params)


def get_webhook(webhook_id: str) -> Call[models.Webhook]:
    return Call("GET", f"/v1/webhooks/{_id(webhook_id)}", data_of(models.Webhook))


def update_webhook(webhook_id: str, fields: Mapping[str, Any]) -> Call[models.Webhook]:
    return Call(
        "PATCH", f"/v1/webhooks/{_id(webhook_id)}", data_of(models.Webhook), json=dict(fields)
    )


def delete_webhook(webhook_id: str) -> Call[models.Deleted]:
    return Call("DELETE", f"/v1/webhooks/{_id(webhook_id)}", data_of(models.Deleted))


def test_webhook(webhook_id: str) -> Call[models.WebhookDelivery]:
    return Call("POST", f"/v1/webhooks/{_id(webhook_id)}/test", data_of(models.WebhookDelivery))


def list_deliveries(
    webhook_id: str, *, page: int | None = None, limit: int | None = None
) -> Call[models.Page[models.WebhookDelivery]]:
    params = _params(page=page, limit=limit)
    return Call(
        "GET",
        f"/v1/webhooks/{_id(webhook_id)}/deliveries",
        page_of(models.WebhookDelivery),
        params=params,
    )


def retry_delivery(webhook_id: str, delivery_id: str) -> Call[models.WebhookDelivery]:
    return Call(
        "POST",
        f"/v1/webhooks/{_id(webhook_id)}/deliveries/{_id(delivery_id)}/retry",
        data_of(models.WebhookDelivery),
    )


# --- keys, account, designs -----------------------------------------------------------------


def list_api_keys() -> Call[list[models.ApiKey]]:
    return Call("GET", "/v1/api-keys", data_of(list[models.ApiKey]))


def create_api_key(
    name: str, permissions: list[str], options: Mapping[str, Any]
) -> Call[models.CreatedApiKey]:
    body = {"name": name, "permissions": permissions, **_body(**options)}
    return Call("POST", "/v1/api-keys", data_of(models.CreatedApiKey), json=body)


def revoke_api_key(key_id: str) -> Call[models.RevokedKey]:
    return Call("DELETE", f"/v1/api-keys/{_id(key_id)}", data_of(models.RevokedKey))


def usage() -> Call[models.Usage]:
    return Call("GET", "/v1/account/usage", data_of(models.Usage))


def list_designs(
    *, page: int | None = None, limit: int | None = None, cursor: str | None = None
) -> Call[models.Page[models.SavedDesign]]:
    params = _params(page=page, limit=limit, cursor=cursor)
    return Call("GET", "/v1/designs", page_of(models.SavedDesign), params=params)


def create_design(name: str, design: Mapping[str, Any]) -> Call[models.SavedDesign]:
    body = {"name": name, "design": dict(design)}
    return Call("POST", "/v1/designs", data_of(models.SavedDesign), json=body)


def get_design(design_id: str) -> Call[models.SavedDesign]:
    return Call("GET", f"/v1/designs/{_id(design_id)}", data_of(models.SavedDesign))


def update_design(design_id: str, fields: Mapping[str, Any]) -> Call[models.SavedDesign]:
    return Call(
        "PATCH", f"/v1/designs/{_id(design_id)}", data_of(models.SavedDesign), json=dict(fields)
    )


def delete_design(design_id: str) -> Call[models.Deleted]:
    return Call("DELETE", f"/v1/designs/{_id(design_id)}", data_of(models.Deleted))


def decode_image(
    image: bytes, media_type: str, formats: Sequence[str] = ()
) -> Call[models.DecodeResults]:
    return Call(
        "POST",
        "/v1/decode",
        data_of(models.DecodeResults),
        params={"formats": ",".join(formats)} if formats else {},
        content=image,
        headers={"Content-Type": media_type},
    )


# --- imports and exports --------------------------------------------------------------------


def start_import(csv: bytes, source: str) -> Call[models.Import]:
    return Call(
        "POST",
        "/v1/imports",
        data_of(models.Import),
        params={"source": source},
        content=csv,
        headers={"Content-Type": "text/csv"},
    )


def get_import(import_id: str) -> Call[models.Import]:
    return Call("GET", f"/v1/imports/{_id(import_id)}", data_of(models.Import))


def import_errors(import_id: str) -> Call[bytes]:
    return Call("GET", f"/v1/imports/{_id(import_id)}/errors", read_bytes)


def export_qr_codes(format: str, kind: str | None = None, tag: str | None = None) -> Call[bytes]:
    params = _params(format=format, kind=kind, tag=tag)
    return Call("GET", "/v1/qrcodes/export", read_bytes, params=params)


def export_scans(qr_id: str, format: str, window: Mapping[str, Any]) -> Call[bytes]:
    params = {"format": format, **_params(**window)}
    return Call("GET", f"/v1/qrcodes/{_id(qr_id)}/scans/export", read_bytes, params=params)


__all__ = ["IMAGE_MEDIA_TYPES", "ApiError", "Call"]
