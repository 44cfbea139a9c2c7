"""Mutual TLS material for MQTT (aiomqtt) and gRPC, and the nation a gRPC peer's certificate names.

A process's TLS material is three PEM files (``Settings.tls_ca``, ``tls_cert``, ``tls_key``; ``triwarn pki
init`` makes them). With them, every MQTT connection is ``mqtts://`` with a client certificate, every gRPC
server requires a client certificate that chains to the CA, and every gRPC client presents its own.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509

from triwarn.services.runtime.settings import Settings
from triwarn.services.trust.pki import nation_of_spiffe_id


@dataclass(frozen=True)
class TlsFiles:
    ca: str
    cert: str
    key: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TlsFiles | None:
        """The settings' TLS files, or None when TLS is off (``Settings.validate`` checks they come together)."""
        if not settings.tls_ca:
            return None
        return cls(settings.tls_ca, settings.tls_cert, settings.tls_key)

    @classmethod
    def in_dir(cls, directory: str | Path, identity: str) -> TlsFiles:
        """The files ``triwarn pki init DIR`` wrote for ``identity``."""
        d = Path(directory)
        return cls(str(d / "ca.crt"), str(d / f"{identity}.crt"), str(d / f"{identity}.key"))

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context: verifies the server against the CA (and its host name), presents our
        certificate; TLS 1.2 or later."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def grpc_server_credentials(self) -> grpc.ServerCredentials:
        """Server credentials that require a client certificate from the CA."""
        return grpc.ssl_server_credentials(
            [(Path(self.key).read_bytes(), Path(self.cert).read_bytes())],
            root_certificates=Path(self.ca).read_bytes(),
            require_client_auth=True,
        )

    def nation(self) -> str | None:
        """The nation our own certificate names (its ``spiffe://triwarn.dev/nation/<n>/...`` URI SAN), or None."""
        cert = x509.load_pem_x509_certificate(Path(self.cert).read_bytes())
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return None
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            nation = nation_of_spiffe_id(uri)
            if nation is not None:
                return nation
        return None

    def grpc_channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=Path(self.ca).read_bytes(),
            private_key=Path(self.key).read_bytes(),
            certificate_chain=Path(self.cert).read_bytes(),
        )


def peer_nation(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The nation the client certificate of a gRPC call names (its ``spiffe://triwarn.dev/nation/<n>/...``
    URI SAN), or None (no certificate, or no such SAN)."""
    for key in ("peer_spiffe_id", "x509_subject_alternative_name"):
        for value in auth_context.get(key, ()):
            nation = nation_of_spiffe_id(value.decode(errors="replace"))
            if nation is not None:
                return nation
    return None


def peer_name(auth_context: Mapping[str, Iterable[bytes]]) -> str:
    """The CN of the client certificate of a gRPC call ('' without one)."""
    for name in auth_context.get("x509_common_name", ()):
        return name.decode(errors="replace")
    return ""
