"""The generator check's readers: it finds what each generator reports or silently produces
wrong (a dropped response, a ``never`` in a response type) and lets through what is fine
(header index signatures, bodiless responses, request-only types)."""

from __future__ import annotations

import copy
from typing import Any

from scripts.check_openapi_generators import (
    load_spec,
    python_generator_warnings,
    spec_problems,
    typescript_response_problems,
)

DECLARATIONS = """
export interface components {
    schemas: {
        /** @description fine */
        Stats: {
            devices: components["schemas"]["Devices"];
            /** never returned */
            browsers: Record<string, never> | unknown[];
        };
        Devices: { mobile: number };
        Request: { design?: Record<string, never> };
    };
    responses: {
        NotModified: {
            headers: {
                [name: string]: unknown;
            };
            content?: never;
        };
    };
    parameters: never;
}
export interface operations {
    getStats: {
        parameters: { query?: never; path: { qr_id: string } };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    "X-Request-Id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": { success: true; data: components["schemas"]["Stats"] };
                };
            };
            304: components["responses"]["NotModified"];
        };
    };
    sendThing: {
        requestBody: { content: { "application/json": components["schemas"]["Request"] } };
        responses: { 204: { headers: { [name: string]: unknown }; content?: never } };
    };
}
"""


def test_never_and_unknown_are_found_in_response_types_only() -> None:
    problems = typescript_response_problems(DECLARATIONS)
    assert len(problems) == 2, problems
    assert all("schema Stats" in p for p in problems)
    assert {p.split("`")[1] for p in problems} == {"never", "unknown"}


def test_python_generator_warnings_are_read_from_its_output() -> None:
    output = """Generating out
Warning(s) encountered while generating. Client was generated, but some pieces may be missing

WARNING parsing GET /v1/qrcodes/{qr_id}/stats within statistics.

Cannot parse response for status code 200 (Could not find reference), response will be omitted

If you believe this was a mistake or this tool is missing a feature you need, please open an issue
"""
    warnings = python_generator_warnings(output)
    assert len(warnings) == 3
    assert any("response will be omitted" in w for w in warnings)
    assert python_generator_warnings("Generating out\n") == []


def _spec() -> dict[str, Any]:
    return copy.deepcopy(load_spec())


def test_the_rules_catch_what_generators_choke_on() -> None:
    spec = _spec()
    schemas = spec["components"]["schemas"]
    schemas["CodeStats"]["properties"]["browsers"] = {"type": ["object", "array"]}
    schemas["Usage"].pop("examples")
    schemas["Barcode"]["examples"] = [{"barcode_id": 1}]
    schemas["Sibling"] = {
        "allOf": [{"$ref": "#/components/schemas/ApiKey"}],
        "properties": {"x": {"type": "string"}},
        "examples": [{}],
    }
    operation = spec["paths"]["/v1/account/usage"]["get"]
    operation["operationId"] = "usage"
    operation["responses"]["200"]["content"]["application/json"].pop("example")
    operation["responses"]["404"] = {
        "description": "x",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    download = spec["paths"]["/v1/qrcodes/{qr_id}/download"]["get"]
    download["responses"]["200"]["content"]["image/png"]["schema"] = {"type": "string"}
    problems = "\n".join(spec_problems(spec))
    for expected in (
        "browsers is typed object-or-array",
        "Sibling has properties beside allOf",
        "operationId 'usage'",
        "GET /v1/account/usage: response 200 has no example",
        "error response 404 does not answer the ErrorBody envelope",
        "image/png response 200 is not `type: string, format: binary`",
        "schema Usage has no example",
        "schema Barcode: example does not validate",
    ):
        assert expected in problems, expected
