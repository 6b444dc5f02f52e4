"""The dashboard and the alerts use only metrics (and labels) the services really define."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy.support import (
    BUILTIN_SERIES,
    DASHBOARD,
    SERVICES,
    TARGET_LABELS,
    MetricDef,
    Rendered,
    alert_exprs,
    dashboard_exprs,
    defined_metrics,
    grafana_to_promql,
    selectors,
)

# Metrics the dashboard/alerts may use before a service being written defines them; each must
# leave this set once it exists (test_pending_metrics_are_still_pending says when). Empty now.
# Metrics a panel or alert may use before the service defining them lands (none now).
PENDING_METRICS: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def metrics() -> dict[str, MetricDef]:
    return defined_metrics()


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _check(where: str, expr: str, metrics: dict[str, MetricDef]) -> list[str]:
    problems: list[str] = []
    try:
        found = selectors(expr)
    except ValueError as err:
        return [f"{where}: does not parse: {err}"]
    for sel in found:
        if sel.metric is None:
            problems.append(f"{where}: selector without a metric name: {sel.text}")
            continue
        if sel.metric in PENDING_METRICS:
            continue  # its labels are checked once its service lands
        if sel.metric in BUILTIN_SERIES:
            allowed = TARGET_LABELS
        elif sel.metric in metrics:
            metric = metrics[sel.metric]
            allowed = TARGET_LABELS | set(metric.labels)
            if sel.metric.endswith("_bucket"):
                allowed |= {"le"}
        else:
            problems.append(f"{where}: {sel.metric} is exported by no service")
            continue
        if unknown := sel.labels - allowed:
            problems.append(f"{where}: {sel.metric} has no label(s) {sorted(unknown)}")
    return problems


def test_metric_parser_finds_the_shared_metrics(metrics: dict[str, MetricDef]) -> None:
    assert metrics["qrforge_http_requests_total"].labels == ("route", "method", "status")
    assert "qrforge_http_request_duration_seconds_bucket" in metrics
    assert "qrforge_grpc_server_request_duration_seconds_count" in metrics
    assert "qrforge_keys_authentications_total" in metrics


def test_checker_rejects_unknown_metrics_and_labels(metrics: dict[str, MetricDef]) -> None:
    assert _check("t", "rate(qrforge_nope_total[5m])", metrics)
    assert _check("t", 'rate(qrforge_http_requests_total{code="500"}[5m])', metrics)
    assert _check("t", "sum(rate(qrforge_http_requests_total[5m])", metrics)
    assert not _check("t", 'rate(qrforge_http_requests_total{status=~"5..",job="x"}[5m])', metrics)


def test_alerts_use_real_metrics(each: Rendered, metrics: dict[str, MetricDef]) -> None:
    problems = [
        p
        for where, e in alert_exprs(each.of_kind("PrometheusRule"))
        for p in _check(where, e, metrics)
    ]
    assert not problems, "\n".join(problems)


def test_dashboard_uses_real_metrics(
    dashboard: dict[str, Any], metrics: dict[str, MetricDef]
) -> None:
    exprs = list(dashboard_exprs(dashboard))
    assert len(exprs) >= 10
    problems = [p for where, e in exprs for p in _check(where, grafana_to_promql(e), metrics)]
    assert not problems, "\n".join(problems)


def test_job_matchers_name_services(each: Rendered, dashboard: dict[str, Any]) -> None:
    exprs = [e for _, e in alert_exprs(each.of_kind("PrometheusRule"))]
    exprs += [grafana_to_promql(e) for _, e in dashboard_exprs(dashboard)]
    for expr in exprs:
        for part in expr.split('job="')[1:]:
            assert part.split('"')[0] in SERVICES, expr


def test_pending_metrics_are_still_pending(metrics: dict[str, MetricDef]) -> None:
    defined = sorted(PENDING_METRICS & set(metrics))
    assert not defined, f"now defined by the services, drop them from PENDING_METRICS: {defined}"


def test_dashboard_shape(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "qrforge-overview"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert 'namespace="$namespace"' in target["expr"], panel["title"]


def test_dashboard_ships_as_a_sidecar_config_map(each: Rendered) -> None:
    config_map = each.get("ConfigMap", "qrforge-grafana-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["data"]["qrforge.json"] == DASHBOARD.read_text(encoding="utf-8")
