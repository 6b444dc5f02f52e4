"""What the API answers, as typed records (msgspec Structs, decoded from the ``data`` of the
JSON envelope). Field names are the API's; optional fields are the ones the API may leave out.
Unknown fields are ignored, so a newer server does not break an older SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")


class Model(msgspec.Struct, kw_only=True):
    """Base of every record: ``to_dict()`` gives the JSON-shaped value back (for ``--json``)."""

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result


class AppliedDesign(Model):
    error_correction: str
    logo_size: float | None


class FitWarning(Model):
    code: str
    message: str


class Protection(Model):
    password_protected: bool
    expiry_date: datetime | None
    max_scans: int


class StaticQrCode(Model, tag_field="kind", tag="static"):
    qr_id: str
    type: str
    content: str | dict[str, Any]
    format: str
    size: int
    error_correction: str
    version: int
    applied: AppliedDesign
    warnings: list[FitWarning]
    image_url: str
    download_url: str
    created_at: datetime
    name: str | None = None
    width: int | None = None
    height: int | None = None
    quiet_zone: int | None = None
    design: dict[str, Any] | None = None
    image_base64: str | None = None

    @property
    def kind(self) -> Literal["static"]:
        return "static"


class DynamicQrCode(Model, tag_field="kind", tag="dynamic"):
    qr_id: str
    name: str | None
    short_url: str
    destination_url: str
    protection: Protection
    total_scans: int | None
    applied: AppliedDesign
    warnings: list[FitWarning]
    image_url: str
    download_url: str
    created_at: datetime
    updated_at: datetime
    type: str = "url"
    active: bool = True
    format: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    error_correction: str | None = None
    quiet_zone: int | None = None
    design: dict[str, Any] | None = None
    version: int | None = None
    image_base64: str | None = None

    @property
    def kind(self) -> Literal["dynamic"]:
        return "dynamic"


QrCode = StaticQrCode | DynamicQrCode


class Deleted(Model):
    deleted: bool
    qr_id: str | None = None
    barcode_id: str | None = None
    key_id: str | None = None
    design_id: str | None = None


class RevokedKey(Model):
    key_id: str
    revoked: bool


class Barcode(Model):
    barcode_id: str
    format: str
    value: str
    output: str
    width: int
    height: int
    image_url: str
    download_url: str
    metadata: dict[str, Any]
    created_at: datetime
    show_text: bool | None = None
    image_base64: str | None = None


class CodeStats(Model):
    qr_id: str
    total_scans: int
    unique_scans: int
    bot_scans: int
    last_scan_at: datetime | None
    top_country: str | None
    top_city: str | None
    devices: dict[str, float]
    os: dict[str, float]
    browsers: dict[str, float]


class SeriesPoint(Model):
    period: str
    scans: int
    unique_scans: int


class TimeSeries(Model):
    granularity: str
    tz: str
    series: list[SeriesPoint]


class ShareRow(Model):
    """One row of a breakdown: exactly one of the naming fields is set, after the route."""

    scans: int
    unique_scans: int
    share: float
    country: str | None = None
    city: str | None = None
    referrer: str | None = None
    device: str | None = None
    os: str | None = None
    browser: str | None = None

    @property
    def key(self) -> str:
        for name in (self.country, self.city, self.referrer, self.device, self.os, self.browser):
            if name is not None:
                return name
        return ""


class DeviceBreakdown(Model):
    devices: list[ShareRow]
    os: list[ShareRow]
    browsers: list[ShareRow]


class TopCode(Model):
    qr_id: str
    scans: int
    name: str | None = None


class Overview(Model):
    total_codes: int
    static_codes: int
    dynamic_codes: int
    total_scans: int
    unique_scans: int
    top_codes: list[TopCode]
    top_countries: list[ShareRow]
    devices: dict[str, float]


class ApiKey(Model):
    key_id: str
    name: str
    permissions: list[str]
    prefix: str
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    rate_limit: int | None = None


class CreatedApiKey(ApiKey, kw_only=True):
    api_key: str


class RateLimitUsage(Model):
    limit: int
    remaining: int
    reset: int | None


class CodeUsage(Model):
    used: int
    limit: int | None = None


class Usage(Model):
    plan: str
    rate_limit: RateLimitUsage
    qr_codes: CodeUsage
    barcodes: CodeUsage
    scans_this_month: int | None


class SavedDesign(Model):
    design_id: str
    name: str
    design: dict[str, Any]
    logo_sha256: str | None
    created_at: datetime
    updated_at: datetime


class DecodedCode(Model):
    format: str
    text: str
    position: list[list[int]]


class DecodeResults(Model):
    results: list[DecodedCode]


class ErrorInfo(Model):
    code: str
    message: str
    details: dict[str, Any] | None = None


class BatchResult(Model):
    index: int
    success: bool
    data: QrCode | None = None
    error: ErrorInfo | None = None


class BatchResults(Model):
    results: list[BatchResult]
    succeeded: int
    failed: int


class Pagination(Model):
    total: int
    page: int
    limit: int
    pages: int
    next_cursor: str | None


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list and where the next one starts."""

    items: list[T]
    pagination: Pagination


class Import(Model):
    """A CSV import running on the server (``/v1/imports``)."""

    import_id: str
    status: str
    rows: int
    processed: int = 0
    succeeded: int = 0
    failed: int = 0


class Image(msgspec.Struct, kw_only=True):
    """Image bytes as the API answered them, with what it said about them."""

    content: bytes
    media_type: str
    qr_id: str | None = None
    warnings: list[str] = msgspec.field(default_factory=list)

    def save(self, path: str | Any) -> None:
        """Write the bytes to ``path`` (a str or ``os.PathLike``)."""
        with open(path, "wb") as file:
            file.write(self.content)
