"""Reading ids and numbers from paths and query strings, strictly.

An id that cannot be one of ours (wrong prefix, a NUL, any character outside base62) is "not
found" without a database round trip; numbers are ASCII digits only (``str.isdigit`` would take
"²" and Arabic-Indic digits).
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from services.runtime.errors import ApiError

_ID_BODY: Final = re.compile(r"[0-9A-Za-z]{1,64}")
_ASCII_DIGITS: Final = re.compile(r"[0-9]{1,9}")

NOT_FOUND_CODES: Final = {
    "qr": "QR_NOT_FOUND",
    "bc": "BARCODE_NOT_FOUND",
    "key": "KEY_NOT_FOUND",
    "dsg": "DESIGN_NOT_FOUND",
    "wh": "WEBHOOK_NOT_FOUND",
    "msg": "DELIVERY_NOT_FOUND",
    "imp": "IMPORT_NOT_FOUND",
}


def is_well_formed_id(value: str, prefix: str) -> bool:
    head, sep, body = value.partition("_")
    return head == prefix and sep == "_" and _ID_BODY.fullmatch(body) is not None


def path_id(request: web.Request, name: str, prefix: str) -> str:
    value = request.match_info[name]
    if not is_well_formed_id(value, prefix):
        raise ApiError(NOT_FOUND_CODES[prefix], "No such id in your account")
    return value


def bounded_int(raw: str, field: str, low: int, high: int) -> int:
    if not _ASCII_DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise ApiError(
            "INVALID_PARAMETER", f"{field} must be an integer from {low} to {high}", field=field
        )
    return int(raw)
