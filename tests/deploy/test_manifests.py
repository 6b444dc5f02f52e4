"""What the rendered manifests promise beyond their schemas: probes on the real admin ports,
hardened pods, graceful shutdown, autoscaling and disruption budgets, network isolation,
consistent config, and a single-writer embedded ClickHouse."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.deploy.support import (
    GRPC_SERVICES,
    HPA_SERVICES,
    NAME_LABEL,
    PORT_PREFIX,
    PROBE_PATHS,
    PUBLIC_SERVICES,
    SECRET_TEMPLATE,
    SERVICES,
    SERVICES_DIR,
    Obj,
    Rendered,
    container_port,
    load_yaml_file,
    main_container,
    pod_labels,
    pod_spec,
    selector_matches,
    settings_default,
)

PRESTOP_AND_MARGIN_S = 5


def _deployments(rendered: Rendered) -> dict[str, Obj]:
    return {d["metadata"]["name"]: d for d in rendered.of_kind("Deployment")}


def _workloads(rendered: Rendered) -> list[Obj]:
    return rendered.of_kind("Deployment") + rendered.of_kind("Job")


def test_a_deployment_and_service_per_service(each: Rendered) -> None:
    deployments = _deployments(each)
    for name in SERVICES:
        deployment = deployments[name]
        assert main_container(deployment)["args"] == [f"services.{name}"]
        service = each.get("Service", name)
        assert selector_matches(
            {"matchLabels": service["spec"]["selector"]}, pod_labels(deployment)
        )


@pytest.mark.parametrize("service", SERVICES)
def test_ports_match_settings_defaults(each: Rendered, service: str) -> None:
    if not (Path(__file__).resolve().parents[2] / "services" / service / "settings.py").exists():
        pytest.skip(f"services/{service} has not landed yet")
    container = main_container(_deployments(each)[service])
    public_name = "http" if service in PUBLIC_SERVICES else "grpc"
    prefix = PORT_PREFIX[service]
    admin_default = settings_default(service, f"{prefix}_ADMIN_PORT")
    public_default = settings_default(service, f"{prefix}_PORT")
    if admin_default is None or public_default is None:
        pytest.fail(f"services/{service}/settings.py defines no {prefix}_PORT/{prefix}_ADMIN_PORT")
    assert container_port(container, "admin") == admin_default
    assert container_port(container, public_name) == public_default
    env_names = {e["name"] for e in container.get("env", [])}
    assert not env_names & {f"{prefix}_PORT", f"{prefix}_ADMIN_PORT"}, "ports must stay defaults"
    service_ports = {p["name"]: p for p in each.get("Service", service)["spec"]["ports"]}
    assert service_ports["admin"]["targetPort"] == "admin"
    assert service_ports[public_name]["targetPort"] == public_name
    assert service_ports[public_name]["port"] == public_default


@pytest.mark.parametrize("service", SERVICES)
def test_probes_hit_health_paths_on_the_admin_port(each: Rendered, service: str) -> None:
    container = main_container(_deployments(each)[service])
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        if kind not in container:
            continue
        probe = container[kind]["httpGet"]
        assert probe["path"] in PROBE_PATHS
        port = probe["port"]
        assert port == "admin" or port == container_port(container, "admin"), (service, kind)


def test_workloads_have_resources_and_hardened_security_context(each: Rendered) -> None:
    for workload in _workloads(each):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False, name
        pod_ctx = spec["securityContext"]
        assert pod_ctx["runAsNonRoot"] is True, name
        assert pod_ctx["runAsUser"] == 10001, name
        assert pod_ctx["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), f"{where}: {bound}"
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in ctx["capabilities"], where
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault", where


def test_images_are_pinned(overlay: Rendered) -> None:
    for obj in (
        overlay.of_kind("Deployment") + overlay.of_kind("Job") + overlay.of_kind("StatefulSet")
    ):
        for container in pod_spec(obj)["containers"]:
            image = container["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{obj['metadata']['name']}: unpinned image {image}"


@pytest.mark.parametrize("service", SERVICES)
def test_shutdown_fits_in_the_grace_period(each: Rendered, service: str) -> None:
    deployment = _deployments(each)[service]
    container = main_container(deployment)
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    assert pre_stop >= 3, "endpoints need a few seconds to drop the pod"
    grace = float(
        each.config().get("SHUTDOWN_GRACE_S") or settings_default(service, "SHUTDOWN_GRACE_S") or 0
    )
    assert grace > 0
    flush = settings_default(service, "REDIRECT_FLUSH_TIMEOUT_S") or 0.0
    needed = pre_stop + grace + flush + PRESTOP_AND_MARGIN_S
    assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= needed


def test_hpas_and_replicas(each: Rendered) -> None:
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in each.of_kind("HorizontalPodAutoscaler")}
    deployments = _deployments(each)
    if each.name == "overlays/dev":
        assert not hpas, "dev runs single replicas"
        for name, deployment in deployments.items():
            assert deployment["spec"]["replicas"] == 1, name
        return
    assert set(hpas) == set(HPA_SERVICES)
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert name in deployments
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns replicas"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_every_deployment_has_a_pdb(each: Rendered) -> None:
    pdbs = each.of_kind("PodDisruptionBudget")
    for name, deployment in _deployments(each).items():
        matching = [
            p for p in pdbs if selector_matches(p["spec"]["selector"], pod_labels(deployment))
        ]
        assert len(matching) == 1, f"{name}: {len(matching)} PodDisruptionBudgets"
        assert matching[0]["spec"].get("maxUnavailable") == 1, "one replica must stay drainable"


def test_embedded_clickhouse_is_a_single_writer(each: Rendered) -> None:
    analytics = _deployments(each)["analytics"]
    claims = [v for v in pod_spec(analytics)["volumes"] if "persistentVolumeClaim" in v]
    if claims:
        assert analytics["spec"]["replicas"] == 1
        assert analytics["spec"]["strategy"]["type"] == "Recreate"
        for claim in claims:
            assert each.find("PersistentVolumeClaim", claim["persistentVolumeClaim"]["claimName"])
        assert "analytics" not in {
            h["spec"]["scaleTargetRef"]["name"] for h in each.of_kind("HorizontalPodAutoscaler")
        }
    else:
        assert not each.of_kind("PersistentVolumeClaim"), "a PVC nothing mounts"
        assert analytics["spec"]["strategy"]["type"] == "RollingUpdate"


def test_dev_uses_in_cluster_backing_servers(rendered: dict[str, Rendered]) -> None:
    dev, prod = rendered["overlays/dev"], rendered["overlays/prod"]
    statefulsets = {s["metadata"]["name"]: s for s in dev.of_kind("StatefulSet")}
    assert set(statefulsets) == {"postgres", "rabbitmq", "clickhouse"}
    for name, sts in statefulsets.items():
        assert sts["spec"]["volumeClaimTemplates"], name
        assert dev.get("Service", name)["spec"]["clusterIP"] == "None"
    secret = dev.generated("Secret", "qrforge-secrets")
    assert not prod.of_kind("StatefulSet")
    assert not prod.of_kind("Secret"), "prod secrets come from outside kustomize"
    assert secret  # dev ships development values


def test_secret_references_exist(rendered: dict[str, Rendered]) -> None:
    (template,) = load_yaml_file(SECRET_TEMPLATE)
    template_keys = set(template["stringData"])
    dev_secret = rendered["overlays/dev"].generated("Secret", "qrforge-secrets")
    dev_keys = set(dev_secret.get("data", {})) | set(dev_secret.get("stringData", {}))
    for target, each in rendered.items():
        for workload in _workloads(each):
            for container in pod_spec(workload)["containers"]:
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if not ref or not ref["name"].startswith("qrforge-secrets"):
                        continue
                    assert ref["key"] in template_keys, f"{target}: {ref['key']} not in template"
                    if target == "overlays/dev" and not ref.get("optional"):
                        assert ref["key"] in dev_keys, f"dev secret lacks {ref['key']}"


def test_ingress_hosts_match_public_urls(each: Rendered) -> None:
    """The gateway's one host; the redirect's: every short domain (REDIRECT_BASE_URL's and
    SHORT_DOMAINS'), one rule each."""
    config = each.config()
    short_domains = [config["REDIRECT_BASE_URL"], *config.get("SHORT_DOMAINS", "").split(",")]
    for service, urls in (
        ("gateway", [config["PUBLIC_BASE_URL"]]),
        ("redirect", [u.strip() for u in short_domains if u.strip()]),
    ):
        parsed = {urlparse(url).hostname or "": urlparse(url) for url in urls}
        ingress = each.get("Ingress", service)
        rules = ingress["spec"]["rules"]
        assert sorted(rule["host"] for rule in rules) == sorted(parsed), f"{service}: hosts"
        tls_hosts = {h for t in ingress["spec"].get("tls", []) for h in t["hosts"]}
        for rule in rules:
            (path,) = rule["http"]["paths"]
            backend = path["backend"]["service"]
            assert backend == {"name": service, "port": {"name": "http"}}
            url = parsed[rule["host"]]
            assert (url.scheme == "https") == (url.hostname in tls_hosts), f"{url} scheme vs TLS"
    assert {i["metadata"]["name"] for i in each.of_kind("Ingress")} == set(PUBLIC_SERVICES)


def test_grpc_addresses_point_at_the_services(each: Rendered) -> None:
    """Through DNS on headless Services: the gateway's round_robin sees every pod."""
    config = each.config()
    for service in GRPC_SERVICES:
        address = config[f"{service.upper()}_ADDR"]
        assert address.startswith("dns:///"), address
        host, _, port = address.removeprefix("dns:///").rpartition(":")
        spec = each.get("Service", host)["spec"]
        ports = {p["name"]: p["port"] for p in spec["ports"]}
        assert host == service
        assert int(port) == ports["grpc"]
        assert spec.get("clusterIP") == "None"


def test_internal_grpc_needs_the_token_and_listens_beyond_loopback(each: Rendered) -> None:
    """The gRPC servers and their one client (the gateway) get GRPC_AUTH_TOKEN from the Secret
    and nothing else holds it; every listener binds beyond loopback, the services' default."""
    config = each.config()
    assert "GRPC_AUTH_TOKEN" not in config, "a secret, never in the ConfigMap"
    assert config["GRPC_HOST"] == "0.0.0.0"
    assert config["ADMIN_HOST"] == "0.0.0.0"
    for name, deployment in _deployments(each).items():
        container = main_container(deployment)
        assert {"configMapRef": {"name": "qrforge-config"}} in container["envFrom"], name
        settings = (SERVICES_DIR / name / "settings.py").read_text(encoding="utf-8")
        assert '"ADMIN_HOST"' in settings, name
        env = {e["name"]: e for e in container.get("env", [])}
        if name not in (*GRPC_SERVICES, "gateway"):
            assert "GRPC_AUTH_TOKEN" not in env, f"{name} calls no gRPC service"
            continue
        ref = env["GRPC_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref["name"].startswith("qrforge-secrets") and ref["key"] == "GRPC_AUTH_TOKEN"
        assert not ref.get("optional"), f"{name}: the token is required"
        if name in GRPC_SERVICES:
            assert '"GRPC_HOST"' in settings, name


def test_prod_runs_internal_grpc_over_mutual_tls(rendered: dict[str, Rendered]) -> None:
    """The gRPC servers and the gateway read their certificate from the Secret qrforge-grpc-tls
    (cert-manager's file names); the redirect, which calls no gRPC service, does not."""
    deployments = _deployments(rendered["overlays/prod"])
    for name, deployment in deployments.items():
        volumes = {v["name"]: v for v in pod_spec(deployment).get("volumes", [])}
        if name not in (*GRPC_SERVICES, "gateway"):
            assert "grpc-tls" not in volumes, name
            continue
        assert volumes["grpc-tls"]["secret"]["secretName"] == "qrforge-grpc-tls", name
        container = main_container(deployment)
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "grpc-tls"]
        assert mount["readOnly"] is True, name
        env = {e["name"]: e.get("value") for e in container["env"]}
        for var, file in (
            ("GRPC_TLS_CA", "ca.crt"),
            ("GRPC_TLS_CERT", "tls.crt"),
            ("GRPC_TLS_KEY", "tls.key"),
        ):
            assert env[var] == f"{mount['mountPath']}/{file}", (name, var)


# --- network policies ---------------------------------------------------------------------------


def _policies_for(each: Rendered, labels: dict[str, str]) -> list[Obj]:
    return [
        p
        for p in each.of_kind("NetworkPolicy")
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and selector_matches(p["spec"]["podSelector"], labels)
    ]


def _rules_reaching(each: Rendered, deployment: Obj, port_name: str) -> list[Obj]:
    container = main_container(deployment)
    port_number = container_port(container, port_name)
    rules = []
    for policy in _policies_for(each, pod_labels(deployment)):
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if not ports or any(p.get("port") in (port_name, port_number, None) for p in ports):
                rules.append(rule)
    return rules


def test_ingress_is_denied_by_default(each: Rendered) -> None:
    deny = [
        p
        for p in each.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and p["spec"]["policyTypes"] == ["Ingress"]
        and not p["spec"].get("ingress")
    ]
    assert len(deny) == 1


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_only_the_gateway_reaches_internal_grpc(each: Rendered, service: str) -> None:
    deployments = _deployments(each)
    gateway_labels = pod_labels(deployments["gateway"])
    rules = _rules_reaching(each, deployments[service], "grpc")
    assert rules, f"nothing may reach {service}: the gateway must"
    for rule in rules:
        peers = rule.get("from")
        assert peers, f"{service}: a rule open to everyone"
        for peer in peers:
            assert set(peer) == {"podSelector"}, f"{service}: only same-namespace pods: {peer}"
            assert peer["podSelector"] == {"matchLabels": {NAME_LABEL: "gateway"}}
            assert selector_matches(peer["podSelector"], gateway_labels)
    # And the admin port only from the monitoring namespace.
    for rule in _rules_reaching(each, deployments[service], "admin"):
        for peer in rule["from"]:
            if "podSelector" in peer and "namespaceSelector" not in peer:
                assert peer["podSelector"] == {"matchLabels": {NAME_LABEL: "gateway"}}
            else:
                assert peer == {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }


@pytest.mark.parametrize("service", PUBLIC_SERVICES)
def test_public_services_only_from_the_ingress_controller(each: Rendered, service: str) -> None:
    rules = _rules_reaching(each, _deployments(each)[service], "http")
    assert rules
    for rule in rules:
        for peer in rule["from"]:
            assert peer == {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                }
            }


def test_prometheus_may_scrape_every_admin_port(each: Rendered) -> None:
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    for name, deployment in _deployments(each).items():
        rules = _rules_reaching(each, deployment, "admin")
        assert any(
            peer.get("namespaceSelector", {}).get("matchLabels") == monitoring
            for rule in rules
            for peer in rule.get("from", [])
        ), name


# --- Prometheus Operator objects ---------------------------------------------------------------


def test_service_monitor_scrapes_every_admin_port(each: Rendered) -> None:
    (monitor,) = each.of_kind("ServiceMonitor")
    (endpoint,) = [e for e in monitor["spec"]["endpoints"] if e["port"] == "admin"]
    assert endpoint["path"] == "/metrics"
    assert monitor["spec"]["jobLabel"] == NAME_LABEL
    selected = {
        s["metadata"]["name"]
        for s in each.of_kind("Service")
        if selector_matches(monitor["spec"]["selector"], s["metadata"].get("labels", {}))
    }
    assert selected == set(SERVICES)
    for name in selected:
        service = each.get("Service", name)
        assert service["metadata"]["labels"][NAME_LABEL] == name
        assert "admin" in {p["name"] for p in service["spec"]["ports"]}


def test_every_containers_admin_port_is_scraped_under_a_job_of_its_own(each: Rendered) -> None:
    """A second process in a pod (the import worker beside the gateway) has an admin port of
    its own: its Service exposes it, the ServiceMonitor scrapes it (as another job than the
    pod's service), and Prometheus may reach it."""
    (monitor,) = each.of_kind("ServiceMonitor")
    endpoints = {e["port"]: e for e in monitor["spec"]["endpoints"]}
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    sidecars = 0
    for name, deployment in _deployments(each).items():
        for container in pod_spec(deployment)["containers"]:
            for port in container.get("ports", []):
                if port["name"] == "admin" or not port["name"].endswith("admin"):
                    continue
                sidecars += 1
                service_ports = {p["name"]: p for p in each.get("Service", name)["spec"]["ports"]}
                assert service_ports[port["name"]]["targetPort"] == port["name"], name
                endpoint = endpoints[port["name"]]
                assert endpoint["path"] == "/metrics"
                [job] = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
                assert job["replacement"] not in SERVICES
                assert any(
                    peer.get("namespaceSelector", {}).get("matchLabels") == monitoring
                    and any(
                        p.get("port") in (port["name"], port["containerPort"])
                        for p in rule.get("ports", [])
                    )
                    for policy in _policies_for(each, pod_labels(deployment))
                    for rule in policy["spec"].get("ingress", [])
                    for peer in rule.get("from", [])
                ), (name, port["name"])
    assert sidecars >= 1  # the import worker's


def test_alert_rules_are_complete(each: Rendered) -> None:
    (rules,) = each.of_kind("PrometheusRule")
    alerts = [r for g in rules["spec"]["groups"] for r in g["rules"] if "alert" in r]
    names = {a["alert"] for a in alerts}
    assert {
        "QRForgeScanBacklog",
        "QRForgeRedirectPublishFailures",
        "QRForgeGatewayHigh5xxRate",
        "QRForgeRenderLatencyP99High",
    } <= names
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        assert {"summary", "description"} <= set(alert["annotations"]), alert["alert"]
