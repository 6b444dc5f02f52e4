"""Tags on QR codes and barcodes (API.md "Tags, import and export"): validation of a ``tags``
list and of the ``?tag=`` filter. Pure: no I/O.

A tag is kept as the client wrote it, trimmed of surrounding white space; tags are compared
exactly (``Sale`` and ``sale`` are two tags). Repeats in one list collapse into the first, so a
code never carries a tag twice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final

from services.runtime.errors import ApiError

MAX_TAGS: Final = 20
MAX_TAG_LENGTH: Final = 50


def _bad(field: str, message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field=field)


def parse_tag(value: object, field: str = "tag") -> str:
    """One tag: a string of 1 to 50 characters once trimmed, without control characters."""
    if not isinstance(value, str):
        raise _bad(field, "a tag must be a string")
    tag = value.strip()
    if not 1 <= len(tag) <= MAX_TAG_LENGTH:
        raise _bad(field, f"a tag must be 1 to {MAX_TAG_LENGTH} characters")
    if any(unicodedata.category(char)[0] == "C" for char in tag):
        raise _bad(field, "a tag must not contain control characters")
    return tag


def parse_tags(value: object, field: str = "tags") -> list[str]:
    """A ``tags`` field: a list of at most 20 tags (``null`` = none), repeats dropped."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(field, "tags must be a list of strings")
    if len(value) > MAX_TAGS:
        raise _bad(field, f"at most {MAX_TAGS} tags")
    tags: list[str] = []
    for index, item in enumerate(value):
        tag = parse_tag(item, f"{field}[{index}]")
        if tag not in tags:
            tags.append(tag)
    return tags


def tag_filter(query: Mapping[str, str]) -> str | None:
    """The ``?tag=`` filter of a list, export or overview; ``None`` when absent or empty."""
    raw = query.get("tag")
    return None if raw is None or raw == "" else parse_tag(raw)
