"""Static QR payloads: exact encodings, validation errors, and a decode round trip per type."""

from __future__ import annotations

import io

import pytest
import segno
import zxingcpp
from PIL import Image

from services.gateway.qrcodes.payloads import (
    QR_TYPES,
    build_payload,
    payload_warnings,
    validate_http_url,
)
from services.runtime.errors import ApiError

IBAN = "DE89370400440532013000"


def decode_qr(payload: str) -> str:
    """Encode with segno (reference encoder) and decode with zxing-cpp."""
    # make_qr, not make: segno would pick Micro QR for short payloads, which has no ECI.
    qr = segno.make_qr(payload, error="m", encoding="utf-8", eci=True)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4, border=4)
    buffer.seek(0)
    results = zxingcpp.read_barcodes(Image.open(buffer))
    assert len(results) == 1
    text: str = results[0].text
    return text


def error_of(qr_type: str, content: object) -> ApiError:
    with pytest.raises(ApiError) as info:
        build_payload(qr_type, content)
    return info.value


# --- exact encodings ---------------------------------------------------------------------

EXACT: list[tuple[str, object, str]] = [
    ("url", "https://example.com/a?b=c#d", "https://example.com/a?b=c#d"),
    ("url", "  http://EXAMPLE.com:8080/  ", "http://EXAMPLE.com:8080/"),
    ("text", "Hello, world!\nSecond line", "Hello, world!\nSecond line"),
    ("phone", "+33612345678", "tel:+33612345678"),
    ("phone", "+33 6 12-34.56 (78)", "tel:+33612345678"),
    ("email", {"to": "a@b.com"}, "mailto:a@b.com"),
    (
        "email",
        {"to": "a+tag@b.com", "subject": "Tom & Jerry's 100% fun", "body": "Hi,\nbye/ok?"},
        "mailto:a+tag@b.com?subject=Tom%20%26%20Jerry%27s%20100%25%20fun"
        "&body=Hi%2C%0D%0Abye%2Fok%3F",
    ),
    ("email", {"to": "a@b.com", "body": "Straße"}, "mailto:a@b.com?body=Stra%C3%9Fe"),
    ("sms", {"phone": "+33612345678", "message": "Bonjour"}, "SMSTO:+33612345678:Bonjour"),
    ("sms", {"phone": "+33612345678"}, "SMSTO:+33612345678:"),
    (
        "whatsapp",
        {"phone": "+33 612 345 678", "message": "Salut! ça va?"},
        "https://wa.me/33612345678?text=Salut%21%20%C3%A7a%20va%3F",
    ),
    ("whatsapp", {"phone": "+33612345678"}, "https://wa.me/33612345678"),
    (
        "wifi",
        {"ssid": "MonWifi", "password": "password1", "encryption": "WPA"},
        "WIFI:T:WPA;S:MonWifi;P:password1;;",
    ),
    (
        "wifi",
        {
            "ssid": 'a;b,c:d\\e"f',
            "password": 'p;a,s:s\\"1',
            "encryption": "wpa",
            "hidden": True,
        },
        'WIFI:T:WPA;S:a\\;b\\,c\\:d\\\\e\\"f;P:p\\;a\\,s\\:s\\\\\\"1;H:true;;',
    ),
    ("wifi", {"ssid": "Cafe", "encryption": "nopass"}, "WIFI:T:nopass;S:Cafe;;"),
    (
        "wifi",
        {"ssid": "Old", "password": "abcde", "encryption": "WEP", "hidden": False},
        "WIFI:T:WEP;S:Old;P:abcde;;",
    ),
    (
        "vcard",
        {"first_name": "Jean", "last_name": "Dupont"},
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Dupont;Jean;;;\r\nFN:Jean Dupont\r\nEND:VCARD\r\n",
    ),
    (
        "vcard",
        {
            "first_name": "Zoë",
            "last_name": "Müller; Jr",
            "phone": "+49 30 1234567",
            "email": "zoe@example.de",
            "organization": "ACME, Inc.",
            "title": "Head of R\\D",
            "url": "https://example.de/zoë",
            "address": {
                "street": "Hauptstraße 1\nHinterhaus",
                "city": "Berlin",
                "postal_code": "10115",
                "country": "Deutschland",
            },
        },
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        "N:Müller\\; Jr;Zoë;;;\r\n"
        "FN:Zoë Müller\\; Jr\r\n"
        "ORG:ACME\\, Inc.\r\n"
        "TITLE:Head of R\\\\D\r\n"
        "TEL:+49301234567\r\n"
        "EMAIL:zoe@example.de\r\n"
        "URL:https://example.de/zoë\r\n"
        "ADR:;;Hauptstraße 1\\nHinterhaus;Berlin;;10115;Deutschland\r\n"
        "END:VCARD\r\n",
    ),
    (
        "vcard",
        {"first_name": "A", "last_name": "B", "address": "1 Main St, Springfield"},
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:B;A;;;\r\nFN:A B\r\n"
        "ADR:;;1 Main St\\, Springfield;;;;\r\nEND:VCARD\r\n",
    ),
    ("maps", {"latitude": 48.8566, "longitude": 2.3522}, "geo:48.8566,2.3522"),
    (
        "maps",
        {"latitude": -33.8688, "longitude": 151.2093, "label": "Opera (Sydney)"},
        "geo:-33.8688,151.2093?q=-33.8688,151.2093(Opera%20%28Sydney%29)",
    ),
    ("maps", {"latitude": 90, "longitude": -180}, "geo:90,-180"),
    ("maps", {"latitude": -1e-12, "longitude": 0.123456789}, "geo:0,0.12345679"),
    (
        "event",
        {
            "title": "Conference; day 1, Paris",
            "start": "2026-06-01T09:00",
            "end": "2026-06-01T18:00+02:00",
            "location": "Palais des Congrès",
            "description": "Line 1\nLine 2 \\ done",
        },
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//QRForge//Static QR//EN\r\n"
        "BEGIN:VEVENT\r\n"
        "SUMMARY:Conference\\; day 1\\, Paris\r\n"
        "DTSTART:20260601T090000Z\r\n"
        "DTEND:20260601T160000Z\r\n"
        "LOCATION:Palais des Congrès\r\n"
        "DESCRIPTION:Line 1\\nLine 2 \\\\ done\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
    (
        "event",
        {"title": "Launch", "start": "2026-03-12T10:30:00Z", "end": "2026-03-12T10:30:00Z"},
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//QRForge//Static QR//EN\r\n"
        "BEGIN:VEVENT\r\nSUMMARY:Launch\r\n"
        "DTSTART:20260312T103000Z\r\nDTEND:20260312T103000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
    (
        "event",
        {"title": "Festival", "start": "2026-07-01", "end": "2026-07-03"},
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//QRForge//Static QR//EN\r\n"
        "BEGIN:VEVENT\r\nSUMMARY:Festival\r\n"
        "DTSTART;VALUE=DATE:20260701\r\nDTEND;VALUE=DATE:20260704\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
    (
        "payment",
        {
            "iban": "DE89 3704 0044 0532 0130 00",
            "amount": 12.34,
            "currency": "EUR",
            "label": "Invoice 42",
            "bic": "COBADEFFXXX",
            "name": "ACME GmbH",
        },
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nACME GmbH\nDE89370400440532013000\nEUR12.34\n\n\n"
        "Invoice 42",
    ),
    (
        "payment",
        {"iban": "fr1420041010050500013m02606", "amount": 50, "name": "Société Ü"},
        "BCD\n002\n1\nSCT\n\nSociété Ü\nFR1420041010050500013M02606\nEUR50.00",
    ),
    ("payment", {"iban": IBAN, "name": "ACME"}, f"BCD\n002\n1\nSCT\n\nACME\n{IBAN}"),
    (
        "payment",
        {"iban": IBAN, "name": "ACME", "amount": "999999999.99", "label": "x"},
        f"BCD\n002\n1\nSCT\n\nACME\n{IBAN}\nEUR999999999.99\n\n\nx",
    ),
    (
        "payment",
        {"iban": IBAN, "name": "ACME", "amount": "0.01", "label": "a" * 140},
        f"BCD\n002\n1\nSCT\n\nACME\n{IBAN}\nEUR0.01\n\n\n{'a' * 140}",
    ),  # GS1 Digital Link: the URIs of the standard's examples (GS1 Digital Link Standard: URI
    # Syntax 1.2, as listed by bwipp's GS1 Digital Link page), byte for byte.
    ("gs1_digital_link", {"gtin": "09521234543213"}, "https://id.gs1.org/01/09521234543213"),
    (
        "gs1_digital_link",
        {"gtin": "09521234543213", "lot": "ABC123", "serial": "12345"},
        "https://id.gs1.org/01/09521234543213/10/ABC123/21/12345",
    ),
    (
        "gs1_digital_link",
        {"gtin": "09521234543213", "lot": "ABC123", "expiry": "2026-12-31"},
        "https://id.gs1.org/01/09521234543213/10/ABC123?17=261231",
    ),
    (
        "gs1_digital_link",
        {"gtin": "09521234543213", "resolver": "https://example.com/products/"},
        "https://example.com/products/01/09521234543213",
    ),
    # API.md's example; a GTIN-13 is written with 14 digits; "/" in a serial is percent-encoded.
    (
        "gs1_digital_link",
        {"gtin": "9506000134352", "lot": "LOT42", "expiry": "2026-12-31"},
        "https://id.gs1.org/01/09506000134352/10/LOT42?17=261231",
    ),
    (
        "gs1_digital_link",
        {"gtin": "09506000134352", "serial": "XYZ/987", "expiry": "2027-02-28"},
        "https://id.gs1.org/01/09506000134352/21/XYZ%2F987?17=270228",
    ),
]


@pytest.mark.parametrize(("qr_type", "content", "expected"), EXACT)
def test_exact_encoding(qr_type: str, content: object, expected: str) -> None:
    assert build_payload(qr_type, content) == expected


@pytest.mark.parametrize("qr_type", QR_TYPES)
def test_every_type_survives_a_real_scan(qr_type: str) -> None:
    samples = [(t, c, e) for t, c, e in EXACT if t == qr_type]
    assert samples, f"no exact sample for {qr_type}"
    for _, content, expected in samples:
        assert decode_qr(build_payload(qr_type, content)) == expected


def test_payload_is_a_pure_function_of_the_input() -> None:
    content = {"title": "Same", "start": "2026-01-01T00:00:00Z"}
    assert build_payload("event", content) == build_payload("event", dict(content))


# --- type and presence -------------------------------------------------------------------


def test_unknown_type() -> None:
    err = error_of("fax", "x")
    assert (err.code, err.field) == ("INVALID_TYPE", "type")


def test_type_is_case_sensitive() -> None:
    assert error_of("URL", "https://example.com").code == "INVALID_TYPE"


@pytest.mark.parametrize(("qr_type", "content", "field"), [(None, "x", "type"), (5, "x", "type")])
def test_missing_or_non_string_type(qr_type: object, content: object, field: str) -> None:
    err = error_of(qr_type, content)  # type: ignore[arg-type]
    assert (err.code, err.field) == ("INVALID_PARAMETER", field)


def test_missing_content() -> None:
    err = error_of("url", None)
    assert (err.code, err.field) == ("INVALID_PARAMETER", "content")


# --- content errors ----------------------------------------------------------------------

INVALID: list[tuple[str, object, str]] = [
    ("url", "ftp://example.com/x", "content"),
    ("url", "https://", "content"),
    ("url", "example.com", "content"),
    ("url", "https://exa mple.com", "content"),
    ("url", "javascript:alert(1)", "content"),
    ("url", "https://example.com:99999/", "content"),
    ("url", 42, "content"),
    ("text", "", "content"),
    ("text", "   ", "content"),
    ("text", {"a": 1}, "content"),
    ("phone", "call me", "content"),
    ("phone", "+12", "content"),
    ("phone", "+1234567890123456", "content"),
    ("email", "a@b.com", "content"),
    ("email", {"to": "not-an-address"}, "content.to"),
    ("email", {"to": "a@b.com", "cc": "c@d.com"}, "content.cc"),
    ("email", {"subject": "x"}, "content.to"),
    ("email", {"to": "a@b.com", "subject": 5}, "content.subject"),
    ("sms", {"message": "x"}, "content.phone"),
    ("sms", {"phone": "abc"}, "content.phone"),
    ("whatsapp", {"phone": "0612345678"}, "content.phone"),
    ("wifi", {"password": "password1", "encryption": "WPA"}, "content.ssid"),
    ("wifi", {"ssid": "x", "password": "password1", "encryption": "WPA3X"}, "content.encryption"),
    ("wifi", {"ssid": "x", "password": "password1"}, "content.encryption"),
    ("wifi", {"ssid": "x", "encryption": "WPA"}, "content.password"),
    ("wifi", {"ssid": "x", "password": "secret123", "encryption": "nopass"}, "content.password"),
    ("wifi", {"ssid": "x", "encryption": "nopass", "hidden": "yes"}, "content.hidden"),
    ("wifi", {"ssid": "x" * 33, "encryption": "nopass"}, "content.ssid"),
    ("wifi", {"ssid": "a\nb", "encryption": "nopass"}, "content.ssid"),
    ("vcard", {"first_name": "Jean"}, "content.last_name"),
    ("vcard", {"first_name": "", "last_name": "D"}, "content.first_name"),
    ("vcard", {"first_name": "J", "last_name": "D", "email": "nope"}, "content.email"),
    ("vcard", {"first_name": "J", "last_name": "D", "url": "www.x.com"}, "content.url"),
    ("vcard", {"first_name": "J", "last_name": "D", "company": "X"}, "content.company"),
    (
        "vcard",
        {"first_name": "J", "last_name": "D", "address": {"zip": "1"}},
        "content.address.zip",
    ),
    ("vcard", {"first_name": "J", "last_name": "D", "address": 5}, "content.address"),
    ("maps", {"latitude": 91, "longitude": 0}, "content.latitude"),
    ("maps", {"latitude": -90.0001, "longitude": 0}, "content.latitude"),
    ("maps", {"latitude": 0, "longitude": 180.5}, "content.longitude"),
    ("maps", {"latitude": "48.1", "longitude": 2}, "content.latitude"),
    ("maps", {"latitude": True, "longitude": 2}, "content.latitude"),
    ("maps", {"latitude": float("nan"), "longitude": 2}, "content.latitude"),
    ("maps", {"latitude": 1}, "content.longitude"),
    (
        "event",
        {"title": "x", "start": "2026-06-02T10:00Z", "end": "2026-06-02T09:59Z"},
        "content.end",
    ),
    ("event", {"title": "x", "start": "2026-06-02", "end": "2026-06-01"}, "content.end"),
    ("event", {"title": "x", "start": "2026-06-02", "end": "2026-06-03T10:00Z"}, "content.end"),
    ("event", {"title": "x", "start": "tomorrow"}, "content.start"),
    ("event", {"title": "x", "start": "2026-13-01T00:00"}, "content.start"),
    ("event", {"title": "x", "start": 1767225600}, "content.start"),
    ("event", {"start": "2026-06-02T10:00Z"}, "content.title"),
    ("payment", {"iban": "DE89370400440532013001", "name": "ACME"}, "content.iban"),
    ("gs1_digital_link", {"gtin": "09521234543214"}, "content.gtin"),
    ("gs1_digital_link", {"gtin": "0952123454321"}, "content.gtin"),
    ("gs1_digital_link", {"gtin": 9521234543213}, "content.gtin"),
    ("gs1_digital_link", {"lot": "A"}, "content.gtin"),
    ("gs1_digital_link", {"gtin": "09521234543213", "lot": "A B"}, "content.lot"),
    ("gs1_digital_link", {"gtin": "09521234543213", "serial": "S" * 21}, "content.serial"),
    ("gs1_digital_link", {"gtin": "09521234543213", "expiry": "2026-02-30"}, "content.expiry"),
    ("gs1_digital_link", {"gtin": "09521234543213", "expiry": "261231"}, "content.expiry"),
    (
        "gs1_digital_link",
        {"gtin": "09521234543213", "resolver": "http://id.gs1.org"},
        "content.resolver",
    ),
    (
        "gs1_digital_link",
        {"gtin": "09521234543213", "resolver": "https://x.example/?a=1"},
        "content.resolver",
    ),
    ("gs1_digital_link", {"gtin": "09521234543213", "batch": "A"}, "content.batch"),
    ("payment", {"iban": "DE8937040044053201300", "name": "ACME"}, "content.iban"),
    ("payment", {"iban": "XX00", "name": "ACME"}, "content.iban"),
    ("payment", {"iban": IBAN}, "content.name"),
    ("payment", {"iban": IBAN, "name": "x" * 71}, "content.name"),
    ("payment", {"iban": IBAN, "name": "A\nB"}, "content.name"),
    ("payment", {"iban": IBAN, "name": "ACME", "currency": "USD"}, "content.currency"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": 0}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": "0.001"}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": 1000000000}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": -5}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": 12.345}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": "ten"}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "amount": True}, "content.amount"),
    ("payment", {"iban": IBAN, "name": "ACME", "label": "a" * 141}, "content.label"),
    ("payment", {"iban": IBAN, "name": "ACME", "bic": "NOTABIC"}, "content.bic"),
    ("payment", "DE89370400440532013000", "content"),
]


@pytest.mark.parametrize(("qr_type", "content", "field"), INVALID)
def test_invalid_content(qr_type: str, content: object, field: str) -> None:
    err = error_of(qr_type, content)
    assert err.code == "INVALID_CONTENT"
    assert err.field == field
    assert err.status == 400


def test_iban_checksum_message_says_so() -> None:
    err = error_of("payment", {"iban": "DE89370400440532013001", "name": "ACME"})
    assert "check" in err.message.lower()


def test_whatsapp_without_plus_is_international_digits() -> None:
    assert build_payload("whatsapp", {"phone": "33612345678"}) == "https://wa.me/33612345678"


def test_empty_optional_fields_are_left_out() -> None:
    content = {"to": "a@b.com", "subject": "", "body": None}
    assert build_payload("email", content) == "mailto:a@b.com"


def test_validate_http_url_for_destination_urls() -> None:
    assert validate_http_url("https://example.com/x", "destination_url") == "https://example.com/x"
    with pytest.raises(ApiError) as info:
        validate_http_url("mailto:a@b.com", "destination_url", code="INVALID_PARAMETER")
    assert (info.value.code, info.value.field) == ("INVALID_PARAMETER", "destination_url")


def test_overlong_url_is_refused() -> None:
    err = error_of("url", "https://example.com/" + "a" * 2100)
    assert err.code == "INVALID_CONTENT"


@pytest.mark.parametrize("password", ["pass", "x" * 64])
def test_a_wpa_password_of_another_length_is_encoded_as_given_with_a_warning(
    password: str,
) -> None:
    content = {"ssid": "MonWifi", "password": password, "encryption": "WPA"}
    assert build_payload("wifi", content) == f"WIFI:T:WPA;S:MonWifi;P:{password};;"
    warnings = payload_warnings("wifi", content)
    assert [warning.code for warning in warnings] == ["WIFI_PASSWORD_LENGTH"]
    assert f"{len(password)} characters" in warnings[0].message


@pytest.mark.parametrize(
    ("qr_type", "content"),
    [
        ("wifi", {"ssid": "x", "password": "password1", "encryption": "WPA"}),
        ("wifi", {"ssid": "x", "password": "a1" * 32, "encryption": "wpa"}),
        ("wifi", {"ssid": "x", "password": "abc", "encryption": "WEP"}),
        ("wifi", {"ssid": "x", "encryption": "nopass"}),
        ("text", "pass"),
    ],
)
def test_payloads_without_warnings(qr_type: str, content: object) -> None:
    build_payload(qr_type, content)
    assert payload_warnings(qr_type, content) == ()


@pytest.mark.parametrize(
    "inside", [" ", "\t", "\n", "\x00", "\x1f", "\x7f", "\x85", "\xa0", "\u2003", "\u3000"]
)
def test_a_url_with_whitespace_or_a_control_character_inside_is_refused(inside: str) -> None:
    with pytest.raises(ApiError) as refused:
        validate_http_url(f"https://example.com/a{inside}b", "content")
    assert "spaces or control characters" in refused.value.message
    # Around it, whitespace is a copy-paste artefact and stripped; other characters are kept.
    assert validate_http_url(" https://example.com/ä€ ", "content") == "https://example.com/ä€"
