"""A throw-away certificate authority with a server and a client certificate (PEM)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pair:
    cert: str
    key: str


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _cert(subject: str, key, issuer_name, issuer_key, *, ca: bool, usage=None, ip=None):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


@dataclass(frozen=True)
class Authority:
    ca: Pair
    server: Pair
    client: Pair


def make_authority(name: str = "topology-test-ca") -> Authority:
    ca_key = _key()
    ca_cert = _cert(name, ca_key, None, None, ca=True)
    server_key, client_key = _key(), _key()
    server = _cert(
        "127.0.0.1",
        server_key,
        ca_cert.subject,
        ca_key,
        ca=False,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        ip="127.0.0.1",
    )
    client = _cert(
        "client",
        client_key,
        ca_cert.subject,
        ca_key,
        ca=False,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )

    def pem(cert) -> str:  # type: ignore[no-untyped-def]
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    return Authority(
        Pair(pem(ca_cert), _pem_key(ca_key)),
        Pair(pem(server), _pem_key(server_key)),
        Pair(pem(client), _pem_key(client_key)),
    )
