"""The small HTML pages a phone may see: password form, 404, 410, 429, 503.

Self-contained (inline CSS, no scripts, no external assets) and everything interpolated is
HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiohttp import web

HTML_HEADERS: Final = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # No form-action: it would also forbid the 302 to the destination after the form posts.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
}

_STYLE: Final = (
    "*{box-sizing:border-box}"
    "body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;"
    "font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;"
    "color:#1f2328;padding:16px}"
    "main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);"
    "padding:24px;width:100%;max-width:360px;text-align:center}"
    "h1{font-size:1.25rem;margin:0 0 8px}p{margin:0 0 16px;color:#57606a}"
    "input{width:100%;font-size:1rem;padding:12px;border:1px solid #d0d7de;border-radius:8px;"
    "margin-bottom:12px}"
    "button{width:100%;font-size:1rem;padding:12px;border:0;border-radius:8px;"
    "background:#0969da;color:#fff}"
    ".error{color:#cf222e}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta name=robots content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _response(status: int, html: str, extra: dict[str, str] | None = None) -> web.Response:
    headers = dict(HTML_HEADERS)
    if extra:
        headers.update(extra)
    return web.Response(status=status, body=html.encode(), headers=headers)


def password_form(
    code: str, *, status: int = 200, error: str | None = None, query: str = ""
) -> web.Response:
    """``query``: the scanned URL's raw query string, posted back with the form (rules and
    ``forward_query`` read it)."""
    message = f"<p class=error role=alert>{escape(error)}</p>" if error else ""
    action = f"/{code}?{query}" if query else f"/{code}"
    body = (
        "<h1>Password required</h1><p>This code is protected. Enter its password to continue.</p>"
        f"{message}"
        f'<form method=post action="{escape(action, quote=True)}">'
        "<input type=password name=password aria-label=Password placeholder=Password "
        "required autofocus autocomplete=current-password maxlength=1024>"
        "<button type=submit>Continue</button></form>"
    )
    return _response(status, _page("Password required", body))


def _message(
    status: int, title: str, text: str, extra: dict[str, str] | None = None
) -> web.Response:
    return _response(status, _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"), extra)


def not_found() -> web.Response:
    return _message(404, "Code not found", "This QR code does not exist or was removed.")


def method_not_allowed(allowed: str) -> web.Response:
    return _message(
        405,
        "Method not allowed",
        "Open this link in a browser or scan it with a phone.",
        {"Allow": allowed},
    )


def gone() -> web.Response:
    return _message(
        410, "Code no longer active", "This QR code has expired or is no longer active."
    )


def too_many_tries(retry_after_s: float) -> web.Response:
    return _message(
        429,
        "Too many attempts",
        "Too many wrong passwords. Please try again later.",
        {"Retry-After": str(max(1, int(retry_after_s + 0.999)))},
    )


def unavailable() -> web.Response:
    return _message(
        503,
        "Temporarily unavailable",
        "We cannot open this code right now. Please try again in a moment.",
        {"Retry-After": "5"},
    )


def refused(status: int) -> web.Response:
    """The page for a request refused before a handler answered it: malformed HTTP (400), a
    body that did not arrive in time (408), or a failure (500/504). Says nothing of the request:
    the parser's own message would quote it."""
    if status == 408:
        return _message(408, "Request timed out", "The form took too long to arrive. Try again.")
    if status < 500:
        return _message(400, "Bad request", "This request could not be read.")
    return _message(500, "Something went wrong", "Please try again in a moment.")
