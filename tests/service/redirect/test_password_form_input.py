"""Malformed password forms against the real process: each is a 400 password page with the
usual HTML headers (never a 500 or plain text), and none of them costs the visitor a try."""

from __future__ import annotations

import aiohttp
import pytest

from tests.service.redirect.conftest import Codes, Redirect

FORM = "application/x-www-form-urlencoded"
# Headers every HTML page of the redirect carries; a 400 must not lose any of them.
PAGE_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Content-Security-Policy",
)

MALFORMED_FORMS: dict[str, tuple[bytes, str]] = {
    "not UTF-8": (b"password=\xff\xfe\xfd", FORM),
    "not UTF-8, percent-encoded": (b"password=%FF%FE%FD", FORM),
    "unknown charset": (b"password=x", f"{FORM}; charset=no-such-charset"),
    "JSON instead of a form": (b'{"password": "right"}', "application/json"),
    "no content type": (b"password=right", ""),
    "missing field": (b"passwd=right", FORM),
    "empty password": (b"password=", FORM),
    "password over 1024 characters": (b"password=" + b"a" * 1025, FORM),
    "huge body": (b"password=right&pad=" + b"a" * 64 * 1024, FORM),
    "multipart without a boundary": (b"password=right", "multipart/form-data"),
    "multipart cut short": (
        b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nrig',
        "multipart/form-data; boundary=b",
    ),
    "password sent as a file": (
        b'--b\r\nContent-Disposition: form-data; name="password"; filename="p.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nright\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
    ),
}


async def _post(
    http: aiohttp.ClientSession, url: str, body: bytes, content_type: str, ip: str
) -> tuple[int, dict[str, str], str]:
    headers = {"X-Forwarded-For": ip}
    if content_type:
        headers["Content-Type"] = content_type
    async with http.post(
        url, data=body, headers=headers, allow_redirects=False, skip_auto_headers={"Content-Type"}
    ) as resp:
        return resp.status, dict(resp.headers), await resp.text()


@pytest.mark.parametrize("case", list(MALFORMED_FORMS))
async def test_malformed_form_is_a_400_password_page(
    redirect: Redirect, codes: Codes, http: aiohttp.ClientSession, case: str
) -> None:
    code = await codes.insert(password="right")
    url = f"{redirect.base_url}/{code.short_code}"
    async with http.get(url) as page:
        assert page.status == 200
        normal_headers = {name: page.headers[name] for name in PAGE_HEADERS}

    body, content_type = MALFORMED_FORMS[case]
    status, headers, html = await _post(http, url, body, content_type, "203.0.113.40")
    assert status == 400
    assert {name: headers.get(name) for name in PAGE_HEADERS} == normal_headers
    assert '<form method=post action="/' + code.short_code + '">' in html
    assert "role=alert" in html
    assert "Traceback" not in html


async def test_malformed_forms_do_not_use_up_the_tries(
    redirect: Redirect, codes: Codes, http: aiohttp.ClientSession
) -> None:
    code = await codes.insert(password="right")
    url = f"{redirect.base_url}/{code.short_code}"
    visitor = "203.0.113.41"
    for body, content_type in MALFORMED_FORMS.values():
        status, _, _ = await _post(http, url, body, content_type, visitor)
        assert status == 400
    status, headers, _ = await _post(http, url, b"password=right", FORM, visitor)
    assert status == 302
    assert headers["Location"] == code.destination_url


@pytest.mark.parametrize(
    "content_type", [FORM, "multipart/form-data; boundary=b"], ids=["urlencoded", "multipart"]
)
async def test_a_body_that_says_gzip_and_is_not_is_a_400_password_page(
    redirect: Redirect, codes: Codes, http: aiohttp.ClientSession, content_type: str
) -> None:
    code = await codes.insert(password="right")
    url = f"{redirect.base_url}/{code.short_code}"
    async with http.post(
        url,
        data=b"password=right, not gzip at all",
        headers={
            "X-Forwarded-For": "203.0.113.42",
            "Content-Type": content_type,
            "Content-Encoding": "gzip",
        },
        allow_redirects=False,
        skip_auto_headers={"Content-Type"},
    ) as resp:
        assert resp.status == 400
        assert '<form method=post action="/' + code.short_code + '">' in await resp.text()
    with redirect.process.log_path.open("rb") as log:
        log.seek(redirect.process.log_start)
        assert b"Traceback" not in log.read()
