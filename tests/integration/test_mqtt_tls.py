"""MQTT over TLS with a throwaway CA: zonewatch's clients, set up only through `MqttSettings`
(`mqtts://`, `ZW_MQTT_CA_FILE`, `ZW_MQTT_CERT_FILE`/`KEY_FILE`), connect and publish to a real
Mosquitto's TLS listeners; a client that does not trust the CA, or lacks the certificate a
listener requires, is refused."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from ingest.config import IngestSettings
from ingest.mqtt_source import MqttSource
from tests.integration.broker import Device, PrivateBroker
from zonewatch.mqtt import Publisher
from zonewatch.mqtt_auth import mosquitto_hash
from zonewatch.settings import MqttSettings

PASSWORDS = {"zonewatch": "tls-service-pass", "jiangning-edz": "tls-zone-pass"}
ACL = ("user zonewatch\ntopic read zw/v1/+/readings\ntopic write zw/v1/alerts/#\n"
       "user jiangning-edz\ntopic write zw/v1/jiangning-edz/readings\n")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (EC P-256,
    one day), as an operator would make them with openssl."""
    folder.mkdir()
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj",
            "/CN=zonewatch test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                 "extendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        (folder / f"{name}.ext").write_text("basicConstraints=CA:FALSE\n"
                                            "keyUsage=critical,digitalSignature\n" + ext)
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                f"/CN=zonewatch test {name}", cwd=folder)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-out", f"{name}.crt", "-extfile",
                f"{name}.ext", cwd=folder)
    return folder


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateBroker, Path]]:
    """Port 1: TLS + passwords. Port 2: the same, and a client certificate is required."""
    folder = tmp_path_factory.mktemp("tls")
    pki = make_pki(folder / "pki")
    (folder / "passwd").write_text("".join(f"{u}:{mosquitto_hash(p)}\n"
                                           for u, p in PASSWORDS.items()))
    (folder / "acl").write_text(ACL)
    tls = f"cafile {pki / 'ca.crt'}\ncertfile {pki / 'server.crt'}\nkeyfile {pki / 'server.key'}\n"
    server = PrivateBroker(folder, (
        f"allow_anonymous false\npassword_file {folder / 'passwd'}\nacl_file {folder / 'acl'}\n"
        "listener {port1} 127.0.0.1\n" + tls +
        "listener {port2} 127.0.0.1\n" + tls + "require_certificate true\n"))
    server.start()
    yield server, pki
    server.stop()


def mqtts(port: int, user: str, **files: Path) -> MqttSettings:
    return MqttSettings(url=f"mqtts://127.0.0.1:{port}", username=user,
                        password=SecretStr(PASSWORDS[user]),
                        **{k: str(v) for k, v in files.items()})


async def test_ingest_and_the_publisher_work_over_tls(
        tls_broker: tuple[PrivateBroker, Path]) -> None:
    server, pki = tls_broker
    port = server.ports[0]
    service = mqtts(port, "zonewatch", ca_file=pki / "ca.crt")
    source = MqttSource(IngestSettings(mqtt=service, mqtt_client_id="zw-ingest-tls-test",
                                       mqtt_share_group=None, mqtt_session_expiry_s=0,
                                       metrics_port=None))
    await source.start()
    device = Device(mqtts(port, "jiangning-edz", ca_file=pki / "ca.crt"))
    try:
        assert device.connect().value == 0
        assert device.publish("zw/v1/jiangning-edz/readings", b"over tls").value == 0
        msg = await asyncio.wait_for(source.get(), 10)
        source.ack(msg)
        assert (msg.topic, msg.payload) == ("zw/v1/jiangning-edz/readings", b"over tls")
        publisher = Publisher(service, "zw-alerts-tls-test")
        await publisher.start()
        try:
            await publisher.publish([("zw/v1/alerts/jiangning-edz/data_gap", b"{}")], timeout=15)
        finally:
            await publisher.stop()
        assert publisher.refused == 0
    finally:
        device.close()
        await source.stop()


def test_a_client_that_does_not_trust_the_ca_is_refused(
        tls_broker: tuple[PrivateBroker, Path]) -> None:
    server, _ = tls_broker
    device = Device(mqtts(server.ports[0], "zonewatch"))  # the system's CAs only
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        device.connect()


def test_a_listener_that_requires_a_client_certificate(
        tls_broker: tuple[PrivateBroker, Path]) -> None:
    server, pki = tls_broker
    port = server.ports[1]
    with_cert = Device(mqtts(port, "zonewatch", ca_file=pki / "ca.crt",
                             cert_file=pki / "client.crt", key_file=pki / "client.key"))
    try:
        assert with_cert.connect().value == 0
    finally:
        with_cert.close()
    without = Device(mqtts(port, "zonewatch", ca_file=pki / "ca.crt"))
    try:
        try:
            reason = without.connect(timeout=5)
        except (ssl.SSLError, OSError):
            reason = None  # TLS 1.2: the handshake itself fails
        assert reason is None, f"connected without a client certificate: {reason}"
    finally:
        without.close()

