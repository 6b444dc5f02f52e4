"""The OpenAPI document against the code: the spec is valid OpenAPI 3.1, every route of the
app is documented and every documented operation is routed, the error-code enum is the error
table, and real responses of the running system validate against the spec's schemas."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from services.gateway.app import create_app
from services.gateway.docs.routes import load_spec
from services.gateway.settings import GatewaySettings
from services.runtime.errors import HTTP_STATUS
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from tests.support.stack import ApiAccount, Stack

HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "patch", "options", "head"})

# Documented operations whose route has not landed yet, as (METHOD, OpenAPI path). The lead
# empties this as routes land: a listed operation that is routed fails the route test, so the
# set can never go stale. Shared with test_schemathesis.py, which skips these operations.
NOT_YET_ROUTED: Final[frozenset[tuple[str, str]]] = frozenset()

# Routes that are not part of the v1 API and so are not in the spec: the spec itself, the
# docs page with its assets and the browser console with its assets.
UNDOCUMENTED_ROUTES: Final = frozenset(
    {
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/assets/{name}"),
        ("GET", "/console"),
        ("GET", "/console/"),
        ("GET", "/console/assets/{name}"),
    }
)

SPEC_URI: Final = "urn:qrforge:openapi"


def spec_operations(spec: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def app_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route of the gateway, built but not started. aiohttp's
    canonical form drops the regexes (``/i/{qr_id}.{ext}``), which is OpenAPI's template
    syntax; the HEAD twin of every GET is implicit."""
    with pytest.MonkeyPatch.context() as patch:
        # A required setting; the app is never started, so no call presents it.
        patch.setenv(GRPC_AUTH_TOKEN_ENV, secrets.token_urlsafe(32))
        app = create_app(GatewaySettings.from_env())
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def test_spec_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1.")
    errors = [str(error) for error in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []


def test_every_route_is_documented_and_every_operation_is_routed() -> None:
    documented = spec_operations(load_spec())
    routed = app_routes() - UNDOCUMENTED_ROUTES
    assert routed - documented == set(), "routes missing from openapi.json"
    assert documented >= NOT_YET_ROUTED, "NOT_YET_ROUTED names an operation the spec lacks"
    landed = NOT_YET_ROUTED & routed
    assert landed == set(), f"routed now: remove from NOT_YET_ROUTED: {sorted(landed)}"
    assert documented - routed - NOT_YET_ROUTED == set(), "documented but not routed"
    assert app_routes() >= UNDOCUMENTED_ROUTES


def test_error_code_enum_is_the_error_table() -> None:
    spec = load_spec()
    assert set(spec["components"]["schemas"]["ErrorCode"]["enum"]) == set(HTTP_STATUS)


def test_every_operation_documents_its_failures() -> None:
    """Authenticated operations list 401/403/429/500/503; body-taking ones 400/413/415; POSTs
    take Idempotency-Key; every response names X-Request-Id."""
    spec = load_spec()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            public = operation.get("security") == []
            expected = {"500", "503"} | (set() if public else {"401", "403", "429"})
            if "requestBody" in operation:
                expected |= {"400", "413", "415"}
            assert expected <= set(responses), label
            if method == "post":
                refs = [p.get("$ref") for p in operation.get("parameters", [])]
                assert "#/components/parameters/IdempotencyKey" in refs, label
            for status, response in responses.items():
                resolved = _resolve(spec, response)
                assert "X-Request-Id" in resolved.get("headers", {}), f"{label} {status}"


# --- real responses against the spec ------------------------------------------------------


def _resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class SpecChecker:
    """Validates (operation, status, body) against the spec with JSON Schema 2020-12."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource: Resource[Any] = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)

    def schema_pointer(self, method: str, path: str, status: int, media: str) -> str:
        response = self.spec["paths"][path][method.lower()]["responses"][str(status)]
        if "$ref" in response:
            base = response["$ref"].removeprefix("#")
            response = _resolve(self.spec, response)
        else:
            base = f"/paths/{_escape(path)}/{method.lower()}/responses/{status}"
        assert media in response.get("content", {}), f"{method} {path} {status}: no {media}"
        return f"{base}/content/{_escape(media)}/schema"

    def validate(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        pointer = self.schema_pointer(method, path, status, "application/json")
        validator = Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], f"{method} {path} {status}: {errors}"
        if headers is not None:
            response = _resolve(
                self.spec, self.spec["paths"][path][method.lower()]["responses"][str(status)]
            )
            for name, header in response.get("headers", {}).items():
                if _resolve(self.spec, header).get("required"):
                    assert name in headers, f"{method} {path} {status}: header {name} missing"


@pytest.fixture(scope="module")
def checker() -> SpecChecker:
    return SpecChecker(load_spec())


@dataclass
class Client:
    """Calls the running gateway and checks every answer against the spec."""

    http: aiohttp.ClientSession
    checker: SpecChecker
    base_url: str
    headers: Mapping[str, str]

    async def __call__(
        self,
        method: str,
        template: str,
        path: str | None = None,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        expect: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        url = f"{self.base_url}{path or template}"
        sent = self.headers if headers is None else headers
        async with self.http.request(method, url, headers=sent, json=json, params=params) as resp:
            body = await resp.json()
            assert resp.status == expect, body
            self.checker.validate(method, template, resp.status, body, resp.headers)
            return body["data"] if body.get("success") else body


@pytest.fixture
def client(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession, checker: SpecChecker
) -> Client:
    return Client(http, checker, stack.gateway_url, account.headers)


async def test_served_spec_is_the_file_with_this_gateway_as_server(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.gateway_url}/openapi.json") as resp:  # public: no key
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert resp.headers["X-Request-Id"]
        served = await resp.json()
    expected = load_spec()
    assert served.pop("servers") == [{"url": stack.gateway_url}]
    assert served == expected


async def test_qr_code_responses_match_the_spec(client: Client) -> None:
    wifi = {"ssid": "Cafe", "password": "espresso-42", "encryption": "WPA"}
    body = {"type": "wifi", "content": wifi, "name": "w", "include_image": True, "size": 200}
    static = await client("POST", "/v1/qrcodes/generate", json=body)
    qr_id = static["qr_id"]
    await client("GET", "/v1/qrcodes/{qr_id}", f"/v1/qrcodes/{qr_id}")
    protection = {"password": "pw", "expiry_date": "2030-01-01", "max_scans": 5}
    body = {"name": "spring", "destination_url": "https://example.com/a", "protection": protection}
    dynamic = await client("POST", "/v1/qrcodes/dynamic", json=body, expect=201)
    dyn = f"/v1/qrcodes/{dynamic['qr_id']}"
    await client(
        "PUT",
        "/v1/qrcodes/{qr_id}/destination",
        f"{dyn}/destination",
        json={"destination_url": "https://example.com/b"},
    )
    patch = {"active": False, "protection": {"password": None}}
    await client("PATCH", "/v1/qrcodes/{qr_id}", dyn, json=patch)
    await client("GET", "/v1/qrcodes/{qr_id}", dyn)
    await client("GET", "/v1/qrcodes", params={"limit": "5"})
    await client("GET", "/v1/qrcodes", params={"limit": "5", "q": "SPR"})
    await client("PATCH", "/v1/qrcodes/{qr_id}", dyn, json={"tags": ["spring", "flyers"]})
    await client("GET", "/v1/tags")
    items = [
        {"type": "text", "content": "one"},
        {"type": "url", "content": "nope"},
        {"kind": "dynamic", "name": "b", "destination_url": "https://example.com/c"},
    ]
    batch = await client("POST", "/v1/qrcodes/batch", json={"items": items})
    assert (batch["succeeded"], batch["failed"]) == (2, 1)
    for suffix in ("", "/daily", "/countries", "/devices", "/referrers", "/cities"):
        await client("GET", f"/v1/qrcodes/{{qr_id}}/stats{suffix}", f"{dyn}/stats{suffix}")
    await client("GET", "/v1/stats/overview")
    await client("DELETE", "/v1/qrcodes/{qr_id}", f"/v1/qrcodes/{qr_id}")


async def test_routing_responses_match_the_spec(client: Client) -> None:
    body = {
        "name": "routed",
        "destination_url": "https://example.com/a",
        "slug": f"spec-{secrets.token_hex(6)}",
        "rules": [
            {"if": {"os": ["ios"], "query": {"src": "x"}}, "destination_url": "https://e.com/i"}
        ],
        "variants": [{"destination_url": "https://example.com/v", "weight": 3}],
        "expired_url": "https://example.com/",
        "forward_query": True,
        "utm": {"source": "s", "medium": "m", "campaign": "c", "term": None},
    }
    dynamic = await client("POST", "/v1/qrcodes/dynamic", json=body, expect=201)
    dyn = f"/v1/qrcodes/{dynamic['qr_id']}"
    await client("PATCH", "/v1/qrcodes/{qr_id}", dyn, json={"rules": None, "utm": None})
    for suffix in ("/rules", "/variants"):
        await client("GET", f"/v1/qrcodes/{{qr_id}}/stats{suffix}", f"{dyn}/stats{suffix}")
    await client("GET", "/v1/domains")


async def test_barcode_key_and_account_responses_match_the_spec(client: Client) -> None:
    body = {"format": "EAN13", "value": "400638133393", "metadata": {"sku": "A"}}
    barcode = await client("POST", "/v1/barcodes/generate", json=body)
    path = f"/v1/barcodes/{barcode['barcode_id']}"
    await client("GET", "/v1/barcodes/{barcode_id}", path)
    await client("GET", "/v1/barcodes")
    await client("DELETE", "/v1/barcodes/{barcode_id}", path)
    body = {"name": "reader", "permissions": ["read"], "expires_at": "2030-01-01"}
    key = await client("POST", "/v1/api-keys", json=body, expect=201)
    await client("GET", "/v1/api-keys")
    await client("DELETE", "/v1/api-keys/{key_id}", f"/v1/api-keys/{key['key_id']}")
    await client("GET", "/v1/account/usage")


async def test_design_responses_match_the_spec(client: Client) -> None:
    body = {"name": "Brand", "design": {"fg_color": "#1a237e", "dot_style": "round"}}
    design = await client("POST", "/v1/designs", json=body, expect=201)
    path = f"/v1/designs/{design['design_id']}"
    await client("GET", "/v1/designs/{design_id}", path)
    await client("GET", "/v1/designs", params={"limit": "5"})
    patch = {"name": "Brand 2", "design": {"bg_color": "#fafafa"}}
    await client("PATCH", "/v1/designs/{design_id}", path, json=patch)
    generate = {"type": "text", "content": "saved", "design_id": design["design_id"]}
    await client("POST", "/v1/qrcodes/generate", json=generate)
    await client("DELETE", "/v1/designs/{design_id}", path)
    await client("GET", "/v1/designs/{design_id}", path, expect=404)
    await client("POST", "/v1/qrcodes/generate", json=generate, expect=404)


async def test_webhook_responses_match_the_spec(client: Client) -> None:
    # 127.0.0.1 is allow-listed for the tests' webhooks service; nothing listens there.
    body = {"url": "http://127.0.0.1:9/hook", "events": ["code.updated"], "description": "spec"}
    hook = await client("POST", "/v1/webhooks", json=body, expect=201)
    path = f"/v1/webhooks/{hook['webhook_id']}"
    await client("GET", "/v1/webhooks/{webhook_id}", path)
    await client("GET", "/v1/webhooks", params={"limit": "5"})
    await client("PATCH", "/v1/webhooks/{webhook_id}", path, json={"active": False})
    delivery = await client("POST", "/v1/webhooks/{webhook_id}/test", f"{path}/test", expect=202)
    await client("GET", "/v1/webhooks/{webhook_id}/deliveries", f"{path}/deliveries")
    await client(
        "POST",
        "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        f"{path}/deliveries/{delivery['delivery_id']}/retry",
        expect=202,
    )
    await client("DELETE", "/v1/webhooks/{webhook_id}", path)
    await client("GET", "/v1/webhooks/{webhook_id}", path, expect=404)


async def test_error_responses_match_the_spec(client: Client) -> None:
    body = {"type": "url", "content": "https://example.com", "design": {"fg_color": "red"}}
    bad = await client("POST", "/v1/qrcodes/generate", json=body, expect=400)
    assert bad["error"]["code"] == "INVALID_COLOR"
    assert bad["error"]["details"] == {"field": "design.fg_color"}
    await client("GET", "/v1/qrcodes/{qr_id}", "/v1/qrcodes/qr_nope", expect=404)
    unknown_key = {"Authorization": "Bearer nope"}
    await client("GET", "/v1/account/usage", headers=unknown_key, expect=401)
    await client("GET", "/i/{qr_id}.{ext}", "/i/qr_missing.png", headers={}, expect=404)
