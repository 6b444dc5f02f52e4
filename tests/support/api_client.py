"""One client for the gateway's REST API, as the tests and benchmarks call it: a method per
route they use, each answering an ``ApiResponse`` (status, headers, body read in full), so a
test asserts on what came back instead of repeating its own ``_post``/``generate`` helpers.

The client sends its key (``Authorization: Bearer``) with every call; ``as_key``/``as_account``
give the same session another caller. It never asserts: ``ApiResponse.data(status)`` does,
where a test wants the envelope's ``data`` of a call that must succeed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from tests.support.stack import ApiAccount

# A mapping, or pairs for a parameter that repeats.
Params = Mapping[str, str] | Sequence[tuple[str, str]]
_NO_BODY: Final = object()


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def envelope(self) -> dict[str, Any]:
        """The JSON envelope every API answer has: ``success`` and ``data`` or ``error``."""
        payload = self.json()
        assert isinstance(payload, dict), self.body[:200]
        return payload

    def data(self, status: int = 200) -> Any:
        """The envelope's ``data``, asserting first that the call answered ``status``."""
        assert self.status == status, (self.status, self.body[:2000])
        return self.envelope["data"]

    @property
    def error_code(self) -> str:
        code: str = self.envelope["error"]["code"]
        return code


class ApiClient:
    def __init__(
        self, http: aiohttp.ClientSession, base_url: str, auth: ApiAccount | str | None = None
    ) -> None:
        """``auth``: an account (its first key) or a key's secret; ``None`` sends no key."""
        self.http = http
        self.base_url = base_url.rstrip("/")
        secret = auth.api_key if isinstance(auth, ApiAccount) else auth
        self.auth_headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def as_key(self, secret: str | None) -> ApiClient:
        """The same session and gateway, calling with another key (``None``: none)."""
        return ApiClient(self.http, self.base_url, secret)

    def as_account(self, account: ApiAccount) -> ApiClient:
        return ApiClient(self.http, self.base_url, account)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _NO_BODY,
        data: bytes | Mapping[str, str] | None = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ApiResponse:
        """``path`` below the gateway's URL (``/v1/...``), or an absolute URL."""
        url = path if "://" in path else f"{self.base_url}{path}"
        sent = {**self.auth_headers, **(headers or {})}
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        options: dict[str, Any] = {"headers": sent, "params": params, "data": data}
        if json_body is not _NO_BODY:
            options["json"] = json_body
        async with self.http.request(method, url, **options) as resp:
            body = await resp.read()
            return ApiResponse(resp.status, CIMultiDictProxy(CIMultiDict(resp.headers)), body)

    async def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> ApiResponse:
        """A public URL the API answered (``image_url``), fetched without the key."""
        async with self.http.get(url, headers=headers) as resp:
            body = await resp.read()
            return ApiResponse(resp.status, CIMultiDictProxy(CIMultiDict(resp.headers)), body)

    # --- static codes and batches ------------------------------------------------------------

    async def generate(
        self,
        body: Mapping[str, Any],
        *,
        accept: str | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """``POST /v1/qrcodes/generate``: JSON by default, the image when ``accept`` is one."""
        sent = {**(headers or {}), **({"Accept": accept} if accept else {})}
        return await self.request(
            "POST",
            "/v1/qrcodes/generate",
            json_body=body,
            headers=sent,
            idempotency_key=idempotency_key,
        )

    async def batch(
        self,
        items: Sequence[Any],
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        return await self.request(
            "POST",
            "/v1/qrcodes/batch",
            json_body={"items": items},
            headers=headers,
            idempotency_key=idempotency_key,
        )

    # --- dynamic codes and the catalog -------------------------------------------------------

    async def create_dynamic(
        self, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> ApiResponse:
        return await self.request(
            "POST", "/v1/qrcodes/dynamic", json_body=body, idempotency_key=idempotency_key
        )

    async def set_destination(self, qr_id: str, destination_url: str) -> ApiResponse:
        return await self.request(
            "PUT",
            f"/v1/qrcodes/{qr_id}/destination",
            json_body={"destination_url": destination_url},
        )

    async def patch_code(self, qr_id: str, body: Mapping[str, Any]) -> ApiResponse:
        return await self.request("PATCH", f"/v1/qrcodes/{qr_id}", json_body=body)

    async def delete_code(self, qr_id: str) -> ApiResponse:
        return await self.request("DELETE", f"/v1/qrcodes/{qr_id}")

    async def list_codes(self, **params: str) -> ApiResponse:
        return await self.request("GET", "/v1/qrcodes", params=params)

    async def get_code(self, qr_id: str, **params: str) -> ApiResponse:
        return await self.request("GET", f"/v1/qrcodes/{qr_id}", params=params)

    async def download(
        self, qr_id: str, *, headers: Mapping[str, str] | None = None, **params: str
    ) -> ApiResponse:
        return await self.request(
            "GET", f"/v1/qrcodes/{qr_id}/download", params=params, headers=headers
        )

    # --- saved designs ------------------------------------------------------------------------

    async def create_design(self, body: Mapping[str, Any]) -> ApiResponse:
        return await self.request("POST", "/v1/designs", json_body=body)

    async def list_designs(self, **params: str) -> ApiResponse:
        return await self.request("GET", "/v1/designs", params=params)

    async def get_design(self, design_id: str) -> ApiResponse:
        return await self.request("GET", f"/v1/designs/{design_id}")

    async def patch_design(self, design_id: str, body: Mapping[str, Any]) -> ApiResponse:
        return await self.request("PATCH", f"/v1/designs/{design_id}", json_body=body)

    async def delete_design(self, design_id: str) -> ApiResponse:
        return await self.request("DELETE", f"/v1/designs/{design_id}")

    # --- barcodes ----------------------------------------------------------------------------

    async def generate_barcode(
        self,
        body: Mapping[str, Any],
        *,
        accept: str | None = None,
        idempotency_key: str | None = None,
    ) -> ApiResponse:
        headers = {"Accept": accept} if accept else None
        return await self.request(
            "POST",
            "/v1/barcodes/generate",
            json_body=body,
            headers=headers,
            idempotency_key=idempotency_key,
        )

    async def list_barcodes(self, **params: str) -> ApiResponse:
        return await self.request("GET", "/v1/barcodes", params=params)

    # --- decoding ----------------------------------------------------------------------------

    async def decode(
        self, image: bytes, content_type: str | None = "image/png", params: Params | None = None
    ) -> ApiResponse:
        """``POST /v1/decode`` with ``image`` as the body (``content_type`` None: no header)."""
        headers = {"Content-Type": content_type} if content_type else None
        return await self.request("POST", "/v1/decode", data=image, headers=headers, params=params)

    # --- stats -------------------------------------------------------------------------------

    async def stats(self, qr_id: str, **params: str) -> ApiResponse:
        return await self.request("GET", f"/v1/qrcodes/{qr_id}/stats", params=params)

    async def daily_stats(self, qr_id: str, **params: str) -> ApiResponse:
        return await self.request("GET", f"/v1/qrcodes/{qr_id}/stats/daily", params=params)

    async def overview(self, **params: str) -> ApiResponse:
        return await self.request("GET", "/v1/stats/overview", params=params)

    # --- keys and the account ----------------------------------------------------------------

    async def create_api_key(
        self, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> ApiResponse:
        return await self.request(
            "POST", "/v1/api-keys", json_body=body, idempotency_key=idempotency_key
        )

    async def list_api_keys(self) -> ApiResponse:
        return await self.request("GET", "/v1/api-keys")

    async def revoke_api_key(self, key_id: str) -> ApiResponse:
        return await self.request("DELETE", f"/v1/api-keys/{key_id}")

    async def usage(self, headers: Mapping[str, str] | None = None) -> ApiResponse:
        return await self.request("GET", "/v1/account/usage", headers=headers)
