"""``deploy/docker-compose.yml`` holds together without Docker: parsed, and checked against the code.

No Docker engine runs here, so the file is checked for what would break it:
every process is a real ``tubestream`` command, the same replicas with the
same ports as ``tubestream up --distributed``, every variable a setting that
``deploy/settings.py`` reads (and the settings it builds point at the
compose services), dependencies that exist and wait on health checks, and
images at the versions the local servers run.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from deploy.cli.main import build_parser
from deploy.local_elasticsearch import ES_VERSION
from deploy.settings import Settings
from deploy.up import Backends, cluster_components
from views.cassandra_cluster import CassandraSettings

from harness import REPO

COMPOSE = REPO / "deploy" / "docker-compose.yml"
SERVERS = {"kafka", "cassandra", "elasticsearch", "minio"}
ONE_SHOT = {"topics", "migrate", "bucket"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert set(document["volumes"]) >= {"kafka-data", "cassandra-data", "tubestream-home"}
    return dict(document["services"])


def _tubestream(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s.get("image") == "tubestream:local"}


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def _settings_names() -> set[str]:
    """Every variable ``Settings.from_env`` reads, from its source (the one place that reads any)."""
    source = (REPO / "deploy" / "settings.py").read_text()
    return set(re.findall(r'"((?:TUBESTREAM|KAFKA)_[A-Z0-9_]+)"', source))


def test_every_service_has_an_image_and_the_stack_is_whole(services: dict[str, dict[str, Any]]) -> None:
    assert all(s.get("image") for s in services.values()), [
        n for n, s in services.items() if not s.get("image")
    ]
    assert set(services) >= SERVERS | ONE_SHOT
    built = _tubestream(services)
    assert all(s["build"]["dockerfile"] == "deploy/Dockerfile" for s in built.values())
    assert (REPO / "deploy" / "Dockerfile").read_text().count('ENTRYPOINT ["tubestream"]') == 1


def test_the_processes_are_the_replicas_of_up_distributed(services: dict[str, dict[str, Any]]) -> None:
    """Same names, same commands, same ports: the compose file and the script run one cluster."""
    plan = cluster_components(
        Settings.from_env({}),
        Backends(
            catalog_url="cassandra://c/k",
            playback_url="cassandra://c/k",
            search_url="http://e:9200",
            blob_url="s3://b",
        ),
    )
    processes = {n: s for n, s in _tubestream(services).items() if n not in ONE_SHOT}
    assert set(processes) == {c.name for c in plan}
    for component in plan:
        service = processes[component.name]
        assert service["command"] == list(component.argv[3:]), component.name
        ports = {k: v for k, v in component.env.items() if k.endswith("_PORT")}
        assert {k: v for k, v in _env(service).items() if k.endswith("_PORT")} == ports, component.name
        for port in ports.values():  # published on the host at the same number
            assert f"127.0.0.1:{port}:{port}" in service["ports"], component.name
        assert service["restart"] == "unless-stopped"


def test_every_command_is_a_real_tubestream_subcommand(services: dict[str, dict[str, Any]]) -> None:
    parser = build_parser()
    for name, service in _tubestream(services).items():
        args = parser.parse_args(service["command"])
        assert getattr(args, "handler", None) is not None, name


def test_the_variables_are_settings_and_point_at_the_compose_services(
    services: dict[str, dict[str, Any]],
) -> None:
    known = _settings_names()
    assert {"TUBESTREAM_CATALOG_URL", "KAFKA_BOOTSTRAP", "TUBESTREAM_MINIO_PORT"} <= known  # the regex works
    kafka_listeners = _env(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    minio = _env(services["minio"])
    for name, service in _tubestream(services).items():
        env = _env(service)
        assert set(env) <= known, f"{name}: {sorted(set(env) - known)} are not read by deploy/settings.py"
        settings = Settings.from_env(env)
        assert not settings.local_kafka and f"//{settings.kafka.bootstrap}" in kafka_listeners, name
        for url in (settings.catalog_url, settings.playback_url):
            cassandra = CassandraSettings.from_url(url)
            assert cassandra.contact_points == (("cassandra", 9042),), name
        assert urlsplit(settings.search_url).netloc == "elasticsearch:9200", name
        blob = urlsplit(settings.blob_url)
        assert parse_qs(blob.query)["endpoint"] == ["http://minio:9000"], name
        assert f"local/{blob.netloc}" in " ".join(services["bucket"]["command"]), name  # the bucket it makes
        assert (settings.s3_access_key, settings.s3_secret_key) == (
            minio["MINIO_ROOT_USER"],
            minio["MINIO_ROOT_PASSWORD"],
        )
        assert str(settings.home) == "/data" and "tubestream-home:/data" in service["volumes"], name


def test_dependencies_exist_and_wait_for_health(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, condition in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on a missing {target}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[target], (
                    f"{name} waits for {target}, which has no healthcheck"
                )
            else:
                assert condition["condition"] == "service_completed_successfully"
                assert target in ONE_SHOT and services[target]["restart"] == "no", (name, target)
    for name in set(_tubestream(services)) - ONE_SHOT:
        needs = set(services[name]["depends_on"])
        assert needs >= {"kafka", "topics", "migrate", "bucket"}, name  # never before the topics and schema
    assert set(services["migrate"]["depends_on"]) == {"cassandra"}
    assert services["topics"]["command"] == ["topics", "apply"]
    assert services["migrate"]["command"] == ["views", "migrate"]


def test_host_ports_are_distinct_and_healthchecks_probe_their_own_port(
    services: dict[str, dict[str, Any]],
) -> None:
    published = [p for s in services.values() for p in s.get("ports", [])]
    host_ports = [p.rsplit(":", 2)[-2] for p in published]
    assert len(host_ports) == len(set(host_ports)), published
    for name, service in _tubestream(services).items():
        if "healthcheck" not in service:
            continue
        probe = " ".join(service["healthcheck"]["test"])
        named = re.search(r"environ\['(TUBESTREAM_[A-Z_]+_PORT)'\]", probe)
        assert named and named.group(1) in _env(service), name


def test_the_images_run_the_local_servers_versions(services: dict[str, dict[str, Any]]) -> None:
    kafka_pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    cassandra_pom = (REPO / "deploy" / "cassandra" / "pom.xml").read_text()
    assert f"<kafka.version>{services['kafka']['image'].split(':')[1]}</kafka.version>" in kafka_pom
    assert (
        f"<cassandra.version>{services['cassandra']['image'].split(':')[1]}</cassandra.version>"
        in cassandra_pom
    )
    assert services["elasticsearch"]["image"].endswith(f":{ES_VERSION}")
