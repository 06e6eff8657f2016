"""SAML assertion checks, each with a Response that is validly signed except for what is tested.

Audience, time limits and clock skew, signatures (missing, another key, changed, SHA-1),
InResponseTo, Destination and Recipient, NameID format, IdP error status, incomplete assertions
and signature wrapping.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sso.conftest import Browser, Site
from tests.sso.saml_idp import Answer, KeyFiles, SamlIdp, assertion_of
from tests.sso.saml_support import (  # noqa: F401
    ALICE,
    MAPPING,
    add_saml_idp,
    begin,
    each_confirmation,
    idp_fixture,
    idp_keys_fixture,
    issued,
    other_keys_fixture,
    post,
    refusal,
    sqlite_only,
)
from tests.sso.test_oidc_flow import failures, user_row


@sqlite_only
def test_an_assertion_for_another_audience_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)

    def elsewhere(response: Any) -> None:
        assertion_of(response).conditions.audience_restriction[0].audience[
            0
        ].text = "https://other-sp.example/saml"

    answer = idp.forged(begin(site, browser, idp), elsewhere, subject="00u-alice", attributes=ALICE)
    assert refusal(post(browser, answer)) == "wrong_audience"
    assert failures(site, org.id) == ["wrong_audience"]


@sqlite_only
def test_an_expired_assertion_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.forged(
        begin(site, browser, idp), issued(minutes_ago=60), subject="00u-alice", attributes=ALICE
    )
    assert refusal(post(browser, answer)) == "assertion_expired"


@sqlite_only
def test_a_clock_slightly_behind_is_tolerated(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    add_saml_idp(site, org, idp, slug="strict", clock_skew_seconds=10, **MAPPING)
    # Expired 40 s ago by its own times: inside the operator's 60 s of clock skew (sso.clock_skew_seconds),
    # outside the 10 s the "strict" IdP allows.
    late = issued(minutes_ago=5, lifetime_seconds=260)
    answer = idp.forged(begin(site, browser, idp), late, subject="00u-alice", attributes=ALICE)
    assert post(browser, answer).status_code == 303
    strict = idp.forged(begin(site, browser, idp, slug="strict"), late, subject="00u-alice", attributes=ALICE)
    assert refusal(post(browser, strict)) == "assertion_expired"


@sqlite_only
def test_an_unsigned_assertion_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    unsigned = idp.forged(
        begin(site, browser, idp), lambda r: None, subject="00u-alice", attributes=ALICE, sign=False
    )
    assert refusal(post(browser, unsigned)) == "assertion_not_signed"
    # A signed Response around an unsigned assertion is not enough either.
    outer_only = idp.answer(
        begin(site, browser, idp),
        subject="00u-alice",
        attributes=ALICE,
        sign_assertion=False,
        sign_response=True,
    )
    assert refusal(post(browser, outer_only)) == "assertion_not_signed"
    assert user_row(site, org.id, "alice@example.com") is None


@sqlite_only
def test_a_signature_by_another_key_is_refused(
    site: Site, idp: SamlIdp, other_keys: KeyFiles, browser: Browser
) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    request = begin(site, browser, idp)
    # Same entity id, same SP trust, but not the key of the metadata Sekisho was given.
    impostor = SamlIdp(other_keys)
    impostor.trust(httpx.get(f"{site.url}/auth/v1/sso/acme/okta/saml/metadata", timeout=10).text)
    answer = impostor.answer(request, subject="00u-alice", attributes=ALICE)
    assert refusal(post(browser, answer)) == "invalid_signature"
    assert failures(site, org.id) == ["invalid_signature"]


@sqlite_only
def test_a_changed_signed_assertion_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(begin(site, browser, idp), subject="00u-mallory", attributes=ALICE)
    xml = base64.b64decode(answer.form["SAMLResponse"]).decode()
    assert xml.count("00u-mallory") == 1
    answer.form["SAMLResponse"] = base64.b64encode(xml.replace("00u-mallory", "00u-alice").encode()).decode()
    assert refusal(post(browser, answer)) == "invalid_signature"


@sqlite_only
def test_a_sha1_signature_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(
        begin(site, browser, idp),
        subject="00u-alice",
        attributes=ALICE,
        sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        digest_alg="http://www.w3.org/2000/09/xmldsig#sha1",
    )
    assert refusal(post(browser, answer)) == "weak_signature"


@sqlite_only
def test_a_response_to_another_request_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    earlier = begin(site, browser, idp)
    current = begin(site, browser, idp)
    answer = idp.answer(earlier, subject="00u-alice", attributes=ALICE, relay_state=current.relay_state)
    assert refusal(post(browser, answer)) == "in_response_to_mismatch"


@sqlite_only
def test_wrong_destination_and_recipient_are_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    elsewhere = "https://other-sp.example/acs"

    def destination(response: Any) -> None:
        response.destination = elsewhere

    def recipient(response: Any) -> None:
        for data in each_confirmation(response):
            data.recipient = elsewhere

    for change, code in ((destination, "wrong_destination"), (recipient, "wrong_recipient")):
        answer = idp.forged(begin(site, browser, idp), change, subject="00u-alice", attributes=ALICE)
        assert refusal(post(browser, answer)) == code


@sqlite_only
def test_a_transient_name_id_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(
        begin(site, browser, idp),
        subject="_transient-1",
        attributes=ALICE,
        name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    )
    assert refusal(post(browser, answer)) == "transient_name_id"


@sqlite_only
def test_an_idp_error_status_is_a_clear_refusal(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    request = begin(site, browser, idp)
    denied = idp.server.create_error_response(
        request.id, request.acs_url, ("urn:oasis:names:tc:SAML:2.0:status:RequestDenied", "not assigned")
    )
    form = {
        "SAMLResponse": base64.b64encode(str(denied).encode()).decode(),
        "RelayState": request.relay_state,
    }
    assert refusal(post(browser, Answer(request.acs_url, form))) == "idp_refused"


def _without_conditions(response: Any) -> None:
    assertion_of(response).conditions = None


def _without_confirmation_expiry(response: Any) -> None:
    for data in each_confirmation(response):
        data.not_on_or_after = None


def _without_subject(response: Any) -> None:
    assertion_of(response).subject = None


@sqlite_only
@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_without_conditions, "wrong_audience"),
        (_without_confirmation_expiry, "invalid_response"),
        (_without_subject, "invalid_response"),
    ],
)
def test_signed_but_incomplete_assertions_are_refused(
    site: Site, idp: SamlIdp, browser: Browser, change: Callable[[Any], None], code: str
) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.forged(begin(site, browser, idp), change, subject="00u-alice", attributes=ALICE)
    assert refusal(post(browser, answer)) == code
    assert user_row(site, org.id, "alice@example.com") is None


@sqlite_only
def test_an_assertion_smuggled_beside_the_signed_one_is_refused(
    site: Site, idp: SamlIdp, browser: Browser
) -> None:
    """Signature wrapping: the signed assertion stays intact, an unsigned one is put in front of it."""
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(begin(site, browser, idp), subject="00u-mallory", attributes=ALICE)
    xml = base64.b64decode(answer.form["SAMLResponse"]).decode()
    start = xml.index("<ns1:Assertion")
    end = xml.index("</ns1:Assertion>") + len("</ns1:Assertion>")
    signed = xml[start:end]
    sig_start, sig_end = (
        signed.index("<ns2:Signature"),
        signed.index("</ns2:Signature>") + len("</ns2:Signature>"),
    )
    evil = (
        (signed[:sig_start] + signed[sig_end:])
        .replace("00u-mallory", "00u-alice")
        .replace('ID="', 'ID="evil-')
    )
    answer.form["SAMLResponse"] = base64.b64encode((xml[:start] + evil + xml[start:]).encode()).decode()
    # One assertion per response, as the Web SSO profile says: the extra one makes it invalid.
    assert refusal(post(browser, answer)) == "invalid_response"
    assert site.tenancy.list_users(org.id) == []


@sqlite_only
def test_during_a_certificate_rollover_either_listed_key_is_accepted(
    site: Site, idp: SamlIdp, other_keys: KeyFiles, browser: Browser
) -> None:
    org = site.org("acme")
    rolled = SamlIdp(other_keys)
    old_md, new_md = idp.metadata_xml(), rolled.metadata_xml()
    key_start, key_end = new_md.index("<ns0:KeyDescriptor"), new_md.index("</ns0:KeyDescriptor>") + 20
    both = old_md.replace("<ns0:KeyDescriptor", new_md[key_start:key_end] + "<ns0:KeyDescriptor", 1)
    created = add_saml_idp(site, org, idp, idp_metadata_xml=both, **MAPPING)
    sp_metadata = httpx.get(created["sp_metadata_url"], timeout=10).text
    rolled.trust(sp_metadata)
    for signer, user in ((idp, "00u-alice"), (rolled, "00u-bob")):
        attributes = {**ALICE, "mail": [f"{user}@example.com"]}
        answer = signer.answer(begin(site, browser, idp), subject=user, attributes=attributes)
        assert post(browser, answer).status_code == 303, user
