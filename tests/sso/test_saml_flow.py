"""SAML 2.0 sign-in end to end: Sekisho (behind uvicorn) ↔ pysaml2's IdP, with keys made by the test.

Sign-in and provisioning, single-use flows, replay, IdP-initiated sign-in, other organisations'
IdPs, open redirects, TLS cookies, and how errors look (never a 500, no assertion in the logs).
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sekisho.store.tables import user_identities
from tests.sso.conftest import Browser, Site
from tests.sso.saml_idp import KeyFiles, SamlIdp, SeenRequest
from tests.sso.saml_support import (  # noqa: F401
    ALICE,
    MAPPING,
    add_saml_idp,
    begin,
    idp_fixture,
    idp_keys_fixture,
    issued,
    other_keys_fixture,
    post,
    refusal,
    sqlite_only,
)
from tests.sso.test_oidc_flow import add_group, failures, kinds, member_groups, session_cookie, user_row

BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0" '
    b'IssueInstant="2030-01-01T00:00:00Z">&c;</samlp:Response>'
)


def test_sign_in_provisions_the_user_with_mapped_role_and_groups(
    site: Site, idp: SamlIdp, browser: Browser
) -> None:
    org = site.org("acme")
    eng = add_group(site, org.id, "Engineering", external_id="eng")
    add_group(site, org.id, "finance")
    created = add_saml_idp(site, org, idp, groups_attribute="groups", **MAPPING)

    request = begin(site, browser, idp, next="/console/keys?tab=mine")
    assert request.acs_url == created["acs_url"] == f"{site.url}/auth/v1/sso/acme/okta/saml/acs"
    assert request.sp_entity_id == created["sp_metadata_url"]
    answer = post(browser, idp.answer(request, subject="00u-alice", attributes=ALICE))

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/keys?tab=mine"
    session = site.sso.sessions.lookup(session_cookie(answer, site))
    assert session is not None
    assert (session.org_id, session.method) == (org.id, "saml")
    user = user_row(site, org.id, "alice@example.com")
    assert (user["id"], user["role"], user["name"]) == (session.user_id, "admin", "Alice Admin")
    assert member_groups(site, user["id"]) == {eng}
    with site.engine.connect() as conn:
        link = (
            conn.execute(select(user_identities).where(user_identities.c.user_id == user["id"]))
            .mappings()
            .one()
        )
    assert link["subject"] == "00u-alice"
    assert {"user.provisioned", "sso.login.succeeded"} <= set(kinds(site, org.id))


def test_a_returning_user_is_found_by_subject(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    first = post(browser, idp.answer(begin(site, browser, idp), subject="00u-alice", attributes=ALICE))
    assert first.status_code == 303, first.text
    first_session = site.sso.sessions.lookup(session_cookie(first, site))
    assert first_session is not None
    # The address changed at the IdP; the persistent NameID still names the same person.
    renamed = {**ALICE, "mail": ["alice.new@example.com"]}
    second = post(browser, idp.answer(begin(site, browser, idp), subject="00u-alice", attributes=renamed))
    assert second.status_code == 303, second.text
    second_session = site.sso.sessions.lookup(session_cookie(second, site))
    assert second_session is not None and second_session.user_id == first_session.user_id
    # Signing in again in the same browser replaced its previous session.
    assert site.sso.sessions.lookup(session_cookie(first, site)) is None
    assert len(site.tenancy.list_users(org.id)) == 1


def test_a_posted_response_is_refused_the_second_time(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(begin(site, browser, idp), subject="00u-alice", attributes=ALICE)
    assert post(browser, answer).status_code == 303
    # The flow (RelayState) was used up by the first post.
    assert refusal(post(browser, answer)) == "unknown_flow"
    # With a fresh flow of this browser, the old response does not answer its request.
    begin(site, browser, idp)
    answer.form["RelayState"] = begin(site, browser, idp).relay_state
    assert refusal(post(browser, answer)) == "in_response_to_mismatch"


def test_a_replayed_idp_initiated_assertion_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    created = add_saml_idp(site, org, idp, allow_idp_initiated=True, **MAPPING)
    unsolicited = SeenRequest(None, created["acs_url"], created["sp_metadata_url"], "/console", None)  # type: ignore[arg-type]
    answer = idp.answer(unsolicited, subject="00u-alice", attributes=ALICE)

    first = post(browser, answer)
    assert first.status_code == 303, first.text
    assert first.headers["location"] == "/console"
    other = Browser()
    try:
        assert refusal(post(other, answer)) == "assertion_replayed"
    finally:
        other.close()
    assert failures(site, org.id) == ["assertion_replayed"]


@sqlite_only
def test_an_idp_initiated_response_is_refused_unless_allowed(
    site: Site, idp: SamlIdp, browser: Browser
) -> None:
    org = site.org("acme")
    created = add_saml_idp(site, org, idp, **MAPPING)
    unsolicited = SeenRequest(None, created["acs_url"], created["sp_metadata_url"], "", None)  # type: ignore[arg-type]
    assert (
        refusal(post(browser, idp.answer(unsolicited, subject="00u-alice", attributes=ALICE)))
        == "unknown_flow"
    )


@sqlite_only
def test_an_idp_initiated_response_may_not_claim_to_answer_a_request(
    site: Site, idp: SamlIdp, browser: Browser
) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, allow_idp_initiated=True, **MAPPING)
    request = begin(site, browser, idp)
    # A response to a real request, with its flow lost: it cannot pass as an unsolicited one.
    answer = idp.answer(request, subject="00u-alice", attributes=ALICE, relay_state="")
    assert refusal(post(browser, answer)) == "in_response_to_mismatch"


@sqlite_only
def test_a_response_started_in_another_browser_is_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    """Login CSRF: the attacker's own finished sign-in, posted by the victim's browser."""
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(begin(site, browser, idp), subject="00u-mallory", attributes=ALICE)
    victim = Browser()
    try:
        assert refusal(post(victim, answer)) == "browser_mismatch"
        assert not victim.http.cookies.get(site.settings.identity.sessions.cookie_name)
    finally:
        victim.close()


def test_the_idp_of_another_organisation_is_refused(
    site: Site, idp: SamlIdp, other_keys: KeyFiles, browser: Browser
) -> None:
    acme, globex = site.org("acme"), site.org("globex")
    add_saml_idp(site, acme, idp, **MAPPING)
    globex_idp = SamlIdp(other_keys, entity_id="https://globex-idp.example.test/saml")
    add_saml_idp(site, globex, globex_idp, **MAPPING)

    # A flow of acme's IdP finished at globex's ACS.
    request = begin(site, browser, idp)
    answer = idp.answer(request, subject="00u-alice", attributes=ALICE)
    assert (
        refusal(post(browser, answer, acs_url=f"{site.url}/auth/v1/sso/globex/okta/saml/acs"))
        == "flow_mismatch"
    )
    # Globex's IdP answering acme's request: signed, but not by acme's IdP.
    request = begin(site, browser, idp)
    forged = globex_idp.answer(request, subject="00u-alice", attributes=ALICE)
    assert refusal(post(browser, forged)) == "wrong_issuer"
    assert failures(site, acme.id) == ["wrong_issuer"]
    assert failures(site, globex.id) == ["flow_mismatch"]
    assert site.tenancy.list_users(acme.id) == []


@sqlite_only
def test_open_redirects_are_refused(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    created = add_saml_idp(site, org, idp, allow_idp_initiated=True, **MAPPING)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = browser.get(
            str(httpx.URL(f"{site.url}/auth/v1/sso/acme/okta/start", params={"next": target}))
        )
        assert response.status_code == 400, target
        assert response.json()["error"]["code"] == "invalid_next"
    # An IdP-initiated RelayState naming another site lands on the console's home instead.
    unsolicited = SeenRequest(
        None, created["acs_url"], created["sp_metadata_url"], "https://evil.example/", None
    )  # type: ignore[arg-type]
    answer = post(browser, idp.answer(unsolicited, subject="00u-alice", attributes=ALICE))
    assert answer.status_code == 303 and answer.headers["location"] == "/"


@sqlite_only
def test_a_disabled_idp_refuses_sign_in(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    created = add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(begin(site, browser, idp), subject="00u-alice", attributes=ALICE)
    patched = httpx.patch(
        f"{site.url}/admin/v1/idps/{created['id']}",
        params={"org_id": org.id},
        json={"enabled": False},
        headers=site.master(),
        timeout=10,
    )
    assert patched.status_code == 200, patched.text
    assert refusal(post(browser, answer)) == "idp_disabled"


@sqlite_only
def test_malformed_posts_get_clear_errors(site: Site, idp: SamlIdp, browser: Browser) -> None:
    org = site.org("acme")
    created = add_saml_idp(site, org, idp, **MAPPING)
    acs = created["acs_url"]
    relay = begin(site, browser, idp).relay_state
    cases: list[tuple[dict[str, str], int]] = [
        ({"RelayState": relay}, 400),
        ({"SAMLResponse": "not base64!", "RelayState": begin(site, browser, idp).relay_state}, 400),
        (
            {
                "SAMLResponse": base64.b64encode(b"<x/>").decode(),
                "RelayState": begin(site, browser, idp).relay_state,
            },
            400,
        ),
        (
            {
                # Entities are never expanded (defusedxml): a "billion laughs" is just refused.
                "SAMLResponse": base64.b64encode(BOMB).decode(),
                "RelayState": begin(site, browser, idp).relay_state,
            },
            400,
        ),
        (
            {
                "SAMLResponse": base64.b64encode(b"\xff\xfe").decode(),
                "RelayState": begin(site, browser, idp).relay_state,
            },
            400,
        ),
    ]
    for form, status in cases:
        response = browser.http.post(acs, data=form, headers={"accept": "application/json"})
        assert response.status_code == status, (form, response.text)
        assert response.json()["error"]["code"] == "invalid_response"
    too_big = browser.http.post(
        acs, data={"SAMLResponse": "A" * 600_000}, headers={"accept": "application/json"}
    )
    assert too_big.status_code == 413
    as_json = browser.http.post(acs, json={"SAMLResponse": "x"})
    assert as_json.status_code == 400
    unknown = browser.http.post(f"{site.url}/auth/v1/sso/acme/nope/saml/acs", data={"SAMLResponse": "x"})
    assert unknown.status_code == 404
    page = browser.http.post(acs, data={"SAMLResponse": "x"}, headers={"accept": "text/html"})
    assert page.status_code == 400 and "Sign-in failed" in page.text


@sqlite_only
def test_no_assertion_reaches_the_logs(
    site: Site, idp: SamlIdp, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    caplog.set_level(logging.DEBUG)
    good = idp.answer(begin(site, browser, idp), subject="00u-secret-subject", attributes=ALICE)
    bad = idp.forged(
        begin(site, browser, idp), issued(minutes_ago=60), subject="00u-secret-subject", attributes=ALICE
    )
    assert refusal(post(browser, bad)) == "assertion_expired"
    assert post(browser, good).status_code == 303
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "00u-secret-subject" not in logged
    assert good.form["SAMLResponse"][:40] not in logged
    assert "alice@example.com" not in logged


@sqlite_only
def test_authn_requests_are_signed_with_the_sp_key_unless_turned_off(
    site: Site, idp: SamlIdp, browser: Browser
) -> None:
    org = site.org("acme")
    created = add_saml_idp(site, org, idp, **MAPPING)
    response = browser.get(f"{site.url}/auth/v1/sso/acme/okta/start")
    location = httpx.URL(response.headers["location"])
    assert location.params["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    idp.read_request(str(location))
    # The IdP checks that signature: a changed RelayState no longer matches it.
    forged = location.copy_set_param("RelayState", "someone-elses-flow")
    with pytest.raises(Exception, match="not signed correctly"):
        idp.read_request(str(forged))

    config = {**created["config"], "sign_authn_requests": False}
    patched = httpx.patch(
        f"{site.url}/admin/v1/idps/{created['id']}",
        params={"org_id": org.id},
        json={"config": config},
        headers=site.master(),
        timeout=10,
    )
    assert patched.status_code == 200, patched.text
    unsigned = httpx.URL(browser.get(f"{site.url}/auth/v1/sso/acme/okta/start").headers["location"])
    assert "Signature" not in unsigned.params and "SigAlg" not in unsigned.params


@sqlite_only
def test_without_xmlsec1_saml_sign_in_is_unavailable_not_an_error(
    site: Site, idp: SamlIdp, browser: Browser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    answer = idp.answer(begin(site, browser, idp), subject="00u-alice", attributes=ALICE)
    monkeypatch.setenv("PATH", str(tmp_path))
    started = browser.get(f"{site.url}/auth/v1/sso/acme/okta/start", headers={"accept": "application/json"})
    assert started.status_code == 503 and started.json()["error"]["code"] == "saml_unavailable"
    posted = post(browser, answer)
    assert posted.status_code == 503 and posted.json()["error"]["code"] == "saml_unavailable"


@pytest.mark.anyio
@sqlite_only
async def test_over_https_the_cookies_are_secure_and_the_flow_works(site: Site, idp: SamlIdp) -> None:
    """Behind TLS the binding cookie is SameSite=None; Secure: the IdP's cross-site POST carries it."""
    org = site.org("acme")
    add_saml_idp(site, org, idp, **MAPPING)
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://sekisho.example") as client:
        idp.trust((await client.get("/auth/v1/sso/acme/okta/saml/metadata")).text)
        started = await client.get("/auth/v1/sso/acme/okta/start")
        assert started.status_code == 303, started.text
        binding = next(
            c for c in started.headers.get_list("set-cookie") if c.startswith("sekisho_saml_browser=")
        )
        assert {"secure", "httponly", "samesite=none", "path=/auth/v1/sso/"} <= {
            part.strip().lower() for part in binding.split(";")
        }
        request = idp.read_request(started.headers["location"])
        assert request.acs_url == "https://sekisho.example/auth/v1/sso/acme/okta/saml/acs"
        answer = idp.answer(request, subject="00u-alice", attributes=ALICE)
        done = await client.post("/auth/v1/sso/acme/okta/saml/acs", data=answer.form)
    assert done.status_code == 303, done.text
    session = next(c for c in done.headers.get_list("set-cookie") if c.startswith("sekisho_session="))
    assert "secure" in session.lower()
