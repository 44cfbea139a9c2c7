"""A development PKI for the coalition topology: one CA, one certificate per identity, one Ed25519 signing key
per node (and one for the fusion service's labels), and the node-key registry the fusion service verifies
batches against.

Made by ``triwarn pki init DIR`` (``init_pki``). Layout of DIR::

    ca.crt, ca.key                      the development CA (ECDSA P-256, self-signed)
    <identity>.crt, <identity>.key      one per identity below (ECDSA P-256; key mode 0600)
    <node id>.ed25519                   a node's batch-signing key (PKCS#8 PEM, mode 0600)
    fusion-us.ed25519                   the fusion service's label-signing key
    node-keys.toml                      the registry: node id -> nation and Ed25519 public key
    identities.toml                     what was issued (name, role, nation)

Identities and naming (the certificate's CN is the identity's name, which Mosquitto takes as the user name
and client id; a URI SAN ``spiffe://triwarn.dev/nation/<nation>/<role>/<name>`` names its nation for gRPC):

==============  =======================  ====================================================================
role            names                    used for
==============  =======================  ====================================================================
broker          broker-us/jp/kr/hub      the four Mosquitto listeners (server)
bridge          bridge-us/jp/kr          a national broker's bridge connection to the hub (client)
node            us-c2, jp-c2, kr-c2      a national node's MQTT connection (client); the CN is the node id
fusion          fusion-us                the fusion service: MQTT at the hub (client), gRPC (server)
edge            edge-us/jp/kr            a national edge: MQTT at its broker (client), gRPC (server)
console         console-us/jp/kr         a console's gRPC connection (client): its nation picks its view
==============  =======================  ====================================================================

Every server certificate names ``localhost``, ``127.0.0.1`` and its compose host name (its identity's name)
as SANs. For a real deployment, replace this module's output with certificates from the nations' own PKIs:
the brokers and services only read the files (docs/coalition.md, "Replacing the development PKI").
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from triwarn.core.tracks import NATIONS

#: Trust domain of the URI SANs.
TRUST_DOMAIN = "triwarn.dev"
#: The nation that runs the hub (and the fusion service).
HUB_NATION = "us"
#: Validity of issued certificates (development: short-lived certificates stand in for revocation).
LEAF_VALIDITY = datetime.timedelta(days=90)
CA_VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class Identity:
    """One certificate holder: ``name`` (CN, MQTT user name and client id), ``role``, ``nation``."""

    name: str
    role: str
    nation: str
    #: more IP addresses the server certificate names (a broker on a separate network host)
    ips: tuple[str, ...] = ()

    @property
    def server(self) -> bool:
        return self.role in {"broker", "fusion", "edge"}

    @property
    def uri(self) -> str:
        return spiffe_id(self.nation, self.role, self.name)


def spiffe_id(nation: str, role: str, name: str) -> str:
    return f"spiffe://{TRUST_DOMAIN}/nation/{nation}/{role}/{name}"


def nation_of_spiffe_id(uri: str) -> str | None:
    """The nation a ``spiffe://triwarn.dev/nation/<nation>/...`` id names (None if it names none)."""
    prefix = f"spiffe://{TRUST_DOMAIN}/nation/"
    if not uri.startswith(prefix):
        return None
    nation = uri[len(prefix) :].split("/", 1)[0]
    return nation if nation in NATIONS else None


def node_id(nation: str) -> str:
    """The default node id of ``nation`` (as ``Settings.effective_node_id``)."""
    return f"{nation}-c2"


def default_identities(nations: Sequence[str] = NATIONS) -> list[Identity]:
    out = [Identity("broker-hub", "broker", HUB_NATION), Identity(f"fusion-{HUB_NATION}", "fusion", HUB_NATION)]
    for n in nations:
        out += [
            Identity(f"broker-{n}", "broker", n),
            Identity(f"bridge-{n}", "bridge", n),
            Identity(node_id(n), "node", n),
            Identity(f"edge-{n}", "edge", n),
            Identity(f"console-{n}", "console", n),
        ]
    return out


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(cn: str, nation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, {"us": "US", "jp": "JP", "kr": "KR"}[nation]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "triwarn development PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(
    now: datetime.datetime, cn: str = "triwarn development CA"
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(cn, HUB_NATION)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, ident: Identity, now: datetime.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf certificate for ``ident``: client and server authentication, its URI SAN, and for servers the
    DNS names ``localhost`` and its own name and the address 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(ident.uri)]
    if ident.server:
        sans += [
            x509.DNSName(ident.name),
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ident.ips),
        ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ident.name, ident.nation))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def public_key_b64(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def init_pki(directory: str | Path, identities: Sequence[Identity] | None = None) -> Path:
    """Write the development PKI into ``directory`` (created; existing files of the same names are replaced).
    Returns the directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    idents = list(identities) if identities is not None else default_identities()
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = make_ca(now)
    (out / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(out / "ca.key", _pem_key(ca_key))
    registry = [
        "# node id -> nation and Ed25519 public key (base64 of the 32 raw bytes): written by triwarn pki init",
        "",
    ]
    issued = ["# what triwarn pki init issued", ""]
    for ident in idents:
        key, cert = issue(ca_key, ca_cert, ident, now)
        (out / f"{ident.name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(out / f"{ident.name}.key", _pem_key(key))
        issued += [f"[identity.{ident.name}]", f'role = "{ident.role}"', f'nation = "{ident.nation}"', ""]
        if ident.role in {"node", "fusion"}:
            signing = ed25519.Ed25519PrivateKey.generate()
            _write_private(out / f"{ident.name}.ed25519", _pem_key(signing))
            if ident.role == "node":
                registry += [
                    f"[node.{ident.name}]",
                    f'nation = "{ident.nation}"',
                    f'ed25519 = "{public_key_b64(signing)}"',
                    "",
                ]
            else:
                (out / f"{ident.name}.ed25519.pub").write_text(public_key_b64(signing) + "\n")
    (out / "node-keys.toml").write_text("\n".join(registry))
    (out / "identities.toml").write_text("\n".join(issued))
    return out
