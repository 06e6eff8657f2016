"""What an organisation configures for a SAML 2.0 identity provider (``idp_configs.config``).

The IdP is described by its metadata XML (downloaded from the IdP's admin console and pasted in);
its signing certificates there are the only keys Sekisho accepts signatures from. The mapping keys
(``jit``, ``default_role``, ``role_mapping``, ``group_sync``) mean the same as for OIDC.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.utils import CryptographyDeprecationWarning
from pydantic import Field, model_validator

from sekisho.sso.mapping import MappingConfig

# pysaml2 imports a cipher mode that cryptography has deprecated (it never uses it for SAML);
# the warning would otherwise surface, and fail the test suite, wherever saml2 is first imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import BINDING_HTTP_REDIRECT, SAMLError
    from saml2.attribute_converter import ac_factory
    from saml2.config import Config
    from saml2.mdstore import MetadataStore, ToOld
    from saml2.s_utils import SamlException
    from saml2.sigver import SigverError

_MAX_METADATA = 1_000_000


class SamlConfig(MappingConfig):
    """A SAML identity provider of one organisation."""

    idp_metadata_xml: str = Field(
        max_length=_MAX_METADATA,
        description="The IdP's SAML metadata XML (its entity id, single sign-on URL and signing "
        "certificates). Replace it when the IdP rolls over its signing certificate.",
    )
    idp_entity_id: str | None = Field(
        None,
        max_length=1000,
        description="Which IdP of the metadata to use, when it describes more than one.",
    )
    sp_entity_id: str | None = Field(
        None,
        max_length=1000,
        description="Sekisho's entity id (the audience) at this IdP. Default: the SP metadata URL, "
        "<public_url>/auth/v1/sso/<org>/<idp>/saml/metadata.",
    )
    email_attribute: str = Field(
        "email",
        min_length=1,
        max_length=500,
        description="Attribute (Name or FriendlyName) holding the e-mail address. When absent, a "
        "NameID in emailAddress format is used.",
    )
    name_attribute: str = Field(
        "name", min_length=1, max_length=500, description="Attribute holding the display name."
    )
    groups_attribute: str = Field(
        "groups",
        min_length=1,
        max_length=500,
        description="Multi-valued attribute holding the user's groups (for role_mapping and group_sync).",
    )
    name_id_format: str | None = Field(
        None,
        max_length=200,
        description="NameID format to ask for, e.g. urn:oasis:names:tc:SAML:2.0:nameid-format:persistent. "
        "Default: whatever the IdP is set up to send.",
    )
    allow_idp_initiated: bool = Field(
        False,
        description="Accept responses Sekisho did not ask for (sign-in started from the IdP's app "
        "launcher). Off by default: such responses cannot be tied to a browser, which allows "
        "login CSRF.",
    )
    sign_authn_requests: bool = Field(True, description="Sign AuthnRequests with the SP key.")
    clock_skew_seconds: int | None = Field(
        None,
        ge=0,
        le=600,
        description="Tolerance for the IdP's clock in the assertion's time limits. Default: the "
        "operator's sso.clock_skew_seconds.",
    )

    @model_validator(mode="after")
    def _metadata_usable(self) -> SamlConfig:
        idp_metadata(self)
        return self

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> SamlConfig:
        """The stored configuration, all of it validated (not only the mapping keys)."""
        return cls.model_validate(dict(config))


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    """The parts of the IdP's metadata Sekisho uses."""

    entity_id: str
    sso_redirect_url: str
    signing_certificates: int


def load_metadata_store(xml: str) -> MetadataStore:
    """pysaml2's metadata store holding ``xml``; ValueError when it is not SAML metadata."""
    try:
        # pysaml2 wants xmlsec1 even to read metadata it will not verify.
        store = MetadataStore(ac_factory(), Config())
    except SigverError as exc:
        raise ValueError("SAML needs the xmlsec1 program on the Sekisho server, and it is missing") from exc
    try:
        store.load("inline", xml)
    except ToOld as exc:
        raise ValueError("the IdP metadata has expired (its validUntil has passed)") from exc
    except Exception as exc:
        # pysaml2 raises a dozen unrelated exception types for malformed metadata; its parser
        # refuses DTDs and entities (defusedxml), so an XML bomb lands here too.
        raise ValueError("idp_metadata_xml is not valid SAML metadata XML") from exc
    return store


def idp_metadata(config: SamlConfig) -> IdpMetadata:
    """The IdP the configuration points at; ValueError saying what is missing."""
    store = load_metadata_store(config.idp_metadata_xml)
    idps = list(store.identity_providers())
    if not idps:
        raise ValueError("idp_metadata_xml describes no identity provider (IDPSSODescriptor)")
    if config.idp_entity_id is not None:
        if config.idp_entity_id not in idps:
            raise ValueError(f"idp_entity_id {config.idp_entity_id!r} is not in the metadata")
        entity_id = config.idp_entity_id
    elif len(idps) == 1:
        entity_id = idps[0]
    else:
        raise ValueError("the metadata describes several identity providers: set idp_entity_id")
    try:
        services = store.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    except (SAMLError, SamlException):
        services = []
    if not services or not services[0].get("location"):
        raise ValueError("the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding")
    certs = store.certs(entity_id, "idpsso", "signing")
    if not certs:
        raise ValueError("the IdP metadata has no signing certificate (KeyDescriptor)")
    return IdpMetadata(entity_id, str(services[0]["location"]), len(certs))
