"""Client certificates: reading them from TLS or a proxy's header, and verifying them against the CA.

Verification uses cryptography's X.509 path validation (RFC 5280 chain building, signatures,
validity periods, CA constraints). The end-entity profile is relaxed from the Web PKI defaults —
client certificates from enterprise CAs often lack a subjectAltName — but an extendedKeyUsage, when
present, must allow client authentication, as OpenSSL requires during a TLS handshake.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from sekisho.clock import utcnow
from sekisho.settings import ConfigError

MAX_HEADER_BYTES = 32 * 1024
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
_HEX = re.compile(r"^[0-9a-f]{64}$")
_SEPARATOR_SPACE = re.compile(r"(?<!\\)\s*([,=+])\s*")


class CertificateError(ValueError):
    """The certificate cannot be read or is not trusted; the message says why."""


@dataclass(frozen=True, slots=True)
class VerifiedCertificate:
    """A client certificate that chains to the configured CA and is valid now."""

    fingerprint_sha256: str
    subject: str
    not_after: datetime


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER encoding, lowercase hex (what ``openssl x509 -fingerprint -sha256`` shows)."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def subject_of(cert: x509.Certificate) -> str:
    """The subject as an RFC 4514 string (``CN=svc,O=Example``)."""
    return cert.subject.rfc4514_string()


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:…`` or ``abcd…`` → 64 lowercase hex digits; ValueError otherwise."""
    value = text.strip().lower().replace(":", "").replace(" ", "")
    if value.startswith("sha256="):
        value = value[len("sha256=") :]
    if not _HEX.match(value):
        raise ValueError("fingerprint_sha256 must be 64 hex digits (colons allowed)")
    return value


def normalise_subject(text: str) -> str:
    """An RFC 4514 distinguished name (most specific first, ``CN=svc,O=Example``) in the form
    ``subject_of`` produces; spaces around separators are forgiven. ValueError otherwise."""
    tidy = _SEPARATOR_SPACE.sub(lambda m: m.group(1), text.strip())
    try:
        name = x509.Name.from_rfc4514_string(tidy)
    except ValueError:
        raise ValueError(
            "subject is not an RFC 4514 distinguished name such as CN=svc,O=Example "
            "(openssl x509 -noout -subject -nameopt RFC2253 prints it)"
        ) from None
    if not list(name):
        raise ValueError("subject is empty")
    return name.rfc4514_string()


def load_pem_chain(text: str | bytes) -> list[x509.Certificate]:
    """Certificates in a PEM text, leaf first. Tolerates re-wrapped or space-separated base64."""
    raw = text.decode("ascii", errors="replace") if isinstance(text, bytes) else text
    bodies = _PEM.findall(raw)
    if not bodies:
        raise CertificateError("no PEM certificate found")
    certs = []
    for body in bodies:
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
            certs.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError) as exc:
            raise CertificateError(f"the certificate cannot be read: {exc}") from None
    return certs


def chain_from_header(value: str) -> list[x509.Certificate]:
    """The client certificate (and any chain) a TLS-terminating proxy put in a header.

    Accepts URL-encoded PEM (nginx ``$ssl_client_escaped_cert``, AWS ALB), Envoy's
    ``X-Forwarded-Client-Cert`` (its ``Cert=`` field, from the element the nearest proxy added),
    raw PEM with the newlines folded, and base64 DER (Traefik).
    """
    if len(value) > MAX_HEADER_BYTES:
        raise CertificateError("the certificate header is too large")
    text = value.strip()
    if re.match(r"^[A-Za-z]+=", text):
        text = _xfcc_cert(text)
    decoded = unquote(text)
    if "-----BEGIN" in decoded:
        return load_pem_chain(decoded)
    try:
        der = base64.b64decode("".join(decoded.split()), validate=True)
        return [x509.load_der_x509_certificate(der)]
    except (binascii.Error, ValueError):
        raise CertificateError("the certificate header holds neither PEM nor base64 DER") from None


def _xfcc_cert(header: str) -> str:
    """The ``Cert`` value of the last element of an Envoy XFCC header (quotes and commas respected)."""
    elements = _split_outside_quotes(header, ",")
    for pair in _split_outside_quotes(elements[-1], ";"):
        key, _, val = pair.partition("=")
        if key.strip().lower() == "cert":
            return val.strip().strip('"')
    raise CertificateError("the X-Forwarded-Client-Cert header has no Cert field")


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


class CertificateVerifier:
    """Verifies client certificates against the CA bundle in ``ca_file``."""

    def __init__(self, ca_file: Path) -> None:
        """Load the CA bundle; ConfigError when it cannot be read or holds no certificate."""
        try:
            pem = ca_file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"network.client_ca_file {ca_file}: {exc.strerror or exc}") from None
        try:
            anchors = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise ConfigError(f"network.client_ca_file {ca_file} holds no PEM certificate") from None
        self._store = Store(anchors)

    def verify(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate] = ()
    ) -> VerifiedCertificate:
        """The verified certificate's identity, or CertificateError."""
        now = utcnow()
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
            )
            .build_client_verifier()
        )
        if leaf.not_valid_after_utc <= now:
            raise CertificateError(
                f"the client certificate expired at {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
            )
        if leaf.not_valid_before_utc > now:
            raise CertificateError("the client certificate is not valid yet")
        try:
            verifier.verify(leaf, list(intermediates))
        except VerificationError as exc:
            raise CertificateError(f"the client certificate is not trusted: {exc}") from None
        try:
            usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        if usage is not None and not (
            ExtendedKeyUsageOID.CLIENT_AUTH in usage or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage
        ):
            raise CertificateError("the certificate is not for client authentication (extendedKeyUsage)")
        return VerifiedCertificate(fingerprint(leaf), subject_of(leaf), leaf.not_valid_after_utc)
