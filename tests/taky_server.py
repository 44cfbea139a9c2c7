"""A real TAK server for tests: taky (from PyPI) on a loopback port, with a development PKI for its TLS port."""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from triwarn.services.runtime.broker import free_port, wait_for_port

# taky 0.10 reads its own version with pkg_resources, which setuptools >= 81 no longer ships; nothing else of
# taky uses it, so the server runs with a stand-in module that reports "unknown".
TAKY_MAIN = """
import sys, types
shim = types.ModuleType("pkg_resources")
class DistributionNotFound(Exception):
    pass
def get_distribution(name):
    raise DistributionNotFound(name)
shim.DistributionNotFound, shim.get_distribution = DistributionNotFound, get_distribution
sys.modules.setdefault("pkg_resources", shim)
sys.argv = ["taky", "-c", sys.argv[1], "-l", "info"]
from taky.cot.__main__ import main
main()
"""

TAKY_CONF = """\
[taky]
hostname = localhost
node_id = TRIWARN-TEST
bind_ip = 127.0.0.1
root_dir = {root}

[cot_server]
port = {port}

[ssl]
enabled = {tls}
client_cert_required = true
ca = {root}/ca.pem
cert = {root}/server.pem
key = {root}/server.key
"""


def write_pki(root: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, as PEM files."""
    now = datetime.now(UTC)

    def issue(
        name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if name == "localhost":
            san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(signer, hashes.SHA256())

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        (root / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (root / f"{stem}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "triwarn test CA")])
    write("ca", issue("triwarn test CA", ca_key, ca_name, ca_key, True), ca_key)
    for stem, name in (("server", "localhost"), ("client", "triwarn-cot")):
        key = ec.generate_private_key(ec.SECP256R1())
        write(stem, issue(name, key, ca_name, ca_key, False), key)


class Taky:
    def __init__(self, root: Path, tls: bool = False, port: int | None = None) -> None:
        self.port = port or free_port()
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        if tls and not (root / "ca.pem").exists():
            write_pki(root)
        conf = root / "taky.conf"
        conf.write_text(TAKY_CONF.format(root=root, port=self.port, tls=str(tls).lower()))
        self.log = (root / "taky.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", TAKY_MAIN, str(conf)], cwd=root, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for_port("127.0.0.1", self.port, 30.0, self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
