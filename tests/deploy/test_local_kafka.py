"""The local broker manager: reuse a running broker, never stop one it did not start, fail fast and say why.

The session's broker is only ever looked at here: every LocalKafka below has its
own empty home, so it has no pid file and cannot stop it.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from deploy.errors import ServerStartError
from deploy.local_kafka import ListenerSecurity, LocalKafka
from deploy.settings import Settings
from topics.admin import wait_for_broker
from topics.config import KafkaConfig

from harness import free_port


@pytest.fixture
def session_port(kafka_bootstrap: str) -> int:
    host, _, port = kafka_bootstrap.rpartition(":")
    if "," in kafka_bootstrap or host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the session broker {kafka_bootstrap} is not a local one")
    return int(port)


@pytest.mark.kafka
def test_start_reuses_a_broker_that_answers(tmp_path: Path, session_port: int, kafka_bootstrap: str) -> None:
    kafka = LocalKafka(tmp_path, port=session_port)

    assert kafka.start(timeout_s=30) is False  # nothing started, nothing fetched

    assert not kafka.fetched()
    status = kafka.status()
    assert (status.running, status.pid, status.bootstrap) == (True, None, f"127.0.0.1:{session_port}")


@pytest.mark.kafka
def test_stop_leaves_a_broker_it_did_not_start(
    tmp_path: Path, session_port: int, kafka_bootstrap: str
) -> None:
    kafka = LocalKafka(tmp_path, port=session_port)
    assert kafka.stop(timeout_s=5) is False
    wait_for_broker(KafkaConfig(bootstrap=kafka_bootstrap), timeout_s=10)  # still serving the session


def test_a_stale_pid_file_is_not_taken_for_a_broker(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path, port=free_port())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    kafka.pid_file.write_text(str(dead.pid))

    assert kafka.pid() is None
    assert kafka.stop(timeout_s=5) is False
    assert kafka.status().running is False


def test_stop_ends_the_process_its_pid_file_names(tmp_path: Path) -> None:
    """What ``tubestream kafka stop`` does after ``kafka start`` (here with a stand-in process)."""
    kafka = LocalKafka(tmp_path, port=free_port())
    stand_in = subprocess.Popen([sys.executable, "-c", "import signal\nwhile True: signal.pause()"])
    try:
        kafka.pid_file.write_text(str(stand_in.pid))
        assert kafka.pid() == stand_in.pid

        assert kafka.stop(timeout_s=10) is True

        assert not Path(f"/proc/{stand_in.pid}").exists()  # ended (SIGTERM: a broker shuts down cleanly)
        assert not kafka.pid_file.exists()
        assert kafka.pid() is None
    finally:
        if stand_in.poll() is None:
            stand_in.kill()
            stand_in.wait()


def test_a_broker_that_exits_while_starting_fails_at_once_with_its_code(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path, port=free_port())
    crashed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    crashed.wait()

    with pytest.raises(ServerStartError, match="Kafka exited with code 3 while starting") as raised:
        kafka.wait_ready(timeout_s=60, process=crashed)

    assert "(no log written)" in str(raised.value)


def test_a_broker_that_never_answers_fails_at_the_deadline_with_its_log(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path, port=free_port())
    kafka.logs.mkdir(parents=True)
    (kafka.logs / "server.log").write_text("starting\nERROR Disk error while locking directory\n")

    with pytest.raises(ServerStartError, match=r"did not answer on 127\.0\.0\.1:\d+ within 1s") as raised:
        kafka.wait_ready(timeout_s=1.0)

    assert "Disk error while locking directory" in str(raised.value)


def test_prepare_configures_the_broker_on_its_ports(tmp_path: Path) -> None:
    """The command ``tubestream kafka run`` execs: the broker on its port, the controller on the next."""
    kafka = LocalKafka(tmp_path, port=19092)
    kafka.libs.mkdir(parents=True)
    (kafka.libs / "kafka_2.13-3.9.0.jar").write_bytes(b"")  # fetched already: no Maven
    kafka.data.mkdir(parents=True)
    (kafka.data / "meta.properties").write_text("formatted\n")  # formatted already: no StorageTool

    command = kafka.prepare()

    assert command[-2:] == ["kafka.Kafka", str(kafka.config_file)]
    assert f"{kafka.libs}/*" in command
    config = dict(
        line.split("=", 1)
        for line in kafka.config_file.read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert config["log.dirs"] == str(kafka.data)
    assert config["auto.create.topics.enable"] == "false"  # topics come from the catalogue only
    assert kafka.bootstrap == "127.0.0.1:19092"


def _security(tmp_path: Path) -> ListenerSecurity:
    return ListenerSecurity(
        keystore=tmp_path / "broker.p12",
        keystore_password="store-pw",
        ca_file=tmp_path / "ca.pem",
        users={"broker": "broker-pw", "app": "app-pw"},
        broker_user="broker",
    )


def test_a_secured_broker_listens_in_sasl_ssl_with_its_own_jars(tmp_path: Path) -> None:
    """A second broker for tests of the clients' security; the plaintext template stays as it is."""
    libs = tmp_path / "shared-libs"
    libs.mkdir()
    (libs / "kafka_2.13-3.9.1.jar").write_bytes(b"")  # another home's jars: no Maven
    kafka = LocalKafka(tmp_path / "home", port=19192, libs=libs, security=_security(tmp_path))
    kafka.data.mkdir(parents=True)
    (kafka.data / "meta.properties").write_text("formatted\n")

    command = kafka.prepare()

    assert f"{libs}/*" in command
    lines = [line for line in kafka.config_file.read_text().splitlines() if "=" in line and line[0] != "#"]
    keys = [line.split("=", 1)[0] for line in lines]
    assert len(keys) == len(set(keys)), "each property once: replaced in place, not repeated"
    config = dict(line.split("=", 1) for line in lines)
    assert config["listeners"] == "SASL_SSL://127.0.0.1:19192,CONTROLLER://127.0.0.1:19193"
    assert config["advertised.listeners"] == "SASL_SSL://127.0.0.1:19192"
    assert config["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert config["inter.broker.listener.name"] == "SASL_SSL"
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert (
        'username="broker" password="broker-pw"'
        in config["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    )
    assert (config["ssl.keystore.location"], config["ssl.truststore.location"]) == (
        str(tmp_path / "broker.p12"),
        str(tmp_path / "ca.pem"),
    )
    assert config["auto.create.topics.enable"] == "false"  # the rest is the plaintext broker's
    client = kafka.client
    assert (client.security_protocol, client.sasl_username, client.bootstrap) == (
        "SASL_SSL",
        "broker",
        "127.0.0.1:19192",
    )
    assert kafka._scram_users() == [
        "--add-scram",
        "SCRAM-SHA-512=[name=broker,password=broker-pw]",
        "--add-scram",
        "SCRAM-SHA-512=[name=app,password=app-pw]",
    ]


def test_the_default_broker_has_no_security_settings(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path, port=19092)
    assert kafka.client == KafkaConfig(bootstrap="127.0.0.1:19092")
    assert kafka._scram_users() == []


def test_listener_security_refuses_what_would_break_its_config_lines(tmp_path: Path) -> None:
    good = _security(tmp_path)
    with pytest.raises(ValueError, match="not among the SCRAM users"):
        dataclasses.replace(good, broker_user="nobody")
    with pytest.raises(ValueError, match=r"\[A-Za-z0-9\._-\]\+"):
        dataclasses.replace(good, users={"broker": 'pw",x'})


def test_storage_is_formatted_whatever_the_cluster_id_starts_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A random id starts with "-" one time in 64; as a separate argument it was read as an option."""
    shared = LocalKafka(Settings.from_env().kafka_home)
    kafka = LocalKafka(tmp_path, port=free_port(), libs=shared.libs)
    dash_first = uuid.UUID(bytes=bytes([0xF8]) + bytes(15))  # urlsafe base64 of 0xF8... starts with "-"
    monkeypatch.setattr(uuid, "uuid4", lambda: dash_first)

    kafka.prepare()  # fetches nothing: the jars are the session's

    assert "cluster.id=-" in (kafka.data / "meta.properties").read_text()
