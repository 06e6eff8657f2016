"""The service provider's own key pair for one SAML IdP.

Sekisho signs its AuthnRequests with it and publishes the certificate in its SP metadata, so an
IdP that requires signed requests (Keycloak by default, Okta and Entra ID when asked) can trust
them. The pair is stored as the IdP's sealed secret: the PEM private key followed by the PEM
certificate, one string. An administrator may supply their own pair in that form; otherwise one is
generated when the IdP is created.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from sekisho.clock import utcnow

# 2048-bit RSA is what every IdP accepts for request signing, and what Okta, Entra ID and
# Keycloak generate for their own SAML certificates.
_KEY_BITS = 2048
# The certificate only carries the public key to the IdP (nobody checks it against a CA), and an
# expired one makes some IdPs refuse the metadata: make it last.
_CERT_YEARS = 10
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----[^-]+-----END \1-----", re.S)


@dataclass(frozen=True, slots=True)
class SpKeyPair:
    """The SP private key and its self-signed certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_b64(self) -> str:
        """Base64 DER of the certificate, as ``<ds:X509Certificate>`` holds it."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()

    def sign_sha256(self, data: bytes) -> bytes:
        """RSA PKCS#1 v1.5 signature with SHA-256 (``rsa-sha256`` of XML-DSig)."""
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def to_secret(self) -> str:
        """PEM private key followed by PEM certificate."""
        key = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return key.decode() + self.certificate.public_bytes(serialization.Encoding.PEM).decode()


def new_key_pair(name: str) -> SpKeyPair:
    """A fresh RSA key with a self-signed certificate whose subject names ``name``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (name or "Sekisho SAML SP")[:64])])
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * _CERT_YEARS))
        .sign(key, hashes.SHA256())
    )
    return SpKeyPair(key, cert)


def load_key_pair(secret: str) -> SpKeyPair:
    """The pair in ``secret``; ValueError saying what is wrong with it."""
    key: rsa.RSAPrivateKey | None = None
    cert: x509.Certificate | None = None
    for match in _PEM_BLOCK.finditer(secret):
        block, label = match.group(0).encode(), match.group(1)
        try:
            if label.endswith("PRIVATE KEY"):
                loaded = serialization.load_pem_private_key(block, password=None)
                if not isinstance(loaded, rsa.RSAPrivateKey):
                    raise ValueError("the SAML SP private key must be an RSA key")
                key = loaded
            elif label == "CERTIFICATE":
                cert = x509.load_pem_x509_certificate(block)
        except (TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"the SAML SP {label.lower()} cannot be read (is it encrypted?)") from exc
    if key is None or cert is None:
        raise ValueError("the SAML SP secret must hold a PEM private key followed by its PEM certificate")
    if cert.public_key() != key.public_key():
        raise ValueError("the SAML SP certificate does not belong to its private key")
    return SpKeyPair(key, cert)


def sp_secret(secret: str | None, *, name: str) -> str:
    """The secret to store for a SAML IdP: ``secret`` checked, or a new pair when there is none."""
    if secret:
        load_key_pair(secret)
        return secret
    return new_key_pair(name).to_secret()
