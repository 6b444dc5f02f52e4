"""The asyncio client: ``AsyncClient(api_key=…, base_url=…)``, the same methods as
:class:`~qrforge.client.sync_client.Client`, awaited (``iter_…`` are async iterators).
Same retries, timeouts and ``Idempotency-Key`` on every POST."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from qrforge.client import calls, models
from qrforge.client.errors import NetworkError
from qrforge.client.retries import RETRY_STATUSES, RetryPolicy, may_resend
from qrforge.client.settings import ClientSettings, request_headers

T = TypeVar("T")


class AsyncClient:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = ClientSettings.resolve(api_key, base_url, timeout, retry)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=self.settings.base_url,
            headers=self.settings.headers(),
            timeout=self.settings.timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, call: calls.Call[T]) -> T:
        """Send one described call with retries; decode its answer or raise ``ApiError``."""
        headers = request_headers(call.method, call.headers)
        policy = self.settings.retry
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=dict(call.params),
                    json=call.json,
                    content=call.content,
                    headers=headers,
                )
            except httpx.TransportError as exc:
                resendable = isinstance(exc, httpx.ConnectError) or may_resend(call.method, headers)
                if resendable and attempt < policy.max_retries:
                    await self._sleep(policy.delay(attempt, None, time.time()))
                    attempt += 1
                    continue
                raise NetworkError(
                    f"cannot reach {self.settings.base_url}: {exc or type(exc).__name__}"
                ) from exc
            if response.status_code in RETRY_STATUSES and attempt < policy.max_retries:
                await self._sleep(policy.delay(attempt, response.headers, time.time()))
                attempt += 1
                continue
            return call.read(response)

    async def _pages(
        self, make: Callable[[str | None], calls.Call[models.Page[T]]]
    ) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self.send(make(cursor))
            for item in page.items:
                yield item
            cursor = page.pagination.next_cursor
            if not cursor or not page.items:
                return

    # --- QR codes ---------------------------------------------------------------------------

    async def generate_qr(
        self, type: str, content: str | Mapping[str, Any], **options: Any
    ) -> models.StaticQrCode:
        """A static QR code, stored; ``options``: format, size, error_correction, quiet_zone,
        name, design, design_id, include_image, tags."""
        return await self.send(calls.generate_qr(type, content, options))

    async def generate_qr_image(
        self, type: str, content: str | Mapping[str, Any], format: str = "png", **options: Any
    ) -> models.Image:
        """A static QR code's image bytes straight away (the code is stored too: ``.qr_id``)."""
        return await self.send(calls.generate_qr_image(type, content, format, options))

    async def preview_qr(
        self, type: str, content: str | Mapping[str, Any], format: str = "png", **options: Any
    ) -> models.Image:
        """The image a static code with these options would have, storing nothing (a logo may
        be sent inline, ``design={"logo_data": …}``); ``options`` as for ``generate_qr``."""
        return await self.send(calls.preview_qr(type, content, format, options))

    async def create_dynamic(
        self, name: str, destination_url: str, **options: Any
    ) -> models.DynamicQrCode:
        """A dynamic QR code; ``options``: protection, slug, domain, rules, design, format, …"""
        return await self.send(calls.create_dynamic(name, destination_url, options))

    async def get_qr_code(self, qr_id: str) -> models.QrCode:
        return await self.send(calls.get_qr_code(qr_id))

    async def list_qr_codes(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        type: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        q: str | None = None,
    ) -> models.Page[models.QrCode]:
        return await self.send(
            calls.list_qr_codes(
                page=page, limit=limit, cursor=cursor, type=type, kind=kind, tag=tag, q=q
            )
        )

    def iter_qr_codes(
        self,
        *,
        type: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[models.QrCode]:
        """Every code of the account, newest first, fetched a page at a time."""
        return self._pages(
            lambda cursor: calls.list_qr_codes(
                limit=page_size, cursor=cursor, type=type, kind=kind, tag=tag, q=q
            )
        )

    async def update_qr_code(self, qr_id: str, **fields: Any) -> models.QrCode:
        return await self.send(calls.update_qr_code(qr_id, fields))

    async def set_destination(self, qr_id: str, destination_url: str) -> models.DynamicQrCode:
        return await self.send(calls.set_destination(qr_id, destination_url))

    async def delete_qr_code(self, qr_id: str) -> models.Deleted:
        return await self.send(calls.delete_qr_code(qr_id))

    async def download_qr_code(
        self, qr_id: str, format: str | None = None, size: int | None = None
    ) -> models.Image:
        return await self.send(calls.download_qr_code(qr_id, format, size))

    async def batch_create(self, items: list[Mapping[str, Any]]) -> models.BatchResults:
        return await self.send(calls.batch_create(items))

    # --- statistics -------------------------------------------------------------------------

    async def code_stats(self, qr_id: str, **window: Any) -> models.CodeStats:
        """``window``: from_, to, tz, include_bots."""
        return await self.send(calls.code_stats(qr_id, window))

    async def time_series(
        self, qr_id: str, granularity: str = "day", **window: Any
    ) -> models.TimeSeries:
        return await self.send(calls.time_series(qr_id, granularity, window))

    async def breakdown(self, qr_id: str, dimension: str, **window: Any) -> list[models.ShareRow]:
        """``dimension``: countries, cities or referrers."""
        return await self.send(calls.breakdown(qr_id, dimension, window))

    async def device_breakdown(self, qr_id: str, **window: Any) -> models.DeviceBreakdown:
        return await self.send(calls.device_breakdown(qr_id, window))

    async def route_stats(
        self, qr_id: str, routes: str = "rules", **window: Any
    ) -> list[models.RouteShare]:
        """Scans per routing rule (``routes="rules"``) or A/B variant (``"variants"``)."""
        return await self.send(calls.route_stats(qr_id, routes, window))

    async def overview(self, **window: Any) -> models.Overview:
        return await self.send(calls.overview(window))

    # --- barcodes ---------------------------------------------------------------------------

    async def generate_barcode(self, format: str, value: str, **options: Any) -> models.Barcode:
        """``options``: output, width, height, show_text, metadata, include_image."""
        return await self.send(calls.generate_barcode(format, value, options))

    async def list_barcodes(
        self, *, page: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> models.Page[models.Barcode]:
        return await self.send(calls.list_barcodes(page=page, limit=limit, cursor=cursor))

    def iter_barcodes(self, *, page_size: int = 100) -> AsyncIterator[models.Barcode]:
        return self._pages(lambda cursor: calls.list_barcodes(limit=page_size, cursor=cursor))

    async def get_barcode(self, barcode_id: str) -> models.Barcode:
        return await self.send(calls.get_barcode(barcode_id))

    async def update_barcode(self, barcode_id: str, tags: list[str]) -> models.Barcode:
        """Replace the barcode's tags."""
        return await self.send(calls.update_barcode(barcode_id, tags))

    async def delete_barcode(self, barcode_id: str) -> models.Deleted:
        return await self.send(calls.delete_barcode(barcode_id))

    async def download_barcode(self, barcode_id: str, output: str | None = None) -> models.Image:
        return await self.send(calls.download_barcode(barcode_id, output))

    # --- short domains and webhooks ----------------------------------------------------------

    async def list_tags(
        self, *, page: int | None = None, limit: int | None = None
    ) -> models.Page[models.TagCount]:
        """The account's tags, by name, with how many QR codes and barcodes carry each."""
        return await self.send(calls.list_tags(page=page, limit=limit))

    async def list_domains(self) -> list[models.ShortDomain]:
        """The short domains dynamic codes may use, the default first."""
        return await self.send(calls.list_domains())

    async def create_webhook(
        self, url: str, events: list[str], **options: Any
    ) -> models.CreatedWebhook:
        """``options``: qr_ids, description. The signing secret is in ``.secret``, shown once."""
        return await self.send(calls.create_webhook(url, events, options))

    async def list_webhooks(
        self, *, page: int | None = None, limit: int | None = None
    ) -> models.Page[models.Webhook]:
        return await self.send(calls.list_webhooks(page=page, limit=limit))

    async def get_webhook(self, webhook_id: str) -> models.Webhook:
        return await self.send(calls.get_webhook(webhook_id))

    async def update_webhook(self, webhook_id: str, **fields: Any) -> models.Webhook:
        """``fields``: url, events, qr_ids, description, active."""
        return await self.send(calls.update_webhook(webhook_id, fields))

    async def delete_webhook(self, webhook_id: str) -> models.Deleted:
        return await self.send(calls.delete_webhook(webhook_id))

    async def test_webhook(self, webhook_id: str) -> models.WebhookDelivery:
        """Queue a ``webhook.test`` event to the endpoint."""
        return await self.send(calls.test_webhook(webhook_id))

    async def list_deliveries(
        self, webhook_id: str, *, page: int | None = None, limit: int | None = None
    ) -> models.Page[models.WebhookDelivery]:
        return await self.send(calls.list_deliveries(webhook_id, page=page, limit=limit))

    async def retry_delivery(self, webhook_id: str, delivery_id: str) -> models.WebhookDelivery:
        """Send a failed delivery again now."""
        return await self.send(calls.retry_delivery(webhook_id, delivery_id))

    # --- keys, account, designs -------------------------------------------------------------

    async def list_api_keys(self) -> list[models.ApiKey]:
        return await self.send(calls.list_api_keys())

    async def create_api_key(
        self, name: str, permissions: list[str], **options: Any
    ) -> models.CreatedApiKey:
        """``options``: expires_at, rate_limit. The secret is in ``.api_key``, shown once."""
        return await self.send(calls.create_api_key(name, permissions, options))

    async def revoke_api_key(self, key_id: str) -> models.RevokedKey:
        return await self.send(calls.revoke_api_key(key_id))

    async def usage(self) -> models.Usage:
        return await self.send(calls.usage())

    async def list_designs(
        self, *, page: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> models.Page[models.SavedDesign]:
        return await self.send(calls.list_designs(page=page, limit=limit, cursor=cursor))

    async def create_design(self, name: str, design: Mapping[str, Any]) -> models.SavedDesign:
        return await self.send(calls.create_design(name, design))

    async def get_design(self, design_id: str) -> models.SavedDesign:
        return await self.send(calls.get_design(design_id))

    async def update_design(self, design_id: str, **fields: Any) -> models.SavedDesign:
        """``fields``: name, design (its fields to change; ``None`` removes one)."""
        return await self.send(calls.update_design(design_id, fields))

    async def delete_design(self, design_id: str) -> models.Deleted:
        return await self.send(calls.delete_design(design_id))

    async def decode_image(
        self, image: bytes, media_type: str = "image/png", formats: Sequence[str] = ()
    ) -> models.DecodeResults:
        """Every QR code and barcode found in a PNG, JPEG or WebP image; only of ``formats``
        (names as results carry them: "QR", "EAN13", ...) when given, which is faster."""
        return await self.send(calls.decode_image(image, media_type, formats))

    # --- imports and exports ----------------------------------------------------------------

    async def start_import(self, csv: bytes, source: str = "qrforge") -> models.Import:
        return await self.send(calls.start_import(csv, source))

    async def get_import(self, import_id: str) -> models.Import:
        return await self.send(calls.get_import(import_id))

    async def import_errors(self, import_id: str) -> bytes:
        return await self.send(calls.import_errors(import_id))

    async def export_qr_codes(
        self, format: str = "csv", *, kind: str | None = None, tag: str | None = None
    ) -> bytes:
        return await self.send(calls.export_qr_codes(format, kind, tag))
