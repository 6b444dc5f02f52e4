"""JSON text from clients (bodies, JSON query parameters, cursors), parsed with a bound on
its nesting depth.

``json.loads`` accepts any depth until it fails near 1,000 levels with a ``RecursionError``
(a 500), and every recursive walker after it pays for deep input too.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

# The deepest request the API defines nests about 5 levels (batch → items → item → design);
# the rest is headroom for free-form objects such as barcode metadata.
MAX_JSON_DEPTH: Final = 32
_STRING_LITERAL: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_NOT_A_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
_CURLY_TO_SQUARE: Final = bytes.maketrans(b"{}", b"[]")


class JsonTooDeepError(ValueError):
    """Valid JSON, but nested deeper than :data:`MAX_JSON_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def _nests_deeper_than(text: bytes, limit: int) -> bool:
    """Whether valid JSON ``text`` nests arrays/objects deeper than ``limit``.

    Done on the bytes, in C-speed passes: strings are dropped (their brackets are text), every
    other byte but brackets deleted, and each pass removes the innermost empty pairs, so a
    text of depth d is empty after exactly d passes.
    """
    brackets = _STRING_LITERAL.sub(b"", text).translate(_CURLY_TO_SQUARE, _NOT_A_BRACKET)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def loads_client_json(text: str | bytes) -> Any:
    """``json.loads`` for text from a client: :class:`JsonTooDeepError` (a ``ValueError``)
    beyond :data:`MAX_JSON_DEPTH` levels, another ``ValueError`` when it does not parse."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeepError from None
    if isinstance(value, dict | list):
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        if _nests_deeper_than(raw, MAX_JSON_DEPTH):
            raise JsonTooDeepError
    return value
