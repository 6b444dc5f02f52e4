"""Checks that an SDK model kept what the API sent (shared by the SDK's unit and integration
tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def assert_same_value(raw: Any, parsed: Any, where: str) -> None:
    """``parsed`` (the record turned back into JSON values) holds every field of ``raw`` with
    the same value: nothing the API sent was dropped or changed by the model."""
    if isinstance(raw, dict):
        assert isinstance(parsed, dict), where
        for key, value in raw.items():
            assert key in parsed, f"{where}.{key} is not in the model"
            assert_same_value(value, parsed[key], f"{where}.{key}")
    elif isinstance(raw, list):
        assert isinstance(parsed, list) and len(parsed) == len(raw), where
        for index, (a, b) in enumerate(zip(raw, parsed, strict=True)):
            assert_same_value(a, b, f"{where}[{index}]")
    elif isinstance(raw, str) and isinstance(parsed, str) and raw != parsed:
        # Timestamps come back in msgspec's spelling of the same instant.
        assert datetime.fromisoformat(raw) == datetime.fromisoformat(parsed), where
    else:
        assert raw == parsed, where
