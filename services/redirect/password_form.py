"""The password out of a password form's POST body, or ``None`` when the form is unusable.

Unusable: another content type, a body over the request's size limit, a broken transfer
encoding or compression, bytes or percent-escapes
that are not UTF-8, a charset other than UTF-8, broken multipart, or no ``password`` text field
of 1 to :data:`MAX_PASSWORD_LENGTH` characters. The caller answers those 400 without verifying
anything, so an unusable form costs the visitor no try.
"""

from __future__ import annotations

import codecs
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from services.runtime.http_body import MalformedBodyError, abandon_body, read_request_body

MAX_PASSWORD_LENGTH: Final = 1024  # the form's maxlength
FORM_URLENCODED: Final = "application/x-www-form-urlencoded"
FORM_MULTIPART: Final = "multipart/form-data"


async def _urlencoded_password(request: web.BaseRequest) -> object:
    # Not request.post(): it turns undecodable bytes into U+FFFD and would verify a password
    # nobody typed. Browsers send this form as UTF-8 (the page's charset).
    if codecs.lookup(request.charset or "utf-8").name != "utf-8":
        return None
    body = (await read_request_body(request)).decode().rstrip()
    fields = parse_qsl(body, keep_blank_values=True, errors="strict")
    return next((value for name, value in fields if name == "password"), None)


async def read_password(request: web.BaseRequest) -> str | None:
    try:
        if request.content_type == FORM_URLENCODED:
            password = await _urlencoded_password(request)
        elif request.content_type == FORM_MULTIPART:
            # Text parts are decoded strictly here; a file or binary part is not a str.
            try:
                password = (await request.post()).get("password")
            except RequestPayloadError:
                abandon_body(request)
                raise
        else:
            return None
    except (
        ValueError,
        LookupError,
        RequestPayloadError,
        MalformedBodyError,
        web.HTTPRequestEntityTooLarge,
    ):
        # ValueError includes UnicodeDecodeError and aiohttp's multipart parsing errors;
        # LookupError is an unknown charset; RequestPayloadError a broken transfer encoding
        # or compression (a body that says gzip and is not).
        return None
    if not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD_LENGTH:
        return None
    return password
