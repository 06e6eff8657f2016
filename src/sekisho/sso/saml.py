"""SAML 2.0 service provider for one organisation's IdP: the AuthnRequest, our metadata, the response.

pysaml2 does the XML work — parsing, XML-DSig verification through ``xmlsec1`` against the
certificates of the IdP's metadata only, the Web SSO profile checks — and ``saml_response``
repeats the checks that decide who signs in, strictly and with our own clock, so that a lax default
of the library (a missing audience, a Recipient equal to the entity id) is not what stands between
an attacker and a session.

The AuthnRequest goes out with the HTTP-Redirect binding, signed over the query string as that
binding specifies. That signature is made here with ``cryptography``: the private key never has
to be written to a file for ``xmlsec1``, and pysaml2's signer objects (shared by every client in
the process, key set per call) are never raced by two sign-ins at once.
"""

from __future__ import annotations

import base64
import logging
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from cryptography.utils import CryptographyDeprecationWarning

from sekisho.sso.provision import SsoDenied
from sekisho.sso.saml_config import IdpMetadata, SamlConfig, idp_metadata
from sekisho.sso.saml_keys import SpKeyPair
from sekisho.sso.store import IdpConfig

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.config import SPConfig
    from saml2.metadata import do_key_descriptor, entity_descriptor
    from saml2.sigver import SecurityContext, SigverError, get_xmlsec_binary, security_context
    from saml2.xmldsig import SIG_RSA_SHA256

log = logging.getLogger("sekisho.sso.saml")


@dataclass(frozen=True, slots=True)
class SpEndpoints:
    """Where Sekisho is, as the SP of one IdP."""

    entity_id: str
    acs_url: str
    metadata_url: str


def sp_endpoints(base: str, idp: IdpConfig, config: SamlConfig) -> SpEndpoints:
    """The SP's URLs under ``base`` (the public URL); the entity id defaults to the metadata URL."""
    prefix = f"{base}/auth/v1/sso/{idp.org_slug}/{idp.slug}/saml"
    metadata_url = f"{prefix}/metadata"
    return SpEndpoints(config.sp_entity_id or metadata_url, f"{prefix}/acs", metadata_url)


class ServiceProvider:
    """Sekisho as the SAML SP of one IdP, built per request from the stored configuration."""

    def __init__(
        self, config: SamlConfig, endpoints: SpEndpoints, keys: SpKeyPair, *, clock_skew_seconds: int
    ) -> None:
        self.config = config
        self.endpoints = endpoints
        self.keys = keys
        # The IdP's own tolerance if configured, else the operator's for every IdP.
        self.skew = config.clock_skew_seconds if config.clock_skew_seconds is not None else clock_skew_seconds
        self.idp: IdpMetadata = idp_metadata(config)

    def pysaml2_config(self, *, allow_unsolicited: bool) -> SPConfig:
        """pysaml2's configuration: strict by default, with the IdP's metadata as the only trust."""
        conf = SPConfig()
        conf.load(
            {
                "entityid": self.endpoints.entity_id,
                "metadata": {"inline": [self.config.idp_metadata_xml]},
                "service": {
                    "sp": {
                        "endpoints": {
                            "assertion_consumer_service": [(self.endpoints.acs_url, BINDING_HTTP_POST)]
                        },
                        "want_assertions_signed": True,
                        # The assertion's own signature is required; a signed Response around it
                        # is checked when present but not demanded (most IdPs sign one or the other).
                        "want_response_signed": False,
                        "authn_requests_signed": self.config.sign_authn_requests,
                        "allow_unsolicited": allow_unsolicited,
                        "name_id_policy_format": self.config.name_id_format,
                    }
                },
                "accepted_time_diff": self.skew,
                "allow_unknown_attributes": True,
                # Signatures are checked against the metadata's certificates, never against a
                # certificate the message carries in its own KeyInfo.
                "only_use_keys_in_metadata": True,
            }
        )
        return conf

    def authn_request(self, request_id: str, relay_state: str) -> str:
        """The URL at the IdP to send the browser to, carrying AuthnRequest ``request_id``.

        ``request_id`` must be an XML name (not starting with a digit); the caller chooses it so
        that it can be stored with the flow before the (signed) URL is made.
        """
        conf = self.pysaml2_config(allow_unsolicited=False)
        with _needs_xmlsec():
            client = Saml2Client(config=conf)
        _id, request = client.create_authn_request(
            self.idp.sso_redirect_url, binding=BINDING_HTTP_POST, message_id=request_id, sign=False
        )
        message = base64.b64encode(_deflate(str(request).encode())).decode()
        params = [("SAMLRequest", message), ("RelayState", relay_state)]
        if self.config.sign_authn_requests:
            # The signature covers the parameters exactly as they appear in the query string.
            params.append(("SigAlg", SIG_RSA_SHA256))
            signed = urlencode(params).encode("ascii")
            params.append(("Signature", base64.b64encode(self.keys.sign_sha256(signed)).decode()))
        glue = "&" if urlsplit(self.idp.sso_redirect_url).query else "?"
        return f"{self.idp.sso_redirect_url}{glue}{urlencode(params)}"

    def security_context(self, conf: SPConfig) -> SecurityContext:
        """pysaml2's signature checker for ``conf`` (xmlsec1 with the IdP's certificates)."""
        with _needs_xmlsec():
            return security_context(conf)

    def metadata_xml(self) -> str:
        """The SP metadata an administrator gives the IdP: entity id, ACS URL, signing certificate."""
        descriptor = entity_descriptor(self.pysaml2_config(allow_unsolicited=False))
        descriptor.spsso_descriptor.key_descriptor = do_key_descriptor(
            cert=self.keys.certificate_b64, use="signing"
        )
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{descriptor}'


def require_xmlsec() -> None:
    """SsoDenied (503) when the xmlsec1 program pysaml2 verifies signatures with is missing."""
    with _needs_xmlsec():
        get_xmlsec_binary()


@contextmanager
def _needs_xmlsec() -> Iterator[None]:
    """SsoDenied (503) instead of a server error when the xmlsec1 program is not installed."""
    try:
        yield
    except SigverError as exc:
        log.error("SAML sign-in needs the xmlsec1 program, which was not found (apt install xmlsec1)")
        raise SsoDenied(
            "SAML sign-in is not available on this server right now.", "saml_unavailable", 503
        ) from exc


def _deflate(data: bytes) -> bytes:
    """Raw DEFLATE (no zlib header), as the HTTP-Redirect binding specifies."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()
