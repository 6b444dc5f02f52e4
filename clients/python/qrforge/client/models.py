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


class RuleCondition(Model, omit_defaults=True):
    """When a routing rule applies: every condition given must hold (``None``: not given)."""

    device: list[str] | None = None
    os: list[str] | None = None
    country: list[str] | None = None
    language: list[str] | None = None
    query: dict[str, str] | None = None


class RoutingRule(Model):
    """Scans matching ``if_`` (``"if"`` in JSON) go to ``destination_url``."""

    if_: RuleCondition = msgspec.field(name="if")
    destination_url: str


class Variant(Model):
    """An A/B destination, picked with probability ``weight`` / the sum of weights."""

    destination_url: str
    weight: int


class Utm(Model):
    """``utm_*`` parameters added to every destination of a dynamic code."""

    source: str
    medium: str
    campaign: str
    term: str | None = None
    content: str | None = None


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
    tags: list[str] = msgspec.field(default_factory=list)
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
    slug: str | None = None
    domain: str | None = None
    rules: list[RoutingRule] = msgspec.field(default_factory=list)
    variants: list[Variant] = msgspec.field(default_factory=list)
    expired_url: str | None = None
    forward_query: bool = False
    utm: Utm | None = None
    tags: list[str] = msgspec.field(default_factory=list)
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
    webhook_id: str | None = None


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
    tags: list[str] = msgspec.field(default_factory=list)
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


class RouteShare(Model):
    """Scans that went to one routing rule or A/B variant (``index``; ``None``: the default
    destination). ``destination_url`` is ``None`` for an index the code no longer has."""

    index: int | None
    destination_url: str | None
    scans: int
    unique_scans: int
    share: float


class ShortDomain(Model):
    """A short domain dynamic codes may live on (``domain`` on a dynamic code names it)."""

    domain: str
    base_url: str
    default: bool


class TagCount(Model):
    """A tag of the account (``/v1/tags``) and how many live codes carry it."""

    tag: str
    qr_codes: int
    barcodes: int


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
    source: str | None = None
    errors_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Webhook(Model):
    """An endpoint the service POSTs signed events to (``/v1/webhooks``); never its secret."""

    webhook_id: str
    url: str
    events: list[str]
    qr_ids: list[str]
    description: str
    active: bool
    disabled_reason: str | None
    created_at: datetime


class CreatedWebhook(Webhook, kw_only=True):
    """The creation answer: the signing secret (``whsec_…``), shown only here."""

    secret: str


class WebhookDelivery(Model):
    """One event sent (or being sent) to a webhook; ``delivery_id`` is its ``webhook-id``."""

    delivery_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


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
