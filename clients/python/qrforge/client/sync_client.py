"""The blocking client: ``Client(api_key=…, base_url=…)``, one method per API operation.

Each call is sent once, then again after a wait when the answer is 429/502/503/504 or when the
connection failed before an answer and resending is safe (see ``retries``); every POST carries
an ``Idempotency-Key`` so a resent create is done once. Use it as a context manager (or call
``close()``) to release its connections."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from qrforge.client import calls, models
from qrforge.client.errors import NetworkError
from qrforge.client.retries import RETRY_STATUSES, RetryPolicy, may_resend
from qrforge.client.settings import ClientSettings, request_headers

T = TypeVar("T")


class Client:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = ClientSettings.resolve(api_key, base_url, timeout, retry)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.settings.base_url,
            headers=self.settings.headers(),
            timeout=self.settings.timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: calls.Call[T]) -> T:
        """Send one described call with retries; decode its answer or raise ``ApiError``."""
        headers = request_headers(call.method, call.headers)
        policy = self.settings.retry
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    params=dict(call.params),
                    json=call.json,
                    content=call.content,
                    headers=headers,
                )
            except httpx.TransportError as exc:
                # A refused connection carried nothing; anything later may have been done.
                resendable = isinstance(exc, httpx.ConnectError) or may_resend(call.method, headers)
                if resendable and attempt < policy.max_retries:
                    self._sleep(policy.delay(attempt, None, time.time()))
                    attempt += 1
                    continue
                raise NetworkError(
                    f"cannot reach {self.settings.base_url}: {exc or type(exc).__name__}"
                ) from exc
            if response.status_code in RETRY_STATUSES and attempt < policy.max_retries:
                self._sleep(policy.delay(attempt, response.headers, time.time()))
                attempt += 1
                continue
            return call.read(response)

    def stream_to(
        self,
        call: calls.Call[bytes],
        path: str | os.PathLike[str],
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Stream a byte answer (an export) into ``path`` in constant memory; returns the byte
        count. ``progress`` is told the count so far after each chunk. Not retried: a partial
        file is not resumable."""
        try:
            with self._http.stream(
                call.method, call.path, params=dict(call.params), headers=dict(call.headers)
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    calls.raise_for_error(response)
                written = 0
                with open(path, "wb") as file:
                    for chunk in response.iter_bytes():
                        file.write(chunk)
                        written += len(chunk)
                        if progress is not None:
                            progress(written)
        except httpx.TransportError as exc:
            raise NetworkError(f"cannot reach {self.settings.base_url}: {exc}") from exc
        return written

    def _pages(self, make: Callable[[str | None], calls.Call[models.Page[T]]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = self.send(make(cursor))
            yield from page.items
            cursor = page.pagination.next_cursor
            if not cursor or not page.items:
                return

    # --- QR codes ---------------------------------------------------------------------------

    def generate_qr(
        self, type: str, content: str | Mapping[str, Any], **options: Any
    ) -> models.StaticQrCode:
        """A static QR code, stored; ``options``: format, size, error_correction, quiet_zone,
        name, design, design_id, include_image, tags."""
        return self.send(calls.generate_qr(type, content, options))

    def generate_qr_image(
        self, type: str, content: str | Mapping[str, Any], format: str = "png", **options: Any
    ) -> models.Image:
        """A static QR code's image bytes straight away (the code is stored too: ``.qr_id``)."""
        return self.send(calls.generate_qr_image(type, content, format, options))

    def preview_qr(
        self, type: str, content: str | Mapping[str, Any], format: str = "png", **options: Any
    ) -> models.Image:
        """The image a static code with these options would have, storing nothing (a logo may
        be sent inline, ``design={"logo_data": …}``); ``options`` as for ``generate_qr``."""
        return self.send(calls.preview_qr(type, content, format, options))

    def create_dynamic(
        self, name: str, destination_url: str, **options: Any
    ) -> models.DynamicQrCode:
        """A dynamic QR code; ``options``: protection, slug, domain, rules, design, format, …"""
        return self.send(calls.create_dynamic(name, destination_url, options))

    def get_qr_code(self, qr_id: str) -> models.QrCode:
        return self.send(calls.get_qr_code(qr_id))

    def list_qr_codes(
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
        return self.send(
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
    ) -> Iterator[models.QrCode]:
        """Every code of the account, newest first, fetched a page at a time."""
        return self._pages(
            lambda cursor: calls.list_qr_codes(
                limit=page_size, cursor=cursor, type=type, kind=kind, tag=tag, q=q
            )
        )

    def update_qr_code(self, qr_id: str, **fields: Any) -> models.QrCode:
        return self.send(calls.update_qr_code(qr_id, fields))

    def set_destination(self, qr_id: str, destination_url: str) -> models.DynamicQrCode:
        return self.send(calls.set_destination(qr_id, destination_url))

    def delete_qr_code(self, qr_id: str) -> models.Deleted:
        return self.send(calls.delete_qr_code(qr_id))

    def download_qr_code(
        self, qr_id: str, format: str | None = None, size: int | None = None
    ) -> models.Image:
        return self.send(calls.download_qr_code(qr_id, format, size))

    def batch_create(self, items: list[Mapping[str, Any]]) -> models.BatchResults:
        return self.send(calls.batch_create(items))

    # --- statistics -------------------------------------------------------------------------

    def code_stats(self, qr_id: str, **window: Any) -> models.CodeStats:
        """``window``: from_, to, tz, include_bots."""
        return self.send(calls.code_stats(qr_id, window))

    def time_series(self, qr_id: str, granularity: str = "day", **window: Any) -> models.TimeSeries:
        return self.send(calls.time_series(qr_id, granularity, window))

    def breakdown(self, qr_id: str, dimension: str, **window: Any) -> list[models.ShareRow]:
        """``dimension``: countries, cities or referrers."""
        return self.send(calls.breakdown(qr_id, dimension, window))

    def device_breakdown(self, qr_id: str, **window: Any) -> models.DeviceBreakdown:
        return self.send(calls.device_breakdown(qr_id, window))

    def route_stats(
        self, qr_id: str, routes: str = "rules", **window: Any
    ) -> list[models.RouteShare]:
        """Scans per routing rule (``routes="rules"``) or A/B variant (``"variants"``)."""
        return self.send(calls.route_stats(qr_id, routes, window))

    def overview(self, **window: Any) -> models.Overview:
        return self.send(calls.overview(window))

    # --- barcodes ---------------------------------------------------------------------------

    def generate_barcode(self, format: str, value: str, **options: Any) -> models.Barcode:
        """``options``: output, width, height, show_text, metadata, include_image."""
        return self.send(calls.generate_barcode(format, value, options))

    def list_barcodes(
        self, *, page: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> models.Page[models.Barcode]:
        return self.send(calls.list_barcodes(page=page, limit=limit, cursor=cursor))

    def iter_barcodes(self, *, page_size: int = 100) -> Iterator[models.Barcode]:
        return self._pages(lambda cursor: calls.list_barcodes(limit=page_size, cursor=cursor))

    def get_barcode(self, barcode_id: str) -> models.Barcode:
        return self.send(calls.get_barcode(barcode_id))

    def update_barcode(self, barcode_id: str, tags: list[str]) -> models.Barcode:
        """Replace the barcode's tags."""
        return self.send(calls.update_barcode(barcode_id, tags))

    def delete_barcode(self, barcode_id: str) -> models.Deleted:
        return self.send(calls.delete_barcode(barcode_id))

    def download_barcode(self, barcode_id: str, output: str | None = None) -> models.Image:
        return self.send(calls.download_barcode(barcode_id, output))

    # --- short domains and webhooks ----------------------------------------------------------

    def list_tags(
        self, *, page: int | None = None, limit: int | None = None
    ) -> models.Page[models.TagCount]:
        """The account's tags, by name, with how many QR codes and barcodes carry each."""
        return self.send(calls.list_tags(page=page, limit=limit))

    def list_domains(self) -> list[models.ShortDomain]:
        """The short domains dynamic codes may use, the default first."""
        return self.send(calls.list_domains())

    def create_webhook(self, url: str, events: list[str], **options: Any) -> models.CreatedWebhook:
        """``options``: qr_ids, description. The signing secret is in ``.secret``, shown once."""
        return self.send(calls.create_webhook(url, events, options))

    def list_webhooks(
        self, *, page: int | None = None, limit: int | None = None
    ) -> models.Page[models.Webhook]:
        return self.send(calls.list_webhooks(page=page, limit=limit))

    def get_webhook(self, webhook_id: str) -> models.Webhook:
        return self.send(calls.get_webhook(webhook_id))

    def update_webhook(self, webhook_id: str, **fields: Any) -> models.Webhook:
        """``fields``: url, events, qr_ids, description, active."""
        return self.send(calls.update_webhook(webhook_id, fields))

    def delete_webhook(self, webhook_id: str) -> models.Deleted:
        return self.send(calls.delete_webhook(webhook_id))

    def test_webhook(self, webhook_id: str) -> models.WebhookDelivery:
        """Queue a ``webhook.test`` event to the endpoint."""
        return self.send(calls.test_webhook(webhook_id))

    def list_deliveries(
        self, webhook_id: str, *, page: int | None = None, limit: int | None = None
    ) -> models.Page[models.WebhookDelivery]:
        return self.send(calls.list_deliveries(webhook_id, page=page, limit=limit))

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> models.WebhookDelivery:
        """Send a failed delivery again now."""
        return self.send(calls.retry_delivery(webhook_id, delivery_id))

    # --- keys, account, designs -------------------------------------------------------------

    def list_api_keys(self) -> list[models.ApiKey]:
        return self.send(calls.list_api_keys())

    def create_api_key(
        self, name: str, permissions: list[str], **options: Any
    ) -> models.CreatedApiKey:
        """``options``: expires_at, rate_limit. The secret is in ``.api_key``, shown once."""
        return self.send(calls.create_api_key(name, permissions, options))

    def revoke_api_key(self, key_id: str) -> models.RevokedKey:
        return self.send(calls.revoke_api_key(key_id))

    def usage(self) -> models.Usage:
        return self.send(calls.usage())

    def list_designs(
        self, *, page: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> models.Page[models.SavedDesign]:
        return self.send(calls.list_designs(page=page, limit=limit, cursor=cursor))

    def create_design(self, name: str, design: Mapping[str, Any]) -> models.SavedDesign:
        return self.send(calls.create_design(name, design))

    def get_design(self, design_id: str) -> models.SavedDesign:
        return self.send(calls.get_design(design_id))

    def update_design(self, design_id: str, **fields: Any) -> models.SavedDesign:
        """``fields``: name, design (its fields to change; ``None`` removes one)."""
        return self.send(calls.update_design(design_id, fields))

    def delete_design(self, design_id: str) -> models.Deleted:
        return self.send(calls.delete_design(design_id))

    def decode_image(
        self, image: bytes, media_type: str = "image/png", formats: Sequence[str] = ()
    ) -> models.DecodeResults:
        """Every QR code and barcode found in a PNG, JPEG or WebP image; only of ``formats``
        (names as results carry them: "QR", "EAN13", ...) when given, which is faster."""
        return self.send(calls.decode_image(image, media_type, formats))

    # --- imports and exports ----------------------------------------------------------------

    def start_import(self, csv: bytes, source: str = "qrforge") -> models.Import:
        return self.send(calls.start_import(csv, source))

    def get_import(self, import_id: str) -> models.Import:
        return self.send(calls.get_import(import_id))

    def import_errors(self, import_id: str) -> bytes:
        return self.send(calls.import_errors(import_id))

    def export_qr_codes(
        self, format: str = "csv", *, kind: str | None = None, tag: str | None = None
    ) -> bytes:
        return self.send(calls.export_qr_codes(format, kind, tag))

    def export_qr_codes_to(
        self,
        path: str | os.PathLike[str],
        format: str = "csv",
        *,
        kind: str | None = None,
        tag: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Every record of the account, streamed to ``path``; returns the byte count."""
        return self.stream_to(calls.export_qr_codes(format, kind, tag), path, progress)

    def export_scans_to(
        self,
        qr_id: str,
        path: str | os.PathLike[str],
        format: str = "csv",
        progress: Callable[[int], object] | None = None,
        **window: Any,
    ) -> int:
        """One row per scan of a code (no IP, no visitor hash), streamed to ``path``."""
        return self.stream_to(calls.export_scans(qr_id, format, window), path, progress)
