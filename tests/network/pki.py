"""Certificates made by the tests: two CAs, a server certificate and client certificates."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str, org: str = "Sekisho Tests") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Issued:
    """A certificate, its key, and where both are written."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path
    key_file: Path

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(Encoding.PEM).decode()

    @property
    def escaped(self) -> str:
        """URL-encoded PEM, as nginx's $ssl_client_escaped_cert sends it."""
        return quote(self.pem, safe="")

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()


class Authority:
    """A certificate authority that writes what it issues under ``directory``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        now = datetime.now(UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=60))
            .not_valid_after(now + timedelta(days=60))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        self.ca = self._write(name, cert, key)

    def _write(self, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
        cert_file = self.directory / f"{stem}.crt"
        key_file = self.directory / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(Encoding.PEM))
        key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        return Issued(cert, key, cert_file, key_file)

    def issue(
        self,
        common_name: str,
        *,
        server: bool = False,
        valid_days: tuple[int, int] = (-1, 10),
        san: bool = True,
        org: str = "Sekisho Tests",
    ) -> Issued:
        """A leaf certificate; ``valid_days`` are offsets from now of notBefore and notAfter."""
        now = datetime.now(UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, org))
            .issuer_name(self.ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + timedelta(days=valid_days[0]))
            .not_valid_after(now + timedelta(days=valid_days[1]))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca.key.public_key()), critical=False
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            names: list[x509.GeneralName] = [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        elif san:
            uri = x509.UniformResourceIdentifier(f"spiffe://sekisho.test/{common_name}")
            builder = builder.add_extension(x509.SubjectAlternativeName([uri]), critical=False)
        cert = builder.sign(self.ca.key, hashes.SHA256())
        stem = f"{self.name}-{common_name}-{x509.random_serial_number() % 10**6}"
        return self._write(stem, cert, key)


@dataclass
class Pki:
    """Everything the mTLS tests need."""

    ca: Authority
    other_ca: Authority
    server: Issued
    client: Issued  # valid, to be mapped
    client_no_san: Issued  # valid, no subjectAltName (common for enterprise CAs)
    unmapped: Issued  # valid, never mapped
    expired: Issued
    foreign: Issued  # issued by another CA
    server_as_client: Issued  # right CA, but only for server authentication


def make_pki(directory: Path) -> Pki:
    ca = Authority(directory, "test-ca")
    other = Authority(directory, "other-ca")
    return Pki(
        ca=ca,
        other_ca=other,
        server=ca.issue("localhost", server=True),
        client=ca.issue("svc-billing"),
        client_no_san=ca.issue("svc-no-san", san=False),
        unmapped=ca.issue("svc-unmapped"),
        expired=ca.issue("svc-expired", valid_days=(-20, -1)),
        foreign=other.issue("svc-billing"),
        server_as_client=ca.issue("svc-server-only", server=True),
    )
