"""Reading a JSON request body under the rules of API.md's conventions."""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from services.gateway.http.client_json import MAX_JSON_DEPTH, JsonTooDeepError, loads_client_json
from services.runtime.errors import ApiError
from services.runtime.http_body import IncompleteBodyError, read_request_body

MAX_BODY_BYTES: Final = 2 * 1024 * 1024
# JSON allows "\u0000" and lone surrogates ("\ud800"); neither survives UTF-8 or a Postgres
# text column, so they are refused here, naming the field, instead of failing deep down.
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def _unstorable_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) holding NUL or a lone surrogate."""
    if isinstance(value, str):
        return path or "body" if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE.search(key):
                return path or "body"
            found = _unstorable_field(item, child)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_field(item, f"{path}[{index}]" if path else f"[{index}]")
            if found is not None:
                return found
    return None


async def read_body(request: web.Request) -> bytes:
    """The raw body: 413 PAYLOAD_TOO_LARGE over 2 MiB, 400 INVALID_JSON when it does not
    arrive whole within the server's body deadline or its framing is broken (API.md has no
    408 code; a body cut short is not valid JSON either). A client that hangs up raises
    ``ClientDisconnectedError``, which the error middleware counts as a 499."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", "The body is larger than 2 MiB")
    try:
        return await read_request_body(request)
    except web.HTTPRequestEntityTooLarge:
        raise ApiError("PAYLOAD_TOO_LARGE", "The body is larger than 2 MiB") from None
    except IncompleteBodyError as exc:
        raise ApiError("INVALID_JSON", str(exc)) from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless ``application/json``, 413 over 2 MiB,
    400 INVALID_JSON when it does not parse, nests too deep or is not an object."""
    if request.content_type != "application/json":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the body as Content-Type: application/json")
    raw = await read_body(request)
    try:
        value = loads_client_json(raw)
    except JsonTooDeepError:
        raise ApiError(
            "INVALID_JSON", f"The body nests deeper than {MAX_JSON_DEPTH} levels"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError("INVALID_JSON", "The body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError("INVALID_JSON", "The body must be a JSON object")
    # Cheap pre-check: both can only come from a \u escape or raw bytes json.loads lets through.
    if b"\\u" in raw or b"\x00" in raw or b"\xed" in raw:
        field = _unstorable_field(value)
        if field is not None:
            raise ApiError(
                "INVALID_PARAMETER",
                "Strings must not contain NUL characters or unpaired surrogates",
                field=field,
            )
    return value
