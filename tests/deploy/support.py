"""Helpers for the offline deployment tests: render kustomizations with the real kustomize
(``kubectl kustomize`` or a ``kustomize`` binary), index the resulting objects, read the
metric names the services define, and pull metric selectors out of PromQL."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import promql_parser
import yaml

ROOT: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = ROOT / "deploy"
K8S: Final = DEPLOY / "k8s"
SERVICES_DIR: Final = ROOT / "services"
DASHBOARD: Final = DEPLOY / "grafana" / "qrforge.json"
SECRET_TEMPLATE: Final = K8S / "base" / "secret.template.yaml"

SERVICES: Final = ("gateway", "render", "keys", "redirect", "analytics", "webhooks")
GRPC_SERVICES: Final = ("render", "keys", "analytics", "webhooks")
HPA_SERVICES: Final = ("gateway", "render", "redirect")
PUBLIC_SERVICES: Final = ("gateway", "redirect")
# Env var prefix of each service's own port settings (``<PREFIX>_PORT``, ``<PREFIX>_ADMIN_PORT``).
PORT_PREFIX: Final = {name: name.upper() for name in SERVICES}
PROBE_PATHS: Final = frozenset({"/healthz", "/readyz"})
NAME_LABEL: Final = "app.kubernetes.io/name"

Obj = dict[str, Any]


def kustomize_command() -> list[str]:
    """The real kustomize: ``kubectl kustomize`` (kustomize is built into kubectl) or a
    standalone ``kustomize build``."""
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    raise RuntimeError("neither kubectl nor kustomize is on PATH: install one to render deploy/k8s")


def render(directory: Path) -> list[Obj]:
    result = subprocess.run(
        [*kustomize_command(), str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize failed for {directory}:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def load_yaml_file(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@dataclass(frozen=True)
class Rendered:
    name: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def find(self, kind: str, name: str) -> Obj | None:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        return found[0] if found else None

    def config(self) -> dict[str, str]:
        data: dict[str, str] = self.get("ConfigMap", "qrforge-config")["data"]
        return data

    def generated(self, kind: str, prefix: str) -> Obj:
        """A generated object (name with kustomize's hash suffix) or the plain one."""
        found = [
            obj
            for obj in self.of_kind(kind)
            if obj["metadata"]["name"] == prefix
            or re.fullmatch(rf"{re.escape(prefix)}-[a-z0-9]{{10}}", obj["metadata"]["name"])
        ]
        assert len(found) == 1, (
            f"{self.name}: expected one {kind} {prefix}(-hash), found {len(found)}"
        )
        return found[0]


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def pod_labels(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = obj["spec"]["template"]["metadata"].get("labels", {})
    return labels


def main_container(deployment: Obj) -> Obj:
    name = deployment["metadata"]["name"]
    containers = [c for c in pod_spec(deployment)["containers"] if c["name"] == name]
    assert len(containers) == 1, f"deployment {name} has no container named {name}"
    container: Obj = containers[0]
    return container


def container_port(container: Obj, name: str) -> int:
    ports = [p for p in container.get("ports", []) if p.get("name") == name]
    assert len(ports) == 1, f"container {container['name']} has no port named {name}"
    port: int = ports[0]["containerPort"]
    return port


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def settings_default(service: str, env_name: str) -> float | None:
    """The default a service's ``settings.py`` gives ``env_int/env_float(env_name, default)``."""
    path = SERVICES_DIR / service / "settings.py"
    if not path.exists():
        return None
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"env_int", "env_float"}
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == env_name
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, int | float)
        ):
            return float(node.args[1].value)
    return None


# --- metrics -----------------------------------------------------------------------------------

_METRIC_TYPES: Final = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
# Custom collectors (hot-path counters kept as plain integers) yield metric families.
_FAMILY_TYPES: Final = {"CounterMetricFamily": "Counter", "GaugeMetricFamily": "Gauge"}
# Series Prometheus itself adds to every target, and labels added by the scrape config.
BUILTIN_SERIES: Final = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
TARGET_LABELS: Final = frozenset(
    {"job", "instance", "namespace", "pod", "service", "endpoint", "container"}
)


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: str
    labels: tuple[str, ...]
    source: str
    series: frozenset[str] = field(default_factory=frozenset)


def _series_names(name: str, kind: str) -> frozenset[str]:
    if kind == "Counter":
        base = name.removesuffix("_total")
        return frozenset({f"{base}_total", f"{base}_created"})
    if kind == "Histogram":
        return frozenset({f"{name}_bucket", f"{name}_sum", f"{name}_count", f"{name}_created"})
    if kind == "Summary":
        return frozenset({name, f"{name}_sum", f"{name}_count", f"{name}_created"})
    if kind == "Info":
        return frozenset({f"{name}_info"})
    return frozenset({name})


def _const_strings(node: ast.expr) -> tuple[str, ...] | None:
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return tuple(str(e.value) for e in node.elts if isinstance(e, ast.Constant))
    return None


def defined_metrics(services_dir: Path = SERVICES_DIR) -> dict[str, MetricDef]:
    """Every metric series the services can export, from ``Counter("name", "doc", [labels])``
    and friends anywhere in ``services/**/*.py``, keyed by exported series name."""
    series: dict[str, MetricDef] = {}
    for path in sorted(services_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            kind = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            first = node.args[0]
            kind = _FAMILY_TYPES.get(kind, kind)
            if kind not in _METRIC_TYPES or not (
                isinstance(first, ast.Constant) and isinstance(first.value, str)
            ):
                continue
            labels: tuple[str, ...] = ()
            if len(node.args) >= 3:
                labels = _const_strings(node.args[2]) or ()
            for kw in node.keywords:
                if kw.arg in ("labelnames", "labels"):
                    labels = _const_strings(kw.value) or ()
            names = _series_names(first.value, kind)
            metric = MetricDef(
                first.value, kind, labels, str(path.relative_to(services_dir.parent)), names
            )
            for name in names:
                series[name] = metric
    return series


@dataclass(frozen=True)
class Selector:
    metric: str | None
    labels: frozenset[str]
    text: str


def _vector_selectors(expr: promql_parser.Expr) -> Iterator[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(expr, pre_visit=visit)
    yield from found


_GRAFANA_RANGES: Final = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
_GRAFANA_VAR: Final = re.compile(r"\$\{?\w+\}?")
_LABEL_VALUES: Final = re.compile(r"^\s*label_values\((?:(?P<sel>.+),\s*)?(?P<label>\w+)\)\s*$")


def grafana_to_promql(expr: str) -> str:
    """Substitute Grafana's interval and template variables so the expression parses."""
    for var, value in _GRAFANA_RANGES.items():
        expr = expr.replace(var, value)
    return _GRAFANA_VAR.sub("grafana_var", expr)


def selectors(expr: str) -> list[Selector]:
    """The metric selectors of a PromQL expression (or of a Grafana ``label_values(sel, l)``
    variable query); raises ``ValueError`` when it does not parse."""
    if match := _LABEL_VALUES.match(expr):
        if match.group("sel") is None:
            return []
        expr = match.group("sel")
    parsed = promql_parser.parse(expr)
    out: list[Selector] = []
    for vs in _vector_selectors(parsed):
        names = {m.name for m in vs.matchers.matchers}
        for group in vs.matchers.or_matchers:
            names |= {m.name for m in group}
        metric = vs.name
        if metric is None:
            metric = next((m.value for m in vs.matchers.matchers if m.name == "__name__"), None)
        out.append(Selector(metric, frozenset(names - {"__name__"}), str(vs)))
    return out


def dashboard_exprs(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, expression)`` for every panel target and every query variable."""

    def walk(panels: list[Any]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                if "expr" in target:
                    yield f"panel {panel.get('title')!r} {target.get('refId')}", target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard.get("panels", []))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]
            text = query.get("query", "") if isinstance(query, dict) else str(query)
            yield f"variable {var['name']!r}", text


def alert_exprs(rule_objects: list[Obj]) -> Iterator[tuple[str, str]]:
    for obj in rule_objects:
        for group in obj["spec"]["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                yield f"{obj['metadata']['name']}/{group['name']}/{name}", rule["expr"]
