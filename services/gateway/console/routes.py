"""``/console``: the browser console, a single-page app built from ``console/`` at the top of
the repository (``npm ci && npm run build``, run by ``make console``) and served here, same
origin as the API it calls.

Only the build's own files are served: ``index.html`` and the content-hashed files of
``assets/`` (found by listing that folder, never by joining a client's path), so the shell is
never cached (a new build is picked up at once) and the assets are cached for a year. The CSP
allows scripts, styles and connections from this origin only: no inline script, nothing
fetched from elsewhere. Images are drawn from ``blob:`` URLs (the API's image bytes, fetched
with the key). Without a build, ``/console`` answers 503 with a page saying how to build it.
"""

from __future__ import annotations

import gzip
import mimetypes
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from aiohttp import web

from services.gateway.context import context_of
from services.gateway.http.middlewares import public
from services.runtime.errors import ApiError

CONSOLE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_SHELL_HEADERS: Final = {
    "Content-Security-Policy": CONSOLE_CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Vite names every built asset by its content hash, so a URL never changes meaning.
_IMMUTABLE: Final = "public, max-age=31536000, immutable"
_ASSET_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
# Text types worth compressing; the budget (300 KB of compressed JS + CSS) is what travels.
_COMPRESSIBLE: Final = frozenset({"text/javascript", "text/css", "image/svg+xml", "text/html"})
_NOT_BUILT: Final = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QRForge console not built</title></head>
<body><main><h1>The console is not built</h1>
<p>Build it with <code>make console</code> (it runs <code>npm ci</code> and
<code>npm run build</code> in <code>console/</code>; <code>make run</code> does it for you), then
reload this page.</p></main></body></html>
"""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str


def _content_type(name: str) -> str:
    if name.endswith(".js"):
        return "text/javascript"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    content_type = _content_type(path.name)
    gzipped = gzip.compress(body, 9, mtime=0) if content_type in _COMPRESSIBLE else None
    return Asset(body, gzipped, content_type)


@cache
def _assets(assets_dir: Path) -> dict[str, Asset]:
    """Every file of the build's ``assets/``, read once (the build is a few hundred KB)."""
    if not assets_dir.is_dir():
        return {}
    return {
        path.name: _load(path)
        for path in assets_dir.iterdir()
        if path.is_file() and _ASSET_NAME.match(path.name)
    }


def _respond(request: web.Request, asset: Asset, headers: dict[str, str]) -> web.Response:
    accepts_gzip = "gzip" in request.headers.get("Accept-Encoding", "").lower()
    headers = {**headers, "Vary": "Accept-Encoding"}
    body = asset.body
    if asset.gzipped is not None and accepts_gzip:
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    response = web.Response(body=body, headers=headers)
    response.content_type = asset.content_type
    if asset.content_type.startswith("text/"):
        response.charset = "utf-8"
    return response


@public
async def console_page(request: web.Request) -> web.Response:
    """``/console`` and ``/console/``: the app's shell (every page is a ``#/`` route in it)."""
    index = context_of(request).settings.console_dir / "index.html"
    if not index.is_file():
        return web.Response(
            status=503,
            body=_NOT_BUILT,
            content_type="text/html",
            charset="utf-8",
            headers={**_SHELL_HEADERS, "Cache-Control": "no-store"},
        )
    # Read per request (a few hundred bytes): a rebuild is served without a restart.
    return _respond(request, _load(index), _SHELL_HEADERS)


@public
async def console_asset(request: web.Request) -> web.Response:
    assets_dir = context_of(request).settings.console_dir / "assets"
    asset = _assets(assets_dir).get(request.match_info["name"])
    if asset is None:
        # A build made after the gateway started: look again once, then give up.
        _assets.cache_clear()
        asset = _assets(assets_dir).get(request.match_info["name"])
    if asset is None:
        raise ApiError("NOT_FOUND", "No such route")
    return _respond(
        request,
        asset,
        {"Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff"},
    )
