"""SAML IdP configuration: what the admin API accepts, the SP key pair, and Sekisho's SP metadata."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
from cryptography.utils import CryptographyDeprecationWarning
from pydantic import ValidationError

from sekisho.sso.saml_config import SamlConfig
from sekisho.sso.saml_keys import load_key_pair, new_key_pair, sp_secret
from tests.sso.conftest import Site
from tests.sso.saml_idp import KeyFiles, SamlIdp, make_keys

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import BINDING_HTTP_POST
    from saml2.md import entity_descriptor_from_string

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    return make_keys(tmp_path_factory.mktemp("saml-config-keys"), "idp")


@pytest.fixture
def metadata(keys: KeyFiles) -> str:
    return SamlIdp(keys).metadata_xml()


def error_of(config: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        SamlConfig.model_validate(config)
    return str(caught.value)


def test_a_config_with_usable_metadata_is_accepted(metadata: str) -> None:
    config = SamlConfig.model_validate(
        {"idp_metadata_xml": metadata, "jit": True, "role_mapping": {"a": "admin"}}
    )
    assert (config.email_attribute, config.allow_idp_initiated, config.sign_authn_requests) == (
        "email",
        False,
        True,
    )
    assert config.jit and config.role_mapping == {"a": "admin"}


def test_unusable_metadata_is_refused_with_the_reason(metadata: str) -> None:
    assert "not valid SAML metadata" in error_of({"idp_metadata_xml": "<not-xml"})
    sp_only = '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>'
    assert "no identity provider" in error_of({"idp_metadata_xml": sp_only})
    no_redirect = metadata.replace("HTTP-Redirect", "HTTP-POST")
    assert "HTTP-Redirect" in error_of({"idp_metadata_xml": no_redirect})
    start, end = metadata.index("<ns0:KeyDescriptor"), metadata.index("</ns0:KeyDescriptor>")
    unsigned = metadata[:start] + metadata[end + len("</ns0:KeyDescriptor>") :]
    assert "signing certificate" in error_of({"idp_metadata_xml": unsigned})
    assert "is not in the metadata" in error_of(
        {"idp_metadata_xml": metadata, "idp_entity_id": "https://other"}
    )


def test_metadata_with_entities_is_refused_without_expanding_them(metadata: str) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + metadata.replace("entityID=", 'x="&b;" entityID=', 1)
    )
    assert "not valid SAML metadata" in error_of({"idp_metadata_xml": bomb})


def test_unknown_keys_and_an_owner_default_role_are_refused(metadata: str) -> None:
    assert "extra" in error_of({"idp_metadata_xml": metadata, "idp_metadata": "typo"}).lower()
    assert "owner" in error_of({"idp_metadata_xml": metadata, "default_role": "owner"})
    assert "clock_skew_seconds" in error_of({"idp_metadata_xml": metadata, "clock_skew_seconds": 3600})


def test_the_sp_secret_is_a_matching_pem_pair() -> None:
    generated = sp_secret(None, name="Sekisho SP acme/okta")
    pair = load_key_pair(generated)
    assert "Sekisho SP acme/okta" in pair.certificate.subject.rfc4514_string()
    assert sp_secret(generated, name="ignored") == generated
    other = new_key_pair("other").to_secret()
    key_only = generated[: generated.index("-----BEGIN CERTIFICATE")]
    mismatched = key_only + other[other.index("-----BEGIN CERTIFICATE") :]
    with pytest.raises(ValueError, match="does not belong"):
        sp_secret(mismatched, name="x")
    with pytest.raises(ValueError, match="PEM private key followed by"):
        sp_secret(key_only, name="x")


@sqlite_only
def test_the_admin_api_explains_a_bad_saml_config(site: Site, metadata: str) -> None:
    org = site.org("acme")

    def create(config: dict[str, Any], **extra: Any) -> httpx.Response:
        body = {"org_id": org.id, "slug": "okta", "kind": "saml", "name": "Okta", "config": config, **extra}
        return httpx.post(f"{site.url}/admin/v1/idps", json=body, headers=site.master(), timeout=10)

    bad = create({"idp_metadata_xml": "<oops"})
    assert bad.status_code == 400
    assert "not valid SAML metadata" in bad.json()["error"]["message"]
    missing = create({"email_attribute": "mail"})
    assert missing.status_code == 400 and "idp_metadata_xml" in missing.json()["error"]["message"]
    bad_secret = create(
        {"idp_metadata_xml": metadata}, secret="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
    )
    assert bad_secret.status_code == 400 and bad_secret.json()["error"]["param"] == "secret"
    good = create({"idp_metadata_xml": metadata})
    assert good.status_code == 201, good.text
    assert good.json()["has_secret"] is True
    assert "PRIVATE KEY" not in good.text


@sqlite_only
def test_sp_metadata_names_the_entity_acs_and_signing_certificate(site: Site, metadata: str) -> None:
    org = site.org("acme")
    own = new_key_pair("Our own SP key")
    body = {
        "org_id": org.id,
        "slug": "okta",
        "kind": "saml",
        "name": "Okta",
        "config": {"idp_metadata_xml": metadata},
        "secret": own.to_secret(),
    }
    created = httpx.post(f"{site.url}/admin/v1/idps", json=body, headers=site.master(), timeout=10).json()

    answer = httpx.get(created["sp_metadata_url"], timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/samlmetadata+xml")
    descriptor = entity_descriptor_from_string(answer.text)
    assert descriptor.entity_id == f"{site.url}/auth/v1/sso/acme/okta/saml/metadata"
    sp = descriptor.spsso_descriptor[0]
    assert [(a.location, a.binding) for a in sp.assertion_consumer_service] == [
        (f"{site.url}/auth/v1/sso/acme/okta/saml/acs", BINDING_HTTP_POST)
    ]
    assert (sp.authn_requests_signed, sp.want_assertions_signed) == ("true", "true")
    [key] = sp.key_descriptor
    assert key.use == "signing"
    assert key.key_info.x509_data[0].x509_certificate.text == own.certificate_b64
    assert "PRIVATE" not in answer.text


@sqlite_only
def test_sp_metadata_uses_a_configured_entity_id_and_is_only_for_saml_idps(site: Site, metadata: str) -> None:
    org = site.org("acme")
    body = {
        "org_id": org.id,
        "slug": "okta",
        "kind": "saml",
        "name": "Okta",
        "config": {"idp_metadata_xml": metadata, "sp_entity_id": "urn:sekisho:acme"},
    }
    created = httpx.post(f"{site.url}/admin/v1/idps", json=body, headers=site.master(), timeout=10).json()
    descriptor = entity_descriptor_from_string(httpx.get(created["sp_metadata_url"], timeout=10).text)
    assert descriptor.entity_id == "urn:sekisho:acme"
    assert httpx.get(f"{site.url}/auth/v1/sso/acme/nope/saml/metadata", timeout=10).status_code == 404
    assert httpx.get(f"{site.url}/auth/v1/sso/globex/okta/saml/metadata", timeout=10).status_code == 404
