"""OpenID Connect sign-in end to end: Sekisho ↔ a real oidc-provider, through real HTTP redirects."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import insert, select, update

from sekisho.clock import new_id, utcnow
from sekisho.sso import SsoDenied
from sekisho.store.tables import group_members, groups, sessions, user_identities, users, verified_domains
from tests.sso.conftest import Browser, OidcPeer, Site, start_url


def session_cookie(response: httpx.Response, site: Site) -> str:
    name = site.settings.identity.sessions.cookie_name
    value = response.cookies.get(name)
    assert value, f"no session cookie: {response.status_code} {response.text[:300]}"
    return value


def user_row(site: Site, org_id: str, email: str) -> Any:
    with site.engine.connect() as conn:
        return (
            conn.execute(select(users).where(users.c.org_id == org_id, users.c.email == email))
            .mappings()
            .first()
        )


def kinds(site: Site, org_id: str) -> list[str]:
    return [r["kind"] for r in site.audit(org_id)]


def failures(site: Site, org_id: str) -> list[str]:
    return [r["data"]["code"] for r in site.audit(org_id) if r["kind"] == "sso.login.failed"]


def add_group(site: Site, org_id: str, name: str, external_id: str | None = None) -> str:
    group_id = new_id("grp")
    with site.engine.begin() as conn:
        conn.execute(
            insert(groups).values(
                id=group_id, org_id=org_id, name=name, external_id=external_id, created_at=utcnow()
            )
        )
    return group_id


def member_groups(site: Site, user_id: str) -> set[str]:
    with site.engine.connect() as conn:
        return set(
            conn.execute(select(group_members.c.group_id).where(group_members.c.user_id == user_id)).scalars()
        )


def test_first_sign_in_provisions_the_user_with_mapped_role_and_groups(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    org = site.org("acme")
    eng = add_group(site, org.id, "Engineering", external_id="eng")
    platform = add_group(site, org.id, "platform")
    add_group(site, org.id, "finance")
    site.add_idp(org, oidc_peer, jit=True, role_mapping={"sekisho-admins": "admin", "eng": "reviewer"})

    answer = browser.sign_in(start_url(site, "acme", "corp", "alice", next_path="/console/keys?tab=mine"))

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/keys?tab=mine"
    set_cookie = "; ".join(answer.headers.get_list("set-cookie")).lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    token = session_cookie(answer, site)
    session = site.sso.sessions.lookup(token)
    assert session is not None
    assert (session.org_id, session.method, session.mfa_verified) == (org.id, "oidc", True)
    user = user_row(site, org.id, "alice@example.com")
    assert (user["id"], user["role"], user["name"], user["auth_source"]) == (
        session.user_id,
        "admin",
        "Alice Admin",
        "oidc",
    )
    assert member_groups(site, user["id"]) == {eng, platform}
    with site.engine.connect() as conn:
        link = (
            conn.execute(select(user_identities).where(user_identities.c.user_id == user["id"]))
            .mappings()
            .one()
        )
    assert link["subject"] == "alice"
    assert {"user.provisioned", "sso.login.succeeded", "group.member_added"} <= set(kinds(site, org.id))
    # The cookie is a working console session: the admin API accepts it for this admin.
    listed = browser.get(f"{site.url}/admin/v1/idps")
    assert listed.status_code == 200, listed.text
    assert [i["slug"] for i in listed.json()] == ["corp"]


def test_an_existing_user_is_linked_by_email_and_keeps_their_role(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    org = site.org("acme")
    bob = site.tenancy.create_user(org.id, "bob@example.com", "Bob", "reviewer", actor="test")
    # userinfo 'always': the claims also come from the provider's userinfo endpoint.
    site.add_idp(org, oidc_peer, userinfo="always")

    first = browser.sign_in(start_url(site, "acme", "corp", "bob"))
    assert first.status_code == 303, first.text
    assert first.headers["location"] == "/"
    session = site.sso.sessions.lookup(session_cookie(first, site))
    assert session is not None and session.user_id == bob.id
    assert user_row(site, org.id, "bob@example.com")["role"] == "reviewer"
    assert "sso.identity.linked" in kinds(site, org.id)

    # From now on the link is used (the IdP's subject), and no second account appears.
    second = Browser()
    try:
        again = second.sign_in(start_url(site, "acme", "corp", "bob"))
    finally:
        second.close()
    assert site.sso.sessions.lookup(session_cookie(again, site)).user_id == bob.id  # type: ignore[union-attr]
    assert [u.id for u in site.tenancy.list_users(org.id)] == [bob.id]
    assert kinds(site, org.id).count("sso.identity.linked") == 1


def test_a_deactivated_user_is_refused(site: Site, oidc_peer: OidcPeer, browser: Browser) -> None:
    org = site.org("acme")
    carol = site.tenancy.create_user(org.id, "carol@example.com", "Carol", "member", actor="test")
    with site.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == carol.id).values(active=False))
    site.add_idp(org, oidc_peer, jit=True)

    answer = browser.sign_in(start_url(site, "acme", "corp", "carol"))

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "account_disabled"
    assert site.settings.identity.sessions.cookie_name not in answer.cookies
    with site.engine.connect() as conn:
        assert conn.execute(select(sessions).where(sessions.c.user_id == carol.id)).first() is None
    assert failures(site, org.id) == ["account_disabled"]


def test_a_state_value_works_once(site: Site, oidc_peer: OidcPeer, browser: Browser) -> None:
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True)
    callback = browser.to_callback(start_url(site, "acme", "corp", "dave"))

    assert browser.get(callback).status_code == 303
    replay = browser.get(callback)

    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_state"


def test_a_code_from_another_sign_in_is_refused(site: Site, oidc_peer: OidcPeer, browser: Browser) -> None:
    """Code injection: the code of flow A presented with flow B's state fails PKCE at the provider."""
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True)
    first = httpx.URL(browser.to_callback(start_url(site, "acme", "corp", "dave")))
    second = httpx.URL(browser.to_callback(start_url(site, "acme", "corp", "alice")))
    spliced = second.copy_merge_params({"code": first.params["code"]})

    answer = browser.get(str(spliced))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "token_exchange_failed"
    assert user_row(site, org.id, "dave@example.com") is None
    assert user_row(site, org.id, "alice@example.com") is None


def test_a_sign_in_cannot_be_finished_in_another_browser(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    """Login CSRF: an attacker's finished sign-in link does not sign a victim into the attacker's account."""
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True)
    attackers_link = browser.to_callback(start_url(site, "acme", "corp", "dave"))

    victim = Browser()
    try:
        answer = victim.get(attackers_link)
    finally:
        victim.close()

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "flow_not_bound"
    assert site.settings.identity.sessions.cookie_name not in answer.cookies
    assert failures(site, org.id) == ["flow_not_bound"]


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "console",
    ],
)
def test_next_must_stay_on_this_site(site: Site, oidc_peer: OidcPeer, browser: Browser, target: str) -> None:
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True)

    answer = browser.get(start_url(site, "acme", "corp", "dave", next_path=target))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_next"
    assert "location" not in answer.headers


def test_a_planted_session_cookie_is_not_kept(site: Site, oidc_peer: OidcPeer, browser: Browser) -> None:
    """Session fixation: sign-in issues a new session cookie and ends the one the browser had."""
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True)
    planter = site.tenancy.create_user(org.id, "mallory@example.com", "Mallory", "member", actor="test")
    _planted, planted_token = site.sso.sessions.create(
        org_id=org.id, user_id=planter.id, method="password", mfa_verified=True
    )
    name = site.settings.identity.sessions.cookie_name
    browser.http.cookies.set(name, planted_token, domain="127.0.0.1", path="/")

    answer = browser.sign_in(start_url(site, "acme", "corp", "dave"))

    token = session_cookie(answer, site)
    assert token != planted_token
    session = site.sso.sessions.lookup(token)
    assert session is not None and session.user_id != planter.id
    assert site.sso.sessions.lookup(planted_token) is None


def test_an_idp_signs_users_into_its_own_organisation_only(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    acme = site.org("acme")
    globex = site.org("globex")
    theirs = site.tenancy.create_user(
        globex.id, "alice@example.com", "Alice at Globex", "owner", actor="test"
    )
    site.add_idp(acme, oidc_peer, jit=True)

    # Acme's IdP is not reachable under Globex's name.
    wrong = browser.get(start_url(site, "globex", "corp", "alice"))
    assert wrong.status_code == 404

    answer = browser.sign_in(start_url(site, "acme", "corp", "alice"))
    session = site.sso.sessions.lookup(session_cookie(answer, site))
    assert session is not None
    assert session.org_id == acme.id and session.user_id != theirs.id
    with site.engine.connect() as conn:
        assert (
            conn.execute(select(user_identities).where(user_identities.c.user_id == theirs.id)).first()
            is None
        )
        assert conn.execute(select(sessions).where(sessions.c.user_id == theirs.id)).first() is None


def test_just_in_time_provisioning_needs_permission(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    org = site.org("acme")
    site.add_idp(org, oidc_peer)  # jit off

    refused = browser.sign_in(start_url(site, "acme", "corp", "dave"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_provisioned"
    assert user_row(site, org.id, "dave@example.com") is None

    # A claimed but unverified domain does not let anyone in ...
    with site.engine.begin() as conn:
        conn.execute(
            insert(verified_domains).values(
                id=new_id("dom"),
                org_id=org.id,
                domain="example.com",
                token="t",
                verified_at=None,
                join_policy="auto",
                default_role="analytics_viewer",
                created_at=utcnow(),
                created_by="test",
            )
        )
    assert browser.sign_in(start_url(site, "acme", "corp", "dave")).status_code == 403

    # ... a verified one with join policy 'auto' does, with the domain's default role.
    with site.engine.begin() as conn:
        conn.execute(update(verified_domains).values(verified_at=utcnow()))
    admitted = browser.sign_in(start_url(site, "acme", "corp", "dave"))
    assert admitted.status_code == 303, admitted.text
    assert user_row(site, org.id, "dave@example.com")["role"] == "analytics_viewer"
    assert failures(site, org.id) == ["not_provisioned", "not_provisioned"]


def test_an_email_the_provider_has_not_verified_is_refused(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    """Account takeover guard: an unverified address must not sign in as the user who owns it."""
    org = site.org("acme")
    erin = site.tenancy.create_user(org.id, "erin@example.com", "Erin", "admin", actor="test")
    site.add_idp(org, oidc_peer, jit=True)

    answer = browser.sign_in(start_url(site, "acme", "corp", "erin"))

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "email_not_verified"
    with site.engine.connect() as conn:
        assert conn.execute(select(sessions).where(sessions.c.user_id == erin.id)).first() is None


def test_the_idp_decides_role_and_memberships_at_every_sign_in(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    org = site.org("acme")
    dave = site.tenancy.create_user(org.id, "dave@example.com", "Dave", "admin", actor="test")
    eng = add_group(site, org.id, "eng")
    finance = add_group(site, org.id, "finance")
    with site.engine.begin() as conn:
        conn.execute(insert(group_members).values(group_id=finance, user_id=dave.id))
    other, _ = site.sso.sessions.create(org_id=org.id, user_id=dave.id, method="password", mfa_verified=True)
    site.add_idp(org, oidc_peer, role_mapping={"sekisho-admins": "admin"}, default_role="member")

    answer = browser.sign_in(start_url(site, "acme", "corp", "dave"))

    assert answer.status_code == 303, answer.text
    assert user_row(site, org.id, "dave@example.com")["role"] == "member"  # not in sekisho-admins any more
    assert member_groups(site, dave.id) == {eng}
    changed = [r for r in site.audit(org.id) if r["kind"] == "user.role_changed"]
    assert [(c["data"]["from"], c["data"]["to"]) for c in changed] == [("admin", "member")]
    assert "group.member_removed" in kinds(site, org.id)
    # Sessions from before the demotion end; the new one carries the new role.
    with site.engine.connect() as conn:
        revoked = conn.execute(select(sessions.c.revoked_reason).where(sessions.c.id == other.id)).scalar()
    assert revoked == "role_changed"
    assert site.sso.sessions.lookup(session_cookie(answer, site)) is not None


def test_the_providers_refusal_and_unknown_or_disabled_idps(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    org = site.org("acme")
    idp = site.add_idp(org, oidc_peer, jit=True)

    refused = browser.sign_in(start_url(site, "acme", "corp", "nobody"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "idp_error"

    assert browser.get(start_url(site, "acme", "nope", "alice")).status_code == 404
    html = browser.get(start_url(site, "acme", "nope", "alice"), headers={"accept": "text/html"})
    assert html.status_code == 404 and "<h1>Sign-in failed</h1>" in html.text

    httpx.patch(
        f"{site.url}/admin/v1/idps/{idp['id']}",
        json={"enabled": False},
        params={"org_id": org.id},
        headers=site.master(),
    )
    disabled = browser.get(start_url(site, "acme", "corp", "alice"))
    assert disabled.status_code == 403
    assert disabled.json()["error"]["code"] == "idp_disabled"


def test_required_claims_restrict_who_may_sign_in(site: Site, oidc_peer: OidcPeer, browser: Browser) -> None:
    """Google Workspace's `hd`, Entra ID's `tid`: a claim the ID token must carry."""
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True, required_claims={"email": ["dave@example.com"]})

    assert browser.sign_in(start_url(site, "acme", "corp", "dave")).status_code == 303
    other = Browser()
    try:
        refused = other.sign_in(start_url(site, "acme", "corp", "alice"))
    finally:
        other.close()
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "claim_mismatch"


def test_the_sign_in_page_lists_enabled_providers(site: Site, oidc_peer: OidcPeer, browser: Browser) -> None:
    org = site.org("acme")
    site.add_idp(org, oidc_peer, slug="corp")
    hidden = site.add_idp(org, oidc_peer, slug="old")
    httpx.patch(
        f"{site.url}/admin/v1/idps/{hidden['id']}",
        json={"enabled": False},
        params={"org_id": org.id},
        headers=site.master(),
    )

    listed = browser.get(f"{site.url}/auth/v1/sso/acme/providers").json()["data"]

    assert listed == [
        {"name": "Corporate SSO", "slug": "corp", "kind": "oidc", "start_url": "/auth/v1/sso/acme/corp/start"}
    ]
    assert browser.get(f"{site.url}/auth/v1/sso/no-such-org/providers").json()["data"] == []


def test_a_real_id_token_for_another_nonce_is_refused(
    site: Site, oidc_peer: OidcPeer, browser: Browser
) -> None:
    """The provider's own signed token, checked against a different sign-in's nonce."""
    org = site.org("acme")
    site.add_idp(org, oidc_peer, jit=True)
    callback = httpx.URL(browser.to_callback(start_url(site, "acme", "corp", "dave")))
    taken = site.sso.idps.take_flow(callback.params["state"])
    assert taken is not None
    idp, flow = taken

    async def finish(nonce: str) -> object:
        return await site.sso.oidc.finish(
            idp, {**flow, "nonce": nonce}, code=callback.params["code"], iss=callback.params.get("iss")
        )

    with pytest.raises(SsoDenied) as refused:
        anyio.run(finish, "a-nonce-from-another-sign-in")
    assert refused.value.code == "invalid_id_token"
    assert "nonce" in refused.value.message
