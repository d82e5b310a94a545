"""deploy/kubernetes: each overlay renders, every manifest is valid against Kubernetes' own schemas
(kubernetes-validate, which bundles them), and the settings a safe rollout depends on are in each: probes on
/readyz and /healthz, a preStop pause, a termination grace longer than the gateway's own drain, the restricted
security context, writable /data and /tmp only, and the YAML config the gateway accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from ocigate.config.settings import load_settings
from tests.support.kubernetes import OVERLAYS, env_of, image_user, one, render

KINDS = {
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "Deployment",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
}
# The oldest Kubernetes the manifests are written for (autoscaling/v2, policy/v1: 1.23+), and the newest schemas.
VERSIONS = ("1.27", kubernetes_validate.latest_version())


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    name: str = request.param
    return name, render(name)


def test_every_manifest_is_valid_against_kubernetes_schemas(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = overlay
    assert KINDS <= {doc["kind"] for doc in docs}, name
    for doc in docs:
        for version in VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)  # raises, naming the field


def test_an_invalid_manifest_is_refused() -> None:
    """The validator is not a formality: a misspelt field fails it."""
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": []}},
            VERSIONS[-1],
            strict=True,
        )


def pod(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return spec, container


def test_probes_drain_and_grace(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = overlay
    spec, container = pod(docs)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    grace = float(env_of(container)["OCIGATE_GRACE_PERIOD"]["value"])
    assert spec["terminationGracePeriodSeconds"] > float(pause[1]) + grace


def test_restricted_security_context(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = overlay
    spec, container = pod(docs)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == image_user()  # the Containerfile's USER
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/data", "/tmp"}
    assert env_of(container)["OCIGATE_MASTER_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "ocigate-secrets"


def test_the_config_map_is_a_configuration_the_gateway_accepts(
    overlay: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    _, docs = overlay
    spec, container = pod(docs)
    config_map = one(docs, "ConfigMap")
    mounted = next(v for v in spec["volumes"] if v["name"] == "config")
    assert mounted["configMap"]["name"] == config_map["metadata"]["name"]  # the generated, hashed name
    path = tmp_path / "config.yaml"
    path.write_text(config_map["data"]["config.yaml"])
    assert env_of(container)["OCIGATE_CONFIG"]["value"] == "/etc/ocigate/config.yaml"
    env = {"ORACLE_REGION": "us-chicago-1", "ORACLE_API_KEY": "sk-test", "OCIGATE_MASTER_KEY": "m"}
    settings = load_settings(env, config_file=str(path), host="0.0.0.0")
    assert settings.errors == ()
    assert [p.name for p in settings.providers] == ["oracle"]


def test_single_is_one_replica_on_a_volume() -> None:
    docs = render("single")
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # a ReadWriteOnce volume is never shared
    spec, container = pod(docs)
    data = next(v for v in spec["volumes"] if v["name"] == "data")
    claim = one(docs, "PersistentVolumeClaim")["metadata"]["name"]
    assert data == {"name": "data", "persistentVolumeClaim": {"claimName": claim}}
    assert "OCIGATE_DATABASE_URL" not in env_of(container)
    hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] == hpa["maxReplicas"] == 1


def test_ha_shares_postgres_and_redis_from_secrets() -> None:
    docs = render("ha")
    assert one(docs, "Deployment")["spec"]["replicas"] > 1
    _, container = pod(docs)
    env = env_of(container)
    for name in ("OCIGATE_DATABASE_URL", "OCIGATE_REDIS_URL"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "ocigate-secrets"
    hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
    assert 1 < hpa["minReplicas"] < hpa["maxReplicas"]
    budget = one(docs, "PodDisruptionBudget")["spec"]
    assert budget == {"minAvailable": 2, "selector": budget["selector"]}


def test_network_policy_egress(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = overlay
    policy = one(docs, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    ports = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule.get("ports", [])}
    assert {("UDP", 53), ("TCP", 53), ("TCP", 443)} <= ports
    assert (("TCP", 5432) in ports and ("TCP", 6379) in ports) == (name == "ha")
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert policy["podSelector"]["matchLabels"] == selector
