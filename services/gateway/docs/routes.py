"""``GET /openapi.json`` and the ``/docs`` page: the API's machine-readable contract and a
Swagger UI rendering of it.

The spec is a hand-written static file (``openapi.json`` beside this module, kept in step with
API.md and checked against the route table by the tests); it is served with ``servers`` set to
``PUBLIC_BASE_URL`` so generated clients and "Try it out" aim at this deployment. Swagger UI's
files come from the ``swagger-ui-bundle-v2`` package and are served by the gateway itself: no
CDN, so the page works offline. All three are public (no API key).
"""

from __future__ import annotations

import importlib
import json
import mimetypes
from functools import cache
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from services.gateway.context import context_of
from services.gateway.http.middlewares import public
from services.runtime.errors import ApiError

SPEC_PATH: Final = Path(__file__).with_name("openapi.json")
_OWN_ASSETS: Final = Path(__file__).with_name("assets")
# What /docs/assets/{name} may serve, and where from: an allowlist, never a path join.
_SWAGGER_FILES: Final = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
)
# swagger-ui-bundle-v2 ships Swagger UI's dist files; it has no type information.
_SWAGGER_DIR: Final = Path(str(importlib.import_module("swagger_ui_bundle").swagger_ui_path))
_ASSET_CACHE: Final = "public, max-age=3600"
# Swagger UI sets inline styles and draws icons from data: URIs; scripts only from here.
_DOCS_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def load_spec() -> dict[str, Any]:
    """The OpenAPI document as written (no ``servers``)."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


@cache
def _spec_bytes(public_base_url: str) -> bytes:
    spec = load_spec()
    spec["servers"] = [{"url": public_base_url or "/"}]
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@cache
def _asset(name: str) -> tuple[bytes, str] | None:
    if name in _SWAGGER_FILES:
        path = _SWAGGER_DIR / name
    elif name == "docs.js":
        path = _OWN_ASSETS / name
    else:
        return None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return path.read_bytes(), content_type


@public
async def openapi_spec(request: web.Request) -> web.Response:
    body = _spec_bytes(context_of(request).settings.public_base_url)
    return web.Response(
        body=body,
        content_type="application/json",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


@public
async def docs_page(request: web.Request) -> web.Response:
    html = (_OWN_ASSETS / "docs.html").read_bytes()
    return web.Response(
        body=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": _DOCS_CSP, "Cache-Control": "no-cache"},
    )


@public
async def docs_asset(request: web.Request) -> web.Response:
    found = _asset(request.match_info["name"])
    if found is None:
        raise ApiError("NOT_FOUND", "No such route")
    body, content_type = found
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Cache-Control": _ASSET_CACHE, "X-Content-Type-Options": "nosniff"},
    )
