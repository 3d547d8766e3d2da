"""The production deployment files (deploy/compose, deploy/k8s, Dockerfile) are valid and agree
with the code: every Kubernetes manifest passes the API's JSON schemas (kubernetes-validate,
offline), `docker compose config` accepts the compose file, every ZW_* variable the settings
classes read is documented in deploy/OPERATIONS.md, and the deployments set no variable that
nothing reads."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
OPERATIONS = DEPLOY / "OPERATIONS.md"
PACKAGES = ("zonewatch", "ingest", "streams", "alerts", "schemas")
K8S_VERSIONS = ("1.29.0", "1.37.0")
"""The oldest Kubernetes these manifests claim to support, and the newest schemas shipped."""
NOT_SETTINGS = {"ZW_RUN", "ZW_CACHE"}
"""Read outside a settings class: the demo's run folder (zonewatch/demo_cmd.py), and the
download/build cache of the Makefile and the scripts (deploy/docker/install-compose.sh)."""
ZW_NAME = re.compile(r"\bZW_[A-Z0-9_]*[A-Z0-9]\b")
ZONEWATCH_SERVICES = ("registry-load", "ingest-1", "ingest-2", "worker")


# --- the variables the code reads ---------------------------------------------------------
SETTINGS_CLASS = re.compile(r"^class\s+\w+\([^)]*Settings\b", re.MULTILINE)


def _settings_classes() -> Iterator[type[BaseSettings]]:
    """Every BaseSettings subclass defined in the project's packages (only the modules that
    define a class deriving from some `…Settings` are imported)."""
    for package in PACKAGES:
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            path = ROOT / Path(*info.name.split("."))
            source = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
            if not SETTINGS_CLASS.search(source.read_text(encoding="utf-8")):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, BaseSettings)
                        and value is not BaseSettings and value.__module__ == module.__name__):
                    yield value


def _env_names(cls: type[BaseSettings]) -> set[str]:
    """The variables a settings class reads: prefix + field name, nested settings classes
    (built by their default factory) with their own prefix."""
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in cls.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            names |= _env_names(kind)
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


@cache
def settings_env() -> frozenset[str]:
    names = set().union(*(_env_names(cls) for cls in _settings_classes()))
    return frozenset(n for n in names if n.startswith("ZW_"))


@cache
def known_env() -> frozenset[str]:
    return settings_env() | NOT_SETTINGS


def test_the_settings_classes_are_found() -> None:
    names = settings_env()
    for expected in ("ZW_MQTT_URL", "ZW_KAFKA_URL", "ZW_INFLUX_TOKEN", "ZW_WEB_PORT",
                     "ZW_TOKENS_FILE", "ZW_ROUTES_FILE", "ZW_ALERTMANAGER_URL",
                     "ZW_MQTT_CLIENT_ID", "ZW_TOPIC_READINGS"):
        assert expected in names


def test_every_variable_is_documented_in_the_operations_guide() -> None:
    documented = set(ZW_NAME.findall(OPERATIONS.read_text(encoding="utf-8")))
    missing = sorted(settings_env() - documented)
    assert not missing, f"deploy/OPERATIONS.md does not document {missing}"
    unknown = sorted(documented - known_env())
    assert not unknown, f"deploy/OPERATIONS.md documents variables nothing reads: {unknown}"


def _deployment_files() -> list[Path]:
    """The files of deploy/compose, deploy/k8s and deploy/docker, and the Dockerfile; of
    deploy/compose/secrets only the README and the examples (the rest are real secrets)."""
    found = [p for d in (COMPOSE_DIR, K8S, DEPLOY / "docker") for p in d.rglob("*")
             if p.is_file() and (p.parent.name != "secrets" or p.suffix in (".example", ".md"))]
    return sorted(p.relative_to(ROOT) for p in [*found, ROOT / "Dockerfile"])


@pytest.mark.parametrize("path", _deployment_files(), ids=str)
def test_deployment_files_name_only_real_variables(path: Path) -> None:
    names = set(ZW_NAME.findall((ROOT / path).read_text(encoding="utf-8")))
    unknown = sorted(names - known_env())
    assert not unknown, f"{path} names variables that no settings class reads: {unknown}"


# --- Kubernetes -----------------------------------------------------------------------------
def _k8s_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@cache
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _generated_config_maps() -> list[dict[str, Any]]:
    """What kustomize's configMapGenerator makes (without the hash suffix)."""
    maps = []
    for gen in kustomization().get("configMapGenerator", []):
        data = {}
        for entry in gen.get("files", []):
            key, _, rel = entry.rpartition("=") if "=" in entry else (Path(entry).name, "", entry)
            data[key] = (K8S / rel).read_text(encoding="utf-8")
        maps.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": gen["name"], "namespace": kustomization()["namespace"]},
                     "data": data})
    return maps


@cache
def k8s_objects() -> tuple[dict[str, Any], ...]:
    """Every object: the kustomization's resources, its generated ConfigMaps, the Secret
    templates."""
    objects = [d for p in _manifest_files() for d in _k8s_docs(p)]
    return (*objects, *_generated_config_maps())


def _validator() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is not installed: it belongs in the dev dependencies "
                    "(pyproject.toml, [project.optional-dependencies] dev)")
    return kubernetes_validate


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: p.name)
def test_manifests_match_the_kubernetes_schemas(path: Path, version: str) -> None:
    kv = _validator()
    docs = _k8s_docs(path)
    assert docs, f"{path.name} holds no object"
    for doc in docs:
        where = f"{path.name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            pytest.fail(f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}")
        except kv.SchemaNotFoundError as e:
            pytest.fail(f"{where}: {e.message}")


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_generated_config_maps_match_the_schemas(version: str) -> None:
    kv = _validator()
    for doc in _generated_config_maps():
        kv.validate(doc, version, strict=True)


def test_the_schema_validator_rejects_a_broken_manifest() -> None:
    """The check above would catch a typo: an unknown field, a wrong type."""
    kv = _validator()
    worker = next(o for o in k8s_objects() if o["kind"] == "Deployment")
    typo = json.loads(json.dumps(worker))
    typo["spec"]["replica"] = typo["spec"].pop("replicas")
    wrong = json.loads(json.dumps(worker))
    wrong["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    for broken in (typo, wrong):
        with pytest.raises(kv.ValidationError):
            kv.validate(broken, K8S_VERSIONS[0], strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = kustomization()["resources"]
    for name in listed:
        assert (K8S / name).is_file(), f"kustomization.yaml lists missing {name}"
    expected = {p.name for p in _manifest_files()} - {"secrets.template.yaml"}
    assert set(listed) == expected
    assert kustomization()["namespace"] == "zonewatch"


def _object(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for o in k8s_objects():
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]


def _container(kind: str, name: str) -> dict[str, Any]:
    (container,) = _object(kind, name)["spec"]["template"]["spec"]["containers"]
    return container


def _secret_keys() -> dict[str, set[str]]:
    return {o["metadata"]["name"]: set(o.get("stringData", {})) | set(o.get("data", {}))
            for o in k8s_objects() if o["kind"] == "Secret"}


def _config_map_keys() -> dict[str, set[str]]:
    return {o["metadata"]["name"]: set(o.get("data", {}))
            for o in k8s_objects() if o["kind"] == "ConfigMap"}


def test_every_reference_to_a_config_map_or_secret_resolves() -> None:
    maps, secrets = _config_map_keys(), _secret_keys()
    for pod, spec in _pod_specs():
        for vol in spec.get("volumes", []):
            if "configMap" in vol:
                assert vol["configMap"]["name"] in maps, (pod, vol)
            if "secret" in vol:
                assert vol["secret"]["secretName"] in secrets, (pod, vol)
        for c in spec["containers"]:
            for src in c.get("envFrom", []):
                assert src["configMapRef"]["name"] in maps, (pod, src)
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    key = ref["secretKeyRef"]
                    assert key["key"] in secrets.get(key["name"], set()), (pod, env)
                if "configMapKeyRef" in ref:
                    key = ref["configMapKeyRef"]
                    assert key["key"] in maps.get(key["name"], set()), (pod, env)


def test_secret_templates_hold_placeholders_only() -> None:
    for secret in _k8s_docs(K8S / "secrets.template.yaml"):
        assert secret["kind"] == "Secret" and "data" not in secret
        for key, value in secret["stringData"].items():
            assert "REPLACE-ME" in value, f"{secret['metadata']['name']}.{key} is not a placeholder"
    for o in k8s_objects():
        if o["kind"] == "ConfigMap":
            for key in o.get("data", {}):
                assert not re.search(r"TOKEN$|PASSWORD|SECRET", key), f"secret {key} in a ConfigMap"


def test_kubernetes_sets_only_real_variables() -> None:
    names = set().union(*_config_map_keys().values(), *_secret_keys().values())
    for _, spec in _pod_specs():
        for c in spec["containers"]:
            names |= {e["name"] for e in c.get("env", [])}
    zw = {n for n in names if n.startswith("ZW_")}
    assert zw, "no ZW_ variable set at all"
    assert not sorted(zw - known_env())


def _port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def test_workers_are_a_scalable_deployment_with_health_probes() -> None:
    worker = _object("Deployment", "zonewatch-worker")
    assert worker["spec"]["replicas"] == 3
    container = _container("Deployment", "zonewatch-worker")
    assert container["args"] == ["worker"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert (get["path"], _port(container, get["port"])) == ("/healthz", 6066), probe
    assert container["resources"]["requests"]["cpu"]
    assert _config_map_keys()["zonewatch-config"] >= {"ZW_WEB_PORT"}
    assert _object("ConfigMap", "zonewatch-config")["data"]["ZW_WEB_PORT"] == "6066"
    labels = worker["spec"]["selector"]["matchLabels"]
    pdb = _object("PodDisruptionBudget", "zonewatch-worker")
    assert pdb["spec"]["selector"]["matchLabels"] == labels
    hpa = _object("HorizontalPodAutoscaler", "zonewatch-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "zonewatch-worker"
    assert hpa["spec"]["minReplicas"] == 3
    partitions = int(_object("ConfigMap", "zonewatch-config")["data"]["ZW_READINGS_PARTITIONS"])
    assert hpa["spec"]["maxReplicas"] <= partitions, "workers beyond the partitions would idle"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    service = _object("Service", "zonewatch-worker")
    assert service["spec"]["selector"] == labels
    assert [p["port"] for p in service["spec"]["ports"]] == [6066]


def test_each_ingest_pod_has_its_own_fixed_client_id_in_one_share_group() -> None:
    ingest = _object("StatefulSet", "zonewatch-ingest")
    assert ingest["spec"]["replicas"] == 2
    container = _container("StatefulSet", "zonewatch-ingest")
    assert container["args"] == ["ingest"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ZW_MQTT_CLIENT_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert _object("ConfigMap", "zonewatch-config")["data"]["ZW_MQTT_SHARE_GROUP"]
    assert _object("PodDisruptionBudget", "zonewatch-ingest")


def test_the_registry_job_loads_the_registry_of_its_config_map() -> None:
    from schemas.registry_check import check_registry_file

    job = _container("Job", "zonewatch-registry-load")
    assert job["args"][:2] == ["registry", "load"]
    (mount,) = [m for m in job["volumeMounts"] if m["name"] == "registry"]
    key = Path(job["args"][2]).relative_to(mount["mountPath"])
    assert str(key) in _config_map_keys()["zonewatch-registry"]
    registry, issues = check_registry_file(K8S / "files" / "registry.yaml")
    assert registry is not None, [str(i) for i in issues]


def test_the_routes_file_of_the_config_map_loads() -> None:
    from alerts.config import load_routes

    url = _object("ConfigMap", "zonewatch-config")["data"]["ZW_ALERTMANAGER_URL"]
    assert load_routes(K8S / "files" / "routes.yaml", alertmanager_url=url, env={}).default


# --- Docker Compose -------------------------------------------------------------------------
def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    docker = shutil.which("docker")
    assert docker, "the docker CLI is not on PATH (it is on the developers' machines and CI's)"
    return subprocess.run([docker, "compose", "-f", str(COMPOSE), "--env-file",
                           str(COMPOSE_DIR / ".env.example"), *args],
                          capture_output=True, text=True, timeout=120, check=False)


@cache
def compose_model() -> dict[str, Any]:
    done = _compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_docker_compose_is_there() -> None:
    docker = shutil.which("docker")
    assert docker, "the docker CLI is not on PATH"
    done = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, ("`docker compose` is missing: install the Compose plugin "
                                  f"(docker-compose-plugin) — {done.stderr.strip()}")


def test_compose_config_accepts_the_file() -> None:
    done = _compose("config", "-q")
    assert done.returncode == 0, done.stderr


def test_compose_runs_every_part() -> None:
    services = compose_model()["services"]
    assert set(services) >= {"mosquitto", "kafka", "influxdb", "grafana", "prometheus",
                             "alertmanager", *ZONEWATCH_SERVICES}
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["registry-load"]["command"][:2] == ["registry", "load"]
    for name, service in services.items():
        if name != "registry-load":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dep, how in service.get("depends_on", {}).items():
            assert dep in services
            assert how["condition"] in ("service_healthy", "service_completed_successfully"), \
                (name, dep)
    for name in ("ingest-1", "ingest-2", "worker"):
        depends = services[name]["depends_on"]
        assert depends["registry-load"]["condition"] == "service_completed_successfully"
        assert depends["kafka"]["condition"] == "service_healthy"


def test_compose_ingest_processes_have_distinct_client_ids_in_one_share_group() -> None:
    services = compose_model()["services"]
    ingest = [s for n, s in services.items() if n.startswith("ingest")]
    assert len(ingest) == 2
    ids = {s["environment"]["ZW_MQTT_CLIENT_ID"] for s in ingest}
    groups = {s["environment"]["ZW_MQTT_SHARE_GROUP"] for s in ingest}
    assert len(ids) == 2 and len(groups) == 1
    assert all(s["command"] == ["ingest"] for s in ingest)


def test_compose_keeps_secrets_out_of_the_environment() -> None:
    model = compose_model()
    for name, service in model["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"TOKEN|PASSWORD|SECRET|PASSWD", key):
                assert key.endswith("_FILE") or value is None, f"{name}: {key} is inline"
    for name in ZONEWATCH_SERVICES[1:]:
        targets = {s["target"] for s in model["services"][name]["secrets"]}
        assert {"ZW_INFLUX_TOKEN", "ZW_MQTT_PASSWORD"} <= targets, name
    worker = model["services"]["worker"]
    targets = {s["target"] for s in worker["secrets"]}
    assert {"tokens.yaml", "routes.yaml"} <= targets
    assert worker["environment"]["ZW_TOKENS_FILE"] == "/run/secrets/tokens.yaml"
    assert worker["environment"]["ZW_ROUTES_FILE"] == "/run/secrets/routes.yaml"
    for secret in model["secrets"].values():
        assert "file" in secret and "environment" not in secret


def test_compose_sets_only_real_variables() -> None:
    services = compose_model()["services"]
    names = set()
    for name in ZONEWATCH_SERVICES:
        names |= set(services[name].get("environment") or {})
        names |= {s["target"] for s in services[name].get("secrets") or []}
    zw = {n for n in names if n.startswith("ZW_")}
    assert {"ZW_MQTT_URL", "ZW_KAFKA_URL", "ZW_INFLUX_URL"} <= zw
    assert not sorted(zw - known_env())


def test_compose_examples_load() -> None:
    from alerts.config import load_routes
    from streams.web.auth import load_tokens

    secrets = COMPOSE_DIR / "secrets"
    assert len(load_tokens(secrets / "tokens.yaml.example")) >= 1
    assert load_routes(secrets / "routes.yaml.example", alertmanager_url="http://am:9093",
                       env={}).default


# --- the image --------------------------------------------------------------------------------
def test_the_image_runs_zonewatch_as_a_non_root_user() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    froms = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert froms and all(f == "python:3.11-slim" for f in froms)
    (user,) = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.split(":")[0] not in ("0", "root")
    (entry,) = [line for line in lines if line.startswith("ENTRYPOINT ")]
    shim = json.loads(entry.removeprefix("ENTRYPOINT "))[-1]
    assert shim == "/usr/local/bin/zonewatch-entrypoint"
    script = (DEPLOY / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert script.rstrip().endswith('exec zonewatch "$@"')
