"""The log filter: keys, credentials and addresses never reach a log line, whichever part of
the record carries them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import pytest

from services.runtime.log_redaction import RedactingFilter, redact
from services.runtime.logs import JsonFormatter

KEY = "sk_live_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {KEY} used", "key sk_live_<redacted> used"),
        ("test key sk_test_abc123", "test key sk_test_<redacted>"),
        ("Authorization: Bearer tok.en-value", "Authorization: Bearer <redacted>"),
        ("Authorization: basic dXNlcjpwYXNz", "Authorization: basic <redacted>"),
        ("Error handling request from 203.0.113.7", "Error handling request from <ip>"),
        ("peer ('10.0.0.1', 5432)", "peer ('<ip>', 5432)"),
        ("http://127.0.0.1:8080/x", "http://<ip>:8080/x"),
        ("from ::1 and 2001:db8::8a2e:370:7334", "from <ip> and <ip>"),
        ("[fe80::1%eth0]:443 and ::ffff:192.0.2.1", "[<ip>]:443 and <ip>"),
        # Keys glued to other text are keys all the same.
        (f"Authorization: Bearer%20{KEY}", "Authorization: Bearer%20sk_live_<redacted>"),
        (f"key_{KEY}", "key_sk_live_<redacted>"),
    ],
)
def test_secrets_and_addresses_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "at 02:29:41.123 on 2026-12-01T02:29:41Z",
        "version 1.2.3 and 1.2.3.4.5",
        "mac 00:1a:2b:3c:4d:5e",
        "qr_Ab12Cd34 key_Zx98",
    ],
)
def test_times_versions_and_ids_are_left_alone(text: str) -> None:
    assert redact(text) == text


def _logged(emit: Callable[[logging.Logger], None]) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert KEY.removeprefix("sk_live_") not in line
    assert "198.51.100.9" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_message_arguments_are_scrubbed() -> None:
    entry = _logged(lambda log: log.warning("from %s with %r", "198.51.100.9", KEY))
    assert entry["msg"] == "from <ip> with 'sk_live_<redacted>'"


def test_exception_text_and_traceback_are_scrubbed() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError(f"bad header b'Authorization: Bearer {KEY}' from 198.51.100.9")
        except ValueError:
            log.exception("failed")

    entry = _logged(emit)
    assert "Traceback" in str(entry["exc"])
    assert "ValueError: bad header" in str(entry["exc"])


def test_extra_fields_are_scrubbed() -> None:
    entry = _logged(lambda log: log.info("request", extra={"client": "198.51.100.9", "key": KEY}))
    assert entry["client"] == "<ip>"
    assert entry["key"] == "sk_live_<redacted>"


def test_strings_inside_structured_extra_fields_are_scrubbed() -> None:
    entry = _logged(
        lambda log: log.info(
            "request",
            extra={
                "headers": {"authorization": f"Bearer {KEY}", "x-forwarded-for": "198.51.100.9"},
                "peers": ("198.51.100.9", 443),
                "port": 8080,
            },
        )
    )
    assert entry["headers"] == {
        "authorization": "Bearer <redacted>",
        "x-forwarded-for": "<ip>",
    }
    assert entry["peers"] == ["<ip>", 443]
    assert entry["port"] == 8080
