"""A SAML 2.0 identity provider for the tests: pysaml2's own IdP (``saml2.server.Server``).

Its key and certificate are made here with ``cryptography``. It reads Sekisho's SP metadata
(fetched from Sekisho's metadata URL), checks the signature of the AuthnRequest it is sent,
and answers with a Response that ``xmlsec1`` signs — exactly, or, for the attack tests, after
changing a field before signing (audience, times, InResponseTo), so that the signature is valid
and only the check under test can refuse it.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import BINDING_HTTP_REDIRECT, class_name, samlp
    from saml2.config import IdPConfig
    from saml2.metadata import entity_descriptor
    from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
    from saml2.server import Server
    from saml2.sigver import pre_signature_part, signed_instance_factory
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

IDP_ENTITY_ID = "https://idp.example.test/saml/metadata"
IDP_SSO_URL = "https://idp.example.test/saml/sso"
PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


@dataclass(frozen=True)
class KeyFiles:
    """A private key and self-signed certificate, as PEM files (xmlsec1 reads files)."""

    key: Path
    cert: Path


def make_keys(directory: Path, name: str) -> KeyFiles:
    """A 2048-bit RSA key and a certificate for it, written under ``directory``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = KeyFiles(directory / f"{name}.key", directory / f"{name}.crt")
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


@dataclass(frozen=True)
class SeenRequest:
    """An AuthnRequest the IdP received (its signature checked)."""

    id: str
    acs_url: str
    sp_entity_id: str
    relay_state: str
    name_id_format: str | None


@dataclass(frozen=True)
class Answer:
    """What the IdP's auto-submitting form would post to the ACS."""

    acs_url: str
    form: dict[str, str]


class SamlIdp:
    """pysaml2's IdP with the given keys, trusting the SP metadata it was shown."""

    def __init__(self, keys: KeyFiles, *, entity_id: str = IDP_ENTITY_ID, sso_url: str = IDP_SSO_URL) -> None:
        self.keys = keys
        self.entity_id = entity_id
        self.sso_url = sso_url
        self._sp_metadata: list[str] = []
        self.server = self._server()

    def _config(self) -> dict[str, Any]:
        return {
            "entityid": self.entity_id,
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                    "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                    "want_authn_requests_signed": True,
                    "sign_assertion": True,
                }
            },
            "key_file": str(self.keys.key),
            "cert_file": str(self.keys.cert),
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "metadata": {"inline": self._sp_metadata} if self._sp_metadata else {},
        }

    def _server(self) -> Server:
        conf = IdPConfig()
        conf.load(self._config())
        return Server(config=conf)

    def metadata_xml(self) -> str:
        """The IdP metadata an administrator pastes into Sekisho."""
        conf = IdPConfig()
        conf.load({**self._config(), "metadata": {}})
        return str(entity_descriptor(conf))

    def trust(self, sp_metadata: str) -> None:
        """Register an SP (its metadata: entity id, ACS, request-signing certificate)."""
        self._sp_metadata.append(sp_metadata)
        self.server = self._server()

    def read_request(self, location: str) -> SeenRequest:
        """The AuthnRequest in the redirect ``location``; raises when its signature is not valid."""
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == self.sso_url, location
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        parsed = self.server.parse_authn_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query.get("SigAlg"),
            signature=query.get("Signature"),
        )
        message = parsed.message
        policy = message.name_id_policy
        return SeenRequest(
            id=message.id,
            acs_url=message.assertion_consumer_service_url,
            sp_entity_id=message.issuer.text,
            relay_state=query.get("RelayState", ""),
            name_id_format=policy.format if policy is not None else None,
        )

    def answer(
        self,
        request: SeenRequest,
        *,
        subject: str,
        attributes: dict[str, list[str]],
        name_id_format: str = NAMEID_FORMAT_PERSISTENT,
        relay_state: str | None = None,
        **kwargs: Any,
    ) -> Answer:
        """The signed Response pysaml2's IdP makes for ``request`` (kwargs go to create_authn_response)."""
        options: dict[str, Any] = {
            "sign_assertion": True,
            "sign_response": False,
            "sign_alg": SIG_RSA_SHA256,
            "digest_alg": DIGEST_SHA256,
            **kwargs,
        }
        xml = self.server.create_authn_response(
            attributes,
            request.id,
            request.acs_url,
            request.sp_entity_id,
            name_id=NameID(format=name_id_format, text=subject),
            authn={"class_ref": PASSWORD_CONTEXT, "authn_auth": self.entity_id},
            **options,
        )
        return self._post(request, str(xml), relay_state)

    def forged(
        self,
        request: SeenRequest,
        change: Callable[[Any], None],
        *,
        subject: str,
        attributes: dict[str, list[str]],
        sign: bool = True,
        relay_state: str | None = None,
    ) -> Answer:
        """A Response built as in ``answer``, changed by ``change(response)``, then signed (or not)."""
        response = self.server.create_authn_response(
            attributes,
            request.id,
            request.acs_url,
            request.sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": PASSWORD_CONTEXT, "authn_auth": self.entity_id},
            sign_assertion=False,
            sign_response=False,
        )
        assert isinstance(response, samlp.Response)
        change(response)
        if not sign:
            return self._post(request, str(response), relay_state)
        assertion = assertion_of(response)
        assertion.signature = pre_signature_part(
            assertion.id, self.server.sec.my_cert, 1, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
        )
        signed = signed_instance_factory(response, self.server.sec, [(class_name(assertion), assertion.id)])
        return self._post(request, str(signed), relay_state)

    @staticmethod
    def _post(request: SeenRequest, xml: str, relay_state: str | None) -> Answer:
        form = {
            "SAMLResponse": base64.b64encode(xml.encode()).decode(),
            "RelayState": request.relay_state if relay_state is None else relay_state,
        }
        return Answer(request.acs_url, form)


def assertion_of(response: Any) -> Any:
    """The Response's one assertion (pysaml2 holds a list or, freshly built, the element itself)."""
    return response.assertion[0] if isinstance(response.assertion, list) else response.assertion


def saml_time(when: datetime) -> str:
    """xs:dateTime in UTC, as SAML writes it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
