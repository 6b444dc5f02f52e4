"""Every rendered object validates strictly (unknown fields rejected) against the Kubernetes
OpenAPI schemas shipped by ``kubernetes-validate``; the Prometheus Operator kinds validate
against the typed CRD models of ``cloudcoil.models.prometheus_operator`` (a round trip that
drops nothing)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from cloudcoil.models.prometheus_operator import v1 as monitoring
from kubernetes_validate.utils import SchemaNotFoundError  # type: ignore[import-untyped]

from tests.deploy.support import SECRET_TEMPLATE, Obj, Rendered, load_yaml_file

# The oldest Kubernetes the manifests support and the newest schema the package ships.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())
CRD_MODELS: dict[tuple[str, str], Any] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): monitoring.ServiceMonitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): monitoring.PrometheusRule,
}


def _validate_core(obj: Obj, version: str) -> None:
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(part) for part in err.path)
        pytest.fail(f"{name} (Kubernetes {version}): {path}: {err.message}")
    except SchemaNotFoundError:
        pytest.fail(f"{name}: no schema for {obj['apiVersion']} in Kubernetes {version}")


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _validate_crd(obj: Obj) -> None:
    model = CRD_MODELS[(obj["apiVersion"], obj["kind"])]
    parsed = model.model_validate(obj)
    again = _strip_nulls(parsed.model_dump(by_alias=True, exclude_unset=True, mode="json"))
    # Unknown fields are dropped and mistyped values coerced by the model: either shows here.
    assert again == obj, f"{obj['kind']}/{obj['metadata']['name']} has fields its CRD lacks"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(each: Rendered, version: str) -> None:
    assert each.objects, f"{each.name} rendered nothing"
    for obj in each.objects:
        if (obj["apiVersion"], obj["kind"]) in CRD_MODELS:
            _validate_crd(obj)
        else:
            _validate_core(obj, version)


def test_only_known_kinds(each: Rendered) -> None:
    core = {
        "Namespace", "ServiceAccount", "ConfigMap", "Secret", "Service", "Deployment",
        "StatefulSet", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
        "Ingress", "PersistentVolumeClaim",
    }  # fmt: skip
    crds = {kind for _, kind in CRD_MODELS}
    unexpected = {obj["kind"] for obj in each.objects} - core - crds
    assert not unexpected, f"{each.name}: kinds without a validation path: {unexpected}"


def test_crd_validation_rejects_unknown_fields() -> None:
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "endpoints": [{"port": "admin", "scrapeEvery": "15s"}]},
    }
    with pytest.raises(AssertionError, match="fields its CRD lacks"):
        _validate_crd(monitor)


def test_core_validation_rejects_unknown_fields() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "datta": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(config, KUBERNETES_VERSIONS[0], strict=True)


def test_secret_template_validates_and_is_only_placeholders() -> None:
    (secret,) = load_yaml_file(SECRET_TEMPLATE)
    for version in KUBERNETES_VERSIONS:
        _validate_core(secret, version)
    assert secret["metadata"]["name"] == "qrforge-secrets"
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"secret template {key} must be a placeholder"
