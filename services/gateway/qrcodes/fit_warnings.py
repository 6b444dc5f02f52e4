"""Warnings of a QR code (API.md "Designs v1.1"): what was changed or accepted so that the code
scans (LEVEL_RAISED, LOGO_REDUCED, INVERTED_COLORS from render's fitting) or so that it encodes
what was asked (WIFI_PASSWORD_LENGTH from the payload). JSON answers list them as
``[{code, message}]``; image answers name their codes in ``X-QR-Warnings``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

WARNINGS_HEADER: Final = "X-QR-Warnings"


@dataclass(frozen=True, slots=True)
class CodeWarning:
    code: str
    message: str


def warnings_json(warnings: Iterable[CodeWarning]) -> list[dict[str, str]]:
    return [{"code": warning.code, "message": warning.message} for warning in warnings]


def warnings_header(codes: Iterable[str]) -> dict[str, str]:
    """``X-QR-Warnings``: the codes comma-separated, empty when there are none (always sent,
    so a client can tell "no warnings" from a proxy that dropped the header)."""
    return {WARNINGS_HEADER: ",".join(codes)}
