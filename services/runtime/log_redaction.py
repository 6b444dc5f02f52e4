"""Scrubbing of secrets and client addresses from every log record.

Log lines leave the process (collectors, support tickets, dashboards), so nothing that
authenticates a caller or identifies a person may be in them: API keys (``sk_live_…``,
``sk_test_…``), bearer/basic credentials, and IPv4/IPv6 addresses. Third-party loggers
(aiohttp's server logger quotes the raw header line it failed to parse) are not ours to fix
one by one, so the filter sits on the log handler and rewrites whatever reaches it: the
message with its arguments, every ``extra`` field (strings inside containers too), and the text of an attached exception
or stack.

Candidate addresses are confirmed with :mod:`ipaddress`, so times such as ``02:29:41`` and
version numbers that are not addresses are left alone.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import traceback
from typing import Final

API_KEY_MARK: Final = "<redacted>"
IP_MARK: Final = "<ip>"

# No word boundary in front: a key glued to other text (``Bearer%20sk_live_…``,
# ``key_sk_live_…``) is still a key.
_API_KEY: Final = re.compile(r"(sk_(?:live|test)_)[A-Za-z0-9]+")
_CREDENTIALS: Final = re.compile(r"\b(Bearer|Basic)(\s+)[^\s'\",;]+", re.IGNORECASE)
# Runs of hex digits, dots and colons that could be an address; ipaddress has the last word.
_ADDRESS_CANDIDATE: Final = re.compile(
    r"(?<![\w.:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?:%[\w.]+)?(?![\w:])"
    r"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"
)
# Standard LogRecord attributes: everything else on a record came from ``extra``.
STANDARD_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def _mask_address(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    return IP_MARK


def redact(text: str) -> str:
    """``text`` with API keys, credentials and IP addresses masked."""
    text = _API_KEY.sub(rf"\g<1>{API_KEY_MARK}", text)
    text = _CREDENTIALS.sub(rf"\g<1>\g<2>{API_KEY_MARK}", text)
    return _ADDRESS_CANDIDATE.sub(_mask_address, text)


def _scrubbed(value: object) -> object:
    """``value`` with every string in it redacted; containers keep their shape (the JSON
    formatter writes them as JSON), other objects become their redacted text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(key)): _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrubbed(item) for item in value]
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """A handler filter: rewrites each record in place, never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The message is rendered with its arguments first: an address or key can come from
        # either, and only the rendered text shows what will be written.
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info is not None:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            # The text replaces the live exception: a formatter would re-render it unscrubbed.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in STANDARD_RECORD_ATTRS:
                setattr(record, key, _scrubbed(value))
        return True
