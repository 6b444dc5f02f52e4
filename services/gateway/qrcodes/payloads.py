"""Static QR content: validate a ``(type, content)`` pair and build the text a QR code carries.

Contract (API.md, "Static QR codes"): :func:`build_payload` is a pure function of its input
(no clock, no randomness, no I/O), so a stored spec always re-renders to the same image.
Every rejection is an :class:`ApiError`: ``INVALID_TYPE`` (field ``type``) for an unknown
type, ``INVALID_CONTENT`` (field ``content`` or ``content.<key>``) for content that does not
fit the type. Whether the payload fits in a QR code at all is the renderer's question
(``DATA_TOO_LONG``), not this module's.

Library use: ``segno.helpers`` is used where its output is exactly right (the ``geo:``
coordinates). Its WiFi helper escapes neither ``,`` nor terminates hidden networks with
``;;``, its vCard helper escapes neither ``\\`` nor newlines and leaves ``N`` unescaped, its
mailto helper leaves ``/`` unencoded and emits ``&body=`` without a ``?`` when there is no
subject, and its EPC helper is private, requires an amount and a remittance text and picks a
charset itself; those formats are therefore written here, against their specs. IBAN and BIC
checks come from ``python-stdnum``; percent-encoding from :mod:`urllib.parse`; dates from
:meth:`datetime.fromisoformat`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final
from urllib.parse import quote, urlsplit

from segno.helpers import make_geo_data
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, ValidationError

from services.gateway.qrcodes.digital_link import digital_link_uri
from services.gateway.qrcodes.fit_warnings import CodeWarning
from services.runtime.errors import ApiError

QR_TYPES: Final[tuple[str, ...]] = (
    "url",
    "text",
    "phone",
    "email",
    "sms",
    "whatsapp",
    "wifi",
    "vcard",
    "maps",
    "event",
    "payment",
    "gs1_digital_link",
)
"""The static QR types of API.md, in the order the table lists them."""

OBJECT_CONTENT_TYPES: Final[frozenset[str]] = frozenset(
    {"email", "sms", "whatsapp", "wifi", "vcard", "maps", "event", "payment", "gs1_digital_link"}
)
"""Types whose ``content`` is a JSON object; the others take a string."""

MAX_URL_LENGTH: Final = 2048
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-.()/]")
_PHONE_DIGITS: Final = re.compile(r"\+?[0-9]{3,15}")
# Deliberately loose: a QR code only carries the address, the mail client is the judge.
_EMAIL: Final = re.compile(r"[^@\s,<>\"]+@[^@\s,<>\"]+\.[^@\s,<>\".]+")
_DATE_ONLY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_EPC_MAX_BYTES: Final = 331  # EPC069-12: the whole payload must fit 331 bytes.
_EPC_MIN_AMOUNT: Final = Decimal("0.01")
_EPC_MAX_AMOUNT: Final = Decimal("999999999.99")


def _invalid(message: str, field: str = "content") -> ApiError:
    return ApiError("INVALID_CONTENT", message, field=field)


# What _has_control or str.isspace finds (re's \s is str.isspace's Unicode whitespace, checked
# over every code point), in one pass in C: ~1 us a URL where the two generators took ~18 us.
_CONTROL_OR_SPACE: Final = re.compile(r"[\x00-\x1f\x7f\s]")


def _has_control(value: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


# --- shared validators -------------------------------------------------------------------


def validate_http_url(value: object, field: str, *, code: str = "INVALID_CONTENT") -> str:
    """Return ``value`` as an absolute http(s) URL with a host, or raise ``ApiError(code)``.

    Surrounding whitespace is stripped (copy-paste artefact); whitespace or control characters
    inside the URL are rejected rather than encoded, because a QR code or a redirect carrying a
    silently altered URL is worse than an error. The URL is otherwise returned as given (no
    normalisation), so what the client sent is what gets encoded. Used for ``url`` content,
    vCard ``url`` and dynamic codes' ``destination_url`` (pass ``code="INVALID_PARAMETER"``).
    """
    if not isinstance(value, str):
        raise ApiError(code, "must be a URL string", field=field)
    url = value.strip()
    if not url:
        raise ApiError(code, "URL must not be empty", field=field)
    if len(url) > MAX_URL_LENGTH:
        raise ApiError(code, f"URL is longer than {MAX_URL_LENGTH} characters", field=field)
    if _CONTROL_OR_SPACE.search(url):
        raise ApiError(code, "URL must not contain spaces or control characters", field=field)
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise ApiError(code, "URL is malformed", field=field) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ApiError(code, "URL must start with http:// or https://", field=field)
    if not parts.hostname or not port_ok:
        raise ApiError(code, "URL must name a host", field=field)
    return url


def _normalize_phone(value: object, field: str) -> str:
    """Strip common separators and accept ``+`` then 3 to 15 digits (E.164-ish)."""
    if not isinstance(value, str):
        raise _invalid("phone number must be a string", field)
    compact = _PHONE_SEPARATORS.sub("", value)
    if not _PHONE_DIGITS.fullmatch(compact):
        raise _invalid("phone number must be digits with an optional leading +", field)
    return compact


def _validate_email(value: object, field: str) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        raise _invalid("must be an e-mail address like name@example.com", field)
    return value.strip()


def _escape_text(value: str) -> str:
    """Escape a TEXT value for vCard 3.0 (RFC 2426 §4) and iCalendar (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


class _Fields:
    """Typed access to a content object, naming ``content.<key>`` in every error."""

    def __init__(
        self,
        content: object,
        *,
        required: Collection[str],
        optional: Collection[str],
        prefix: str = "content",
    ) -> None:
        if not isinstance(content, Mapping):
            raise _invalid(f"{prefix} must be an object for this type", prefix)
        self._prefix = prefix
        # Unknown keys are refused rather than ignored: a misspelt optional field would
        # otherwise vanish silently from a printed code.
        unknown = sorted(str(k) for k in content if k not in required and k not in optional)
        if unknown:
            raise _invalid(f"unknown field {unknown[0]!r}", self.field(unknown[0]))
        for key in required:
            if content.get(key) is None:
                raise _invalid(f"{key} is required", self.field(key))
        self._content = content

    def field(self, key: str) -> str:
        return f"{self._prefix}.{key}"

    def raw(self, key: str) -> object:
        return self._content.get(key)

    def text(self, key: str, *, max_len: int | None = None, multiline: bool = False) -> str | None:
        """A string field; ``None``/``""`` count as absent (required keys are checked apart)."""
        value = self._content.get(key)
        field = self.field(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _invalid(f"{key} must be a string", field)
        if not value.strip():
            return None
        if max_len is not None and len(value) > max_len:
            raise _invalid(f"{key} must be at most {max_len} characters", field)
        checked = (
            value.replace("\r", "").replace("\n", "").replace("\t", "") if multiline else value
        )
        if _has_control(checked):
            raise _invalid(f"{key} must not contain control characters or line breaks", field)
        return value

    def required_text(self, key: str, *, max_len: int | None = None) -> str:
        value = self.text(key, max_len=max_len)
        if value is None:
            raise _invalid(f"{key} must not be empty", self.field(key))
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._content.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _invalid(f"{key} must be true or false", self.field(key))
        return value

    def number(self, key: str) -> float:
        value = self._content.get(key)
        # bool is an int subclass: `true` is not a coordinate.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(f"{key} must be a number", self.field(key))
        number = float(value)
        if not math.isfinite(number):
            raise _invalid(f"{key} must be a finite number", self.field(key))
        return number


# --- one builder per type ----------------------------------------------------------------


def _build_url(content: object) -> str:
    return validate_http_url(content, "content")


def _build_text(content: object) -> str:
    if not isinstance(content, str):
        raise _invalid("content must be a string for type text")
    if not content.strip():
        raise _invalid("content must not be empty")
    return content


def _build_phone(content: object) -> str:
    return "tel:" + _normalize_phone(content, "content")


def _build_email(content: object) -> str:
    fields = _Fields(content, required=("to",), optional=("subject", "body"))
    to = _validate_email(fields.raw("to"), "content.to")
    # RFC 6068: hfvalues are percent-encoded UTF-8; line breaks travel as %0D%0A.
    headers: list[str] = []
    subject = fields.text("subject", multiline=True)
    body = fields.text("body", multiline=True)
    for name, value in (("subject", subject), ("body", body)):
        if value is not None:
            crlf = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
            headers.append(f"{name}={quote(crlf, safe='')}")
    query = "?" + "&".join(headers) if headers else ""
    return f"mailto:{quote(to, safe='@+')}{query}"


def _build_sms(content: object) -> str:
    fields = _Fields(content, required=("phone",), optional=("message",))
    phone = _normalize_phone(fields.raw("phone"), "content.phone")
    message = fields.text("message", multiline=True) or ""
    # SMSTO has no escaping: scanners split at the first ':' after the number, so a ':' in the
    # message is safe.
    return f"SMSTO:{phone}:{message}"


def _build_whatsapp(content: object) -> str:
    fields = _Fields(content, required=("phone",), optional=("message",))
    phone = _normalize_phone(fields.raw("phone"), "content.phone")
    digits = phone.removeprefix("+")
    if digits.startswith("0"):
        # wa.me only takes full international numbers (country code, no 00 or trunk 0).
        raise _invalid(
            "phone must be in international format with a country code, e.g. +33612345678",
            "content.phone",
        )
    message = fields.text("message", multiline=True)
    text = f"?text={quote(message, safe='')}" if message is not None else ""
    return f"https://wa.me/{digits}{text}"


_WIFI_ESCAPE: Final = str.maketrans({ch: "\\" + ch for ch in '\\;,:"'})
_WIFI_ENCRYPTIONS: Final = {"wpa": "WPA", "wep": "WEP", "nopass": "nopass"}
_HEX: Final = re.compile(r"[0-9a-fA-F]+")


def _build_wifi(content: object) -> str:
    fields = _Fields(content, required=("ssid", "encryption"), optional=("password", "hidden"))
    ssid = fields.required_text("ssid")
    if len(ssid.encode("utf-8")) > 32:
        raise _invalid("ssid must be at most 32 bytes", "content.ssid")
    encryption_raw = fields.raw("encryption")
    encryption = (
        _WIFI_ENCRYPTIONS.get(encryption_raw.lower()) if isinstance(encryption_raw, str) else None
    )
    if encryption is None:
        raise _invalid("encryption must be WPA, WEP or nopass", "content.encryption")
    password = fields.text("password", max_len=64)
    if encryption == "nopass" and password is not None:
        raise _invalid("an open network (nopass) takes no password", "content.password")
    if encryption != "nopass" and password is None:
        raise _invalid(f"a {encryption} network needs a password", "content.password")
    # A WPA password of another length is encoded as given, with a warning (see
    # payload_warnings): the client knows its network, and refusing it helped no one.
    hidden = fields.boolean("hidden", default=False)

    parts = [f"WIFI:T:{encryption};S:{ssid.translate(_WIFI_ESCAPE)};"]
    if password is not None:
        parts.append(f"P:{password.translate(_WIFI_ESCAPE)};")
    if hidden:
        parts.append("H:true;")
    parts.append(";")
    return "".join(parts)


def _is_wpa_passphrase(password: str) -> bool:
    """WPA-PSK takes an 8 to 63 character passphrase or a 64-hex-digit raw key."""
    return 8 <= len(password) <= 63 or (len(password) == 64 and bool(_HEX.fullmatch(password)))


def payload_warnings(qr_type: str, content: object) -> tuple[CodeWarning, ...]:
    """What the client should know about the payload :func:`build_payload` made of
    ``content`` (call it only once that succeeded): a WPA password outside 8-63 characters
    is encoded as given, and most devices will not join with it (WIFI_PASSWORD_LENGTH)."""
    if qr_type != "wifi" or not isinstance(content, Mapping):
        return ()
    encryption, password = content.get("encryption"), content.get("password")
    if not (isinstance(encryption, str) and encryption.lower() == "wpa"):
        return ()
    if not isinstance(password, str) or _is_wpa_passphrase(password):
        return ()
    return (
        CodeWarning(
            "WIFI_PASSWORD_LENGTH",
            f"the WPA password has {len(password)} characters, not 8 to 63: encoded as "
            "given, but most devices refuse to join with it",
        ),
    )


_ADDRESS_KEYS: Final = ("street", "city", "region", "postal_code", "country")


def _vcard_address(value: object) -> str | None:
    """ADR value: ``pobox;extended;street;locality;region;code;country`` (RFC 2426 §3.2.1)."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        return f";;{_escape_text(value)};;;;"
    parts = _Fields(value, required=(), optional=_ADDRESS_KEYS, prefix="content.address")
    values = [parts.text(key, max_len=200, multiline=True) or "" for key in _ADDRESS_KEYS]
    if not any(values):
        return None
    street, city, region, code, country = (_escape_text(v) for v in values)
    return f";;{street};{city};{region};{code};{country}"


def _build_vcard(content: object) -> str:
    fields = _Fields(
        content,
        required=("first_name", "last_name"),
        optional=("phone", "email", "organization", "title", "url", "address"),
    )
    first = fields.required_text("first_name", max_len=200)
    last = fields.required_text("last_name", max_len=200)
    phone = fields.text("phone")
    email = fields.text("email")
    organization = fields.text("organization", max_len=200)
    title = fields.text("title", max_len=200)
    url = fields.text("url")
    address = _vcard_address(fields.raw("address"))

    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{_escape_text(last)};{_escape_text(first)};;;",
        f"FN:{_escape_text(f'{first} {last}')}",
    ]
    if organization is not None:
        lines.append(f"ORG:{_escape_text(organization)}")
    if title is not None:
        lines.append(f"TITLE:{_escape_text(title)}")
    if phone is not None:
        lines.append(f"TEL:{_normalize_phone(phone, 'content.phone')}")
    if email is not None:
        lines.append(f"EMAIL:{_escape_text(_validate_email(email, 'content.email'))}")
    if url is not None:
        # URL is a uri value, not TEXT: no backslash escaping.
        lines.append(f"URL:{validate_http_url(url, 'content.url')}")
    if address is not None:
        lines.append(f"ADR:{address}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _coordinate(value: float, low: float, high: float, field: str) -> float:
    if not low <= value <= high:
        raise _invalid(f"must be between {low:g} and {high:g}", field)
    # Round first so that -0.000000001 does not print as "-0".
    return round(value, 8) + 0.0


def _build_maps(content: object) -> str:
    fields = _Fields(content, required=("latitude", "longitude"), optional=("label",))
    lat = _coordinate(fields.number("latitude"), -90, 90, "content.latitude")
    lon = _coordinate(fields.number("longitude"), -180, 180, "content.longitude")
    label = fields.text("label", max_len=200)
    geo = str(make_geo_data(lat, lon))
    if label is None:
        return geo
    # `q=lat,lon(label)` pins the exact point with a caption; a bare `q=label` would make map
    # apps search for the label text instead of showing the coordinates.
    return f"{geo}?q={geo.removeprefix('geo:')}({quote(label, safe='')})"


def _parse_when(value: object, field: str) -> datetime | date:
    """An ISO 8601 date (all-day) or datetime; a datetime without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise _invalid("must be an ISO 8601 date or datetime string", field)
    text = value.strip()
    try:
        if _DATE_ONLY.fullmatch(text):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(
            "must be an ISO 8601 date or datetime, e.g. 2026-06-01T09:00:00Z", field
        ) from None


def _build_event(content: object) -> str:
    fields = _Fields(
        content, required=("title", "start"), optional=("end", "location", "description")
    )
    title = fields.required_text("title", max_len=500)
    start = _parse_when(fields.raw("start"), "content.start")
    end_raw = fields.raw("end")
    end = None if end_raw is None else _parse_when(end_raw, "content.end")
    location = fields.text("location", max_len=500, multiline=True)
    description = fields.text("description", multiline=True)

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//QRForge//Static QR//EN",
        "BEGIN:VEVENT",
        f"SUMMARY:{_escape_text(title)}",
    ]
    if isinstance(start, datetime):
        if end is not None and not isinstance(end, datetime):
            raise _invalid("end must be a datetime when start is a datetime", "content.end")
        if end is not None and end < start:
            raise _invalid("end must not be before start", "content.end")
        lines.append(f"DTSTART:{start:%Y%m%dT%H%M%SZ}")
        if end is not None:
            lines.append(f"DTEND:{end:%Y%m%dT%H%M%SZ}")
    else:
        if end is not None and isinstance(end, datetime):
            raise _invalid("end must be a date when start is a date", "content.end")
        if end is not None and end < start:
            raise _invalid("end must not be before start", "content.end")
        lines.append(f"DTSTART;VALUE=DATE:{start:%Y%m%d}")
        if end is not None:
            # The API's end day is inclusive; iCalendar's DTEND of an all-day event is not.
            lines.append(f"DTEND;VALUE=DATE:{end + timedelta(days=1):%Y%m%d}")
    if location is not None:
        lines.append(f"LOCATION:{_escape_text(location)}")
    if description is not None:
        lines.append(f"DESCRIPTION:{_escape_text(description)}")
    # No UID/DTSTAMP: both would have to be random or "now", and the payload must be a pure
    # function of the request. Lines are not folded: QR readers take long lines, not all of
    # them unfold.
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def _epc_amount(value: object) -> str | None:
    field = "content.amount"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid("amount must be a number", field)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise _invalid("amount must be a number", field) from None
    if not amount.is_finite():
        raise _invalid("amount must be a finite number", field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        # Money is never rounded silently.
        raise _invalid("amount must have at most 2 decimal places", field)
    if not _EPC_MIN_AMOUNT <= amount <= _EPC_MAX_AMOUNT:
        raise _invalid("amount must be between 0.01 and 999999999.99", field)
    return f"EUR{amount.quantize(Decimal('0.01')):.2f}"


def _build_payment(content: object) -> str:
    fields = _Fields(
        content, required=("iban", "name"), optional=("amount", "currency", "label", "bic")
    )
    iban_raw = fields.required_text("iban", max_len=64)
    try:
        iban = str(stdnum_iban.validate(iban_raw))
    except InvalidChecksum:
        raise _invalid("IBAN check digits are wrong", "content.iban") from None
    except ValidationError:
        raise _invalid("not a valid IBAN", "content.iban") from None
    bic_raw = fields.text("bic", max_len=16)
    bic = ""
    if bic_raw is not None:
        try:
            bic = str(stdnum_bic.validate(bic_raw))
        except ValidationError:
            raise _invalid("not a valid BIC (8 or 11 characters)", "content.bic") from None
    name = fields.required_text("name", max_len=70).strip()
    currency = fields.text("currency")
    if currency is not None and currency.strip().upper() != "EUR":
        raise _invalid("EPC payment codes only support EUR", "content.currency")
    amount = _epc_amount(fields.raw("amount")) or ""
    label = fields.text("label", max_len=140)
    remittance = label.strip() if label is not None else ""

    # EPC069-12 v002: service tag, version, charset (1 = UTF-8), identification, BIC, name,
    # IBAN, amount, purpose, structured reference, unstructured remittance. Trailing empty
    # elements may be left out, and are, so that no payload ends in a blank line.
    elements = ["BCD", "002", "1", "SCT", bic, name, iban, amount, "", "", remittance]
    while elements[-1] == "":
        elements.pop()
    payload = "\n".join(elements)
    if len(payload.encode("utf-8")) > _EPC_MAX_BYTES:
        raise _invalid(f"payment data exceeds the EPC limit of {_EPC_MAX_BYTES} bytes")
    return payload


_BUILDERS: Final[Mapping[str, Callable[[object], str]]] = {
    "url": _build_url,
    "text": _build_text,
    "phone": _build_phone,
    "email": _build_email,
    "sms": _build_sms,
    "whatsapp": _build_whatsapp,
    "wifi": _build_wifi,
    "vcard": _build_vcard,
    "maps": _build_maps,
    "event": _build_event,
    "payment": _build_payment,
    "gs1_digital_link": digital_link_uri,
}


def build_payload(qr_type: str, content: object) -> str:
    """Validate ``content`` for ``qr_type`` and return the exact text to encode.

    ``qr_type`` is matched exactly (lowercase, as API.md lists it). Raises ``INVALID_TYPE``
    (field ``type``) for an unknown type, ``INVALID_PARAMETER`` when ``type`` or ``content``
    is missing (``None``) or ``type`` is not a string, and ``INVALID_CONTENT`` for content that
    does not fit the type. Typed ``str`` for callers, but any JSON value is handled.
    """
    if qr_type is None:
        raise ApiError("INVALID_PARAMETER", "type is required", field="type")
    if not isinstance(qr_type, str):
        raise ApiError("INVALID_PARAMETER", "type must be a string", field="type")
    builder = _BUILDERS.get(qr_type)
    if builder is None:
        raise ApiError(
            "INVALID_TYPE",
            f"type must be one of: {', '.join(QR_TYPES)}",
            field="type",
        )
    if content is None:
        raise ApiError("INVALID_PARAMETER", "content is required", field="content")
    return builder(content)
