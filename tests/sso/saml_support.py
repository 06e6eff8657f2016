"""Helpers for the SAML tests: the test IdP's keys, adding a SAML IdP to Sekisho, one browser's flow.

The browser (one httpx cookie jar) starts at Sekisho, is redirected to the IdP with a signed
AuthnRequest, and posts the IdP's signed Response to Sekisho's ACS, as the IdP's auto-submitting
form would make a browser do. Test modules import the fixtures from here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sekisho.identity import Org
from tests.sso.conftest import Browser, Site
from tests.sso.saml_idp import Answer, KeyFiles, SamlIdp, SeenRequest, assertion_of, make_keys, saml_time

# Checks of the protocol alone do not depend on the database: they run on SQLite only. The flows
# that store state (single-use flows, the replay guard, provisioning) run on both databases.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


ALICE = {"mail": ["alice@example.com"], "displayName": ["Alice Admin"], "groups": ["sekisho-admins", "eng"]}
MAPPING = {"jit": True, "role_mapping": {"sekisho-admins": "admin"}}


@pytest.fixture(scope="session", name="idp_keys")
def idp_keys_fixture(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    return make_keys(tmp_path_factory.mktemp("saml-keys"), "idp")


@pytest.fixture(scope="session", name="other_keys")
def other_keys_fixture(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    return make_keys(tmp_path_factory.mktemp("saml-keys-other"), "other")


@pytest.fixture(name="idp")
def idp_fixture(idp_keys: KeyFiles) -> SamlIdp:
    return SamlIdp(idp_keys)


def add_saml_idp(site: Site, org: Org, idp: SamlIdp, *, slug: str = "okta", **config: Any) -> dict[str, Any]:
    """A SAML IdP for ``org`` through the admin API; the IdP is given Sekisho's SP metadata."""
    body = {
        "org_id": org.id,
        "slug": slug,
        "kind": "saml",
        "name": "Okta",
        "config": {
            "idp_metadata_xml": idp.metadata_xml(),
            "email_attribute": "mail",
            "name_attribute": "displayName",
            **config,
        },
    }
    created = httpx.post(f"{site.url}/admin/v1/idps", json=body, headers=site.master(), timeout=10)
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()
    metadata = httpx.get(data["sp_metadata_url"], timeout=10)
    assert metadata.status_code == 200, metadata.text
    idp.trust(metadata.text)
    return data


def begin(
    site: Site, browser: Browser, idp: SamlIdp, org_slug: str = "acme", slug: str = "okta", **params: str
) -> SeenRequest:
    """Start a sign-in at Sekisho; the AuthnRequest as the IdP receives it (signature checked)."""
    url = httpx.URL(f"{site.url}/auth/v1/sso/{org_slug}/{slug}/start", params=params)
    response = browser.get(str(url))
    assert response.status_code == 303, response.text
    return idp.read_request(response.headers["location"])


def post(browser: Browser, answer: Answer, *, acs_url: str | None = None) -> httpx.Response:
    return browser.http.post(
        acs_url or answer.acs_url, data=answer.form, headers={"accept": "application/json"}
    )


def refusal(response: httpx.Response) -> str:
    assert response.status_code in (400, 403, 404), f"{response.status_code}: {response.text[:300]}"
    code: str = response.json()["error"]["code"]
    return code


def each_confirmation(response: Any) -> list[Any]:
    return [c.subject_confirmation_data for c in assertion_of(response).subject.subject_confirmation]


def issued(*, minutes_ago: float, lifetime_seconds: float = 300) -> Callable[[Any], None]:
    """A change that makes the response look issued ``minutes_ago``, valid for ``lifetime_seconds``."""

    def change(response: Any) -> None:
        start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        end = saml_time(start + timedelta(seconds=lifetime_seconds))
        response.issue_instant = saml_time(start)
        assertion = assertion_of(response)
        assertion.issue_instant = saml_time(start)
        assertion.conditions.not_before = saml_time(start)
        assertion.conditions.not_on_or_after = end
        for statement in assertion.authn_statement:
            statement.authn_instant = saml_time(start)
        for data in each_confirmation(response):
            data.not_on_or_after = end

    return change
