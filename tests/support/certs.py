"""Certificates made at test time, never checked in: one for the HTTP services, a CA and keystore for Kafka.

The services' certificate is self-signed (the ``cryptography`` package); the
broker's is signed by a throwaway CA with the JDK's ``keytool``, as an operator
would make a Kafka keystore, and the CA is exported as PEM for the Python clients.
Both name 127.0.0.1 (and localhost), so clients verify the host as well as the chain.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["BrokerKeystore", "ServerCertificate", "broker_keystore", "self_signed_certificate"]

_SAN = "SAN=ip:127.0.0.1,dns:localhost"


@dataclass(frozen=True)
class ServerCertificate:
    cert_file: Path  # PEM; also what a client trusts, being self-signed
    key_file: Path


def self_signed_certificate(folder: Path) -> ServerCertificate:
    """A P-256 certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tubestream test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    certificate = ServerCertificate(folder / "server.pem", folder / "server.key")
    certificate.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificate.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    certificate.key_file.chmod(0o600)
    return certificate


@dataclass(frozen=True)
class BrokerKeystore:
    keystore: Path  # PKCS12: the broker's key, its certificate and the CA's
    password: str
    ca_file: Path  # PEM: the CA, for the clients and the broker's truststore


def broker_keystore(folder: Path, *, password: str) -> BrokerKeystore:
    """A CA, then a broker key pair whose certificate the CA signs, in a PKCS12 keystore (keytool)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_store, keystore = folder / "ca.p12", folder / "broker.p12"
    ca_pem, request, signed = folder / "ca.pem", folder / "broker.csr", folder / "broker.pem"
    pkcs12 = ["-storetype", "PKCS12", "-storepass", password]
    ca_key = ["-keystore", str(ca_store), *pkcs12]
    broker_key = ["-keystore", str(keystore), *pkcs12]
    new_key = ["-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2"]
    _keytool("-genkeypair", "-alias", "ca", *new_key, "-dname", "CN=test CA", "-ext", "bc:c", *ca_key)
    _keytool("-exportcert", "-rfc", "-alias", "ca", *ca_key, "-file", str(ca_pem))
    _keytool("-genkeypair", "-alias", "broker", *new_key, "-dname", "CN=localhost", "-ext", _SAN, *broker_key)
    _keytool("-certreq", "-alias", "broker", *broker_key, "-file", str(request))
    sign = ["-rfc", "-validity", "2", "-ext", _SAN, "-ext", "eku=serverAuth"]
    _keytool("-gencert", "-alias", "ca", *ca_key, "-infile", str(request), "-outfile", str(signed), *sign)
    for alias, pem in (("ca", ca_pem), ("broker", signed)):  # the CA first: the reply chains to it
        _keytool("-importcert", "-noprompt", "-alias", alias, "-file", str(pem), *broker_key)
    return BrokerKeystore(keystore=keystore, password=password, ca_file=ca_pem)


def _keytool(*args: str) -> None:
    java_home = os.environ.get("JAVA_HOME")
    keytool = str(Path(java_home) / "bin" / "keytool") if java_home else shutil.which("keytool")
    assert keytool, "keytool (part of the JDK that runs Kafka) is needed to make the broker's keystore"
    # a JVM per call: these two flags halve its start-up, which is most of the time here
    fast = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]
    result = subprocess.run([keytool, *fast, *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"keytool {args[0]} failed:\n{result.stdout}{result.stderr}"
