"""``/console``: the gateway serves exactly the console's build (its shell and the hashed
assets beside it) with a strict CSP, the right caching and gzip; without a build it says how
to make one instead of failing."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.service.gateway.conftest import StartGateway

SHELL = (
    '<!doctype html><html lang="en"><head><title>QRForge console</title>'
    '<script type="module" crossorigin src="/console/assets/index-abc123.js"></script>'
    "</head><body></body></html>"
)
SCRIPT = "console.log('qrforge');\n" * 200


def build(directory: Path) -> Path:
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text(SHELL, encoding="utf-8")
    (directory / "assets" / "index-abc123.js").write_text(SCRIPT, encoding="utf-8")
    (directory / "secret.txt").write_text("not an asset", encoding="utf-8")
    return directory


async def test_the_shell_has_a_strict_csp_and_is_never_cached(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = await start_gateway(CONSOLE_DIR=str(build(tmp_path / "dist")))
    for path in ("/console", "/console/"):
        resp = await gateway.request("GET", path)
        assert resp.status == 200
        assert resp.text == SHELL
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.headers["Cache-Control"] == "no-cache"
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["X-Frame-Options"] == "DENY"


async def test_hashed_assets_are_cached_for_a_year_and_gzipped_when_asked(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = await start_gateway(CONSOLE_DIR=str(build(tmp_path / "dist")))
    url = f"{gateway.base_url}/console/assets/index-abc123.js"
    async with gateway.http.get(
        url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    ) as resp:
        body = await resp.read()
        assert resp.status == 200
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert gzip.decompress(body).decode() == SCRIPT
    async with gateway.http.get(url, headers={"Accept-Encoding": "identity"}) as resp:
        assert "Content-Encoding" not in resp.headers
        assert (await resp.text()) == SCRIPT


async def test_only_files_of_the_assets_folder_are_served(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = await start_gateway(CONSOLE_DIR=str(build(tmp_path / "dist")))
    for path in (
        "/console/assets/secret.txt",
        "/console/assets/..%2Fsecret.txt",
        "/console/assets/..%2Findex.html",
        "/console/secret.txt",
        "/console/assets/nope.js",
    ):
        resp = await gateway.request("GET", path)
        assert resp.status == 404, path
        assert resp.error_code == "NOT_FOUND"


async def test_without_a_build_the_page_says_how_to_build_it(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = await start_gateway(CONSOLE_DIR=str(tmp_path / "never-built"))
    resp = await gateway.request("GET", "/console/")
    assert resp.status == 503
    assert "make console" in resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in resp.headers
