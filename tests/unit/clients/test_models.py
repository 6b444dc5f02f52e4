"""The SDK's records (``qrforge.client.models``) read every example of the OpenAPI spec they
stand for without dropping a field: what the docs promise, the SDK keeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from qrforge.client import models
from tests.support.sdk_models import assert_same_value

SPEC = Path(__file__).resolve().parents[3] / "services" / "gateway" / "docs" / "openapi.json"
SCHEMAS: dict[str, Any] = json.loads(SPEC.read_text())["components"]["schemas"]

MODELS: dict[str, Any] = {
    "StaticQrCode": models.StaticQrCode,
    "DynamicQrCode": models.DynamicQrCode,
    "QrCode": models.QrCode,
    "BatchResults": models.BatchResults,
    "Barcode": models.Barcode,
    "RoutingRule": models.RoutingRule,
    "Variant": models.Variant,
    "Utm": models.Utm,
    "RouteShare": models.RouteShare,
    "ShortDomain": models.ShortDomain,
    "TagCount": models.TagCount,
    "Webhook": models.Webhook,
    "CreatedWebhook": models.CreatedWebhook,
    "WebhookDelivery": models.WebhookDelivery,
    "ImportJob": models.Import,
}


def _examples(schema: dict[str, Any]) -> list[Any]:
    return [schema["example"]] if "example" in schema else list(schema.get("examples", []))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_spec_example_parses_with_no_field_dropped(name: str) -> None:
    examples = _examples(SCHEMAS[name])
    assert examples, f"{name} has no example"
    for example in examples:
        record = msgspec.convert(example, MODELS[name])
        assert_same_value(example, msgspec.to_builtins(record), name)


def test_a_rule_reads_and_writes_its_condition_as_if() -> None:
    rule = msgspec.convert(
        {"if": {"os": ["ios"], "query": {"src": "mail"}}, "destination_url": "https://e.x/i"},
        models.RoutingRule,
    )
    assert rule.if_.os == ["ios"] and rule.if_.device is None
    # Conditions not given stay out, so a rule read back can be sent back as it was.
    assert rule.to_dict() == {
        "if": {"os": ["ios"], "query": {"src": "mail"}},
        "destination_url": "https://e.x/i",
    }


def test_records_from_a_server_before_v1_1_still_parse() -> None:
    old = {
        key: value
        for key, value in SCHEMAS["DynamicQrCode"]["examples"][0].items()
        if key
        not in {
            "tags",
            "slug",
            "domain",
            "rules",
            "variants",
            "utm",
            "expired_url",
            "forward_query",
        }
    }
    code = msgspec.convert(old, models.DynamicQrCode)
    assert (code.tags, code.rules, code.variants, code.utm) == ([], [], [], None)
