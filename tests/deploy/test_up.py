"""``tubestream up --distributed``'s plan of processes: replicas, ports, and the backends named by URL."""

from __future__ import annotations

import pytest

from deploy.cli.main import build_parser, main
from deploy.settings import Settings
from deploy.up import RESTART_AFTER_S, Backends, cluster_components, replica_port

BACKENDS = Backends(
    catalog_url="cassandra://10.0.0.5:9042/tubestream?replication=3",
    playback_url="cassandra://10.0.0.5:9042/tubestream?replication=3",
    search_url="http://10.0.0.6:9200",
    blob_url="s3://media?endpoint=http://10.0.0.7:9000",
    s3_access_key="access",
    s3_secret_key="secret-key",
)


def test_two_of_each_process_kind_and_one_trainer() -> None:
    components = cluster_components(Settings.from_env({}), BACKENDS)
    names = [c.name for c in components]
    assert names == [
        "worker-1", "worker-2", "analytics-1", "analytics-2", "transcoder-1", "transcoder-2", "recs",
        "api-1", "collector-1", "uploads-1", "api-2", "collector-2", "uploads-2",
    ]  # fmt: skip
    groups = {c.name: c.group_name for c in components}
    assert groups["analytics-2"] == groups["analytics-1"] == "analytics"
    assert groups["recs"] == "recs"  # a group of its own
    assert {c.restart_after_s for c in components} == {RESTART_AFTER_S}  # each comes back after a crash
    assert RESTART_AFTER_S > 10  # ...after its group's session timeout: the siblings take over first


def test_every_replica_is_a_real_command_pointed_at_the_same_backends() -> None:
    parser = build_parser()
    for component in cluster_components(Settings.from_env({}), BACKENDS):
        assert list(component.argv[1:3]) == ["-m", "deploy.cli"]
        args = parser.parse_args(list(component.argv[3:]))
        assert getattr(args, "handler", None) is not None, component.name
        settings = Settings.from_env(component.env)  # what the child reads
        assert settings.catalog_url == settings.playback_url == BACKENDS.catalog_url
        assert (settings.search_url, settings.blob_url) == (BACKENDS.search_url, BACKENDS.blob_url)
        assert (settings.s3_access_key, settings.s3_secret_key) == ("access", "secret-key")


def test_the_services_replicas_listen_on_ports_of_their_own() -> None:
    settings = Settings.from_env({"TUBESTREAM_API_PORT": "7000", "TUBESTREAM_COLLECTOR_PORT": "7001"})
    by_name = {c.name: Settings.from_env(c.env) for c in cluster_components(settings, BACKENDS, replicas=3)}
    assert [by_name[f"api-{i}"].api_port for i in (1, 2, 3)] == [7000, 7010, 7020]
    assert [by_name[f"collector-{i}"].collector_port for i in (1, 2, 3)] == [7001, 7011, 7021]
    assert [by_name[f"uploads-{i}"].upload_port for i in (1, 2, 3)] == [8082, 8092, 8102]
    api_env = next(c.env for c in cluster_components(settings, BACKENDS) if c.name == "api-2")
    assert [k for k in api_env if k.endswith("_PORT")] == ["TUBESTREAM_API_PORT"]  # only its own port
    assert replica_port(8080, 0) == 8080


def test_replicas_are_at_least_one() -> None:
    assert [c.name for c in cluster_components(Settings.from_env({}), BACKENDS, replicas=1)][:2] == [
        "worker-1",
        "analytics-1",
    ]
    with pytest.raises(ValueError, match="at least 1"):
        cluster_components(Settings.from_env({}), BACKENDS, replicas=0)


def test_replicas_without_distributed_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--replicas", "3"]) == 2
    assert "--replicas goes with --distributed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["up", "--distributed", "--replicas", "none"])
    assert "expected a number of replicas from 1 to 9" in capsys.readouterr().err


def test_without_s3_keys_none_are_passed() -> None:
    bare = Backends(
        catalog_url="cassandra://h/k",
        playback_url="cassandra://h/k",
        search_url="http://h:9200",
        blob_url="s3://b",
    )
    assert "TUBESTREAM_S3_ACCESS_KEY" not in bare.env()
