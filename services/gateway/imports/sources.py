"""What a line of each import source becomes: the body of a create, as the batch takes it.
Pure: no I/O.

Headers are matched loosely -- case, spaces and punctuation ignored, so ``Long URL``,
``long_url`` and ``longUrl`` are one column -- because each tool has written its export in
more than one way over the years. Unknown columns are ignored (an export's ``clicks``,
``created_at``...). Link shorteners' links become dynamic codes: long URL ->
``destination_url``, title -> ``name`` (the short code, then the URL, when there is no
title: a dynamic code is always named), tags -> ``tags``, short code -> ``slug``.

| source  | long URL          | short code                 | title       | tags        |
|---------|-------------------|----------------------------|-------------|-------------|
| bitly   | long_url          | link / bitlink (last part) | title       | tags (, )   |
| shlink  | longUrl           | shortCode                  | title       | tags (pipe) |
| yourls  | url               | keyword                    | title       | --          |
| kutt    | target            | address                    | description | --          |

``qrforge`` is our own: ``kind, type, content, name, destination_url, slug, tags`` plus the
drawing options ``format, size, error_correction, quiet_zone, design_id``; object contents
(wifi, vcard, ...) are JSON in the cell and tags are joined by ``|``, as our export writes
them, so an export imports back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.gateway.qrcodes.payloads import QR_TYPES
from services.runtime.errors import ApiError

MAX_NAME_LENGTH: Final = 200
_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]")
# Contents that are objects (API.md "Static QR codes"): JSON in a qrforge cell.
_OBJECT_TYPES: Final = frozenset(QR_TYPES) - {"url", "text", "phone"}
_INT_OPTIONS: Final = ("size", "quiet_zone")
_TEXT_OPTIONS: Final = ("format", "error_correction", "design_id")


def column_key(header: str) -> str:
    """``Long URL``, ``long_url``, ``longUrl`` -> ``longurl``."""
    return _NOT_ALNUM.sub("", header.lower())


@dataclass(frozen=True, slots=True)
class SourceFormat:
    name: str
    # Our field -> the column keys (see column_key) it may come from, first found wins.
    fields: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]  # fields whose column the header must have
    tag_separator: str | None

    def columns(self, header: Sequence[str]) -> dict[str, int]:
        """Our field -> its column's index in ``header``; INVALID_PARAMETER naming the first
        required column missing."""
        keys = [column_key(name) for name in header]
        found: dict[str, int] = {}
        for field, aliases in self.fields.items():
            for alias in aliases:
                if alias in keys:
                    found[field] = keys.index(alias)
                    break
        for field in self.required:
            if field not in found:
                raise ApiError(
                    "INVALID_PARAMETER",
                    f"a {self.name} CSV needs a {self.fields[field][0]} column",
                    field=f"columns.{self.fields[field][0]}",
                )
        return found


_QRFORGE_FIELDS: Final = {
    "kind": ("kind",), "type": ("type",), "content": ("content",), "name": ("name",),
    "destination_url": ("destinationurl",), "slug": ("slug",), "tags": ("tags",),
    "format": ("format",), "size": ("size",), "error_correction": ("errorcorrection",),
    "quiet_zone": ("quietzone",), "design_id": ("designid",),
}  # fmt: skip

SOURCES: Final[Mapping[str, SourceFormat]] = {
    "qrforge": SourceFormat("qrforge", _QRFORGE_FIELDS, required=(), tag_separator="|"),
    "bitly": SourceFormat(
        "bitly",
        {
            "destination_url": ("longurl", "url"),
            "slug": ("link", "bitlink", "shorturl", "id"),
            "name": ("title",),
            "tags": ("tags",),
        },
        required=("destination_url",),
        tag_separator=",",
    ),
    "shlink": SourceFormat(
        "shlink",
        {
            "destination_url": ("longurl",),
            "slug": ("shortcode",),
            "name": ("title",),
            "tags": ("tags",),
        },
        required=("destination_url",),
        tag_separator="|",
    ),
    "yourls": SourceFormat(
        "yourls",
        {"destination_url": ("url", "longurl"), "slug": ("keyword",), "name": ("title",)},
        required=("destination_url",),
        tag_separator=None,
    ),
    "kutt": SourceFormat(
        "kutt",
        {"destination_url": ("target",), "slug": ("address",), "name": ("description",)},
        required=("destination_url",),
        tag_separator=None,
    ),
}


def _short_code(value: str) -> str:
    """``https://bit.ly/3abcDEF`` or ``bit.ly/3abcDEF`` -> ``3abcDEF``; a bare code as is."""
    return value.rstrip("/").rsplit("/", 1)[-1]


def _tags(value: str, separator: str | None) -> list[str]:
    if separator is None:
        return []
    return [tag.strip() for tag in value.split(separator) if tag.strip()]


def _link_body(cells: Mapping[str, str], source: SourceFormat) -> dict[str, Any]:
    """A link of a shortener as a dynamic code body."""
    destination = cells.get("destination_url", "")
    slug = _short_code(cells.get("slug", ""))
    name = cells.get("name", "").strip() or slug or destination
    body: dict[str, Any] = {
        "kind": "dynamic",
        "name": name[:MAX_NAME_LENGTH],
        "destination_url": destination,
    }
    tags = _tags(cells.get("tags", ""), source.tag_separator)
    if tags:
        body["tags"] = tags
    if slug:
        body["slug"] = slug
    return body


def _qrforge_body(cells: Mapping[str, str]) -> dict[str, Any]:
    kind = cells.get("kind", "").strip().lower()
    if not kind:
        has_destination = bool(cells.get("destination_url")) and not cells.get("content")
        kind = "dynamic" if has_destination else "static"
    body: dict[str, Any] = {"kind": kind}
    if cells.get("name"):
        body["name"] = cells["name"]
    tags = _tags(cells.get("tags", ""), "|")
    if tags:
        body["tags"] = tags
    for option in _TEXT_OPTIONS:
        if cells.get(option):
            body[option] = cells[option]
    for option in _INT_OPTIONS:
        raw = cells.get(option, "")
        if raw:
            body[option] = int(raw) if raw.isascii() and raw.isdigit() else raw
    if kind == "dynamic":
        body["destination_url"] = cells.get("destination_url", "")
        if cells.get("slug"):
            body["slug"] = cells["slug"]
        return body
    qr_type = cells.get("type", "")
    body["type"] = qr_type
    content = cells.get("content", "")
    if qr_type in _OBJECT_TYPES:
        try:
            body["content"] = json.loads(content)
        except ValueError:
            raise ApiError(
                "INVALID_CONTENT", f"content of a {qr_type} code must be a JSON object",
                field="content",
            ) from None  # fmt: skip
    else:
        body["content"] = content
    return body


def row_body(
    source: SourceFormat, columns: Mapping[str, int], row: Sequence[str]
) -> dict[str, Any]:
    """The create body of one CSV line (ApiError: the line cannot be a code, e.g. a qrforge
    wifi content that is not JSON). What the body holds is checked by the create path."""
    cells = {field: row[index].strip() for field, index in columns.items() if index < len(row)}
    if source.name == "qrforge":
        return _qrforge_body(cells)
    return _link_body(cells, source)
