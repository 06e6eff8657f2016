"""IdpStore and Provisioner on the real databases: single-use flows, the replay guard, sealed
secrets, and the account rules of SSO sign-in."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from sekisho.accounts.sessions import SessionStore
from sekisho.clock import new_id, utcnow
from sekisho.core import Core, build_core
from sekisho.crypto import SecretBox, SecretBoxError
from sekisho.identity import NotFound, Org
from sekisho.settings import Settings
from sekisho.sso import ExternalIdentity, IdpConfig, IdpStore, Provisioner, SsoDenied, mapped_role
from sekisho.sso.mapping import MappingConfig
from sekisho.store.tables import auth_flows, group_members, groups, idp_configs, user_identities, users


@dataclass
class Stores:
    core: Core
    idps: IdpStore
    sessions: SessionStore
    provisioner: Provisioner
    org: Org

    def idp(self, slug: str = "corp", org: Org | None = None, **config: object) -> IdpConfig:
        cfg = {"issuer": "https://idp.example", "client_id": "c", **config}
        return self.idps.create(
            (org or self.org).id, slug=slug, kind="oidc", name=slug, config=cfg, secret="s3cret", actor="test"
        )


@pytest.fixture
def stores(database_url: str, make_settings: Callable[..., Settings]) -> Iterator[Stores]:
    settings = make_settings({}, SEKISHO_DATABASE_URL=database_url)
    core = build_core(settings)
    sessions = SessionStore(core.engine, core.audit, settings.identity.sessions)
    idps = IdpStore(core.engine, core.audit, SecretBox(secrets.token_bytes(32)))
    org = core.tenancy.create_org("acme", "Acme", actor="test")
    try:
        yield Stores(core, idps, sessions, Provisioner(core.engine, core.audit, sessions), org)
    finally:
        core.engine.dispose()


def ident(
    subject: str = "u1", email: str | None = "u1@example.com", groups: tuple[str, ...] = (), **kw: bool
) -> ExternalIdentity:
    return ExternalIdentity(subject=subject, email=email, name=None, groups=groups, **kw)


def test_a_flow_is_taken_once_even_by_racing_requests(stores: Stores) -> None:
    idp = stores.idp()
    state = stores.idps.start_flow(idp, {"nonce": "n", "next": "/x"}, 5)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        results.append(stores.idps.take_flow(state))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if r is not None]
    assert len(won) == 1
    assert won[0] == (idp, {"nonce": "n", "next": "/x"})
    with stores.core.engine.connect() as conn:
        sealed = conn.execute(select(auth_flows)).first()
    assert sealed is None


def test_expired_and_unknown_flows_are_none(stores: Stores) -> None:
    idp = stores.idp()
    state = stores.idps.start_flow(idp, {"nonce": "n"}, 5)
    with stores.core.engine.begin() as conn:
        conn.execute(update(auth_flows).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert stores.idps.take_flow(state) is None
    assert stores.idps.take_flow("no-such-state") is None
    assert stores.idps.take_flow("x" * 500) is None


def test_an_assertion_id_is_accepted_once(stores: Stores) -> None:
    idp = stores.idp()
    soon = utcnow() + timedelta(minutes=5)
    assert stores.idps.remember_assertion(idp.id, "_a1", soon) is True
    assert stores.idps.remember_assertion(idp.id, "_a1", soon) is False
    assert stores.idps.remember_assertion(idp.id, "_a2", soon) is True
    other = stores.idp("other")
    assert stores.idps.remember_assertion(other.id, "_a1", soon) is True


def test_secrets_are_sealed_to_their_row(stores: Stores) -> None:
    one, two = stores.idp("one"), stores.idp("two")
    assert stores.idps.secret(one) == "s3cret"
    with stores.core.engine.begin() as conn:
        sealed = conn.execute(select(idp_configs.c.secret).where(idp_configs.c.id == one.id)).scalar()
        conn.execute(update(idp_configs).where(idp_configs.c.id == two.id).values(secret=sealed))
    with pytest.raises(SecretBoxError):
        stores.idps.secret(two)


def test_idps_are_found_within_their_organisation_only(stores: Stores) -> None:
    idp = stores.idp()
    globex = stores.core.tenancy.create_org("globex", "Globex", actor="test")
    with pytest.raises(NotFound):
        stores.idps.get(globex.id, idp.id)
    with pytest.raises(NotFound):
        stores.idps.get_by_slug("globex", "corp")
    assert stores.idps.get_by_slug("acme", "corp") == idp


def test_the_strongest_mapped_role_wins() -> None:
    mapping = MappingConfig(role_mapping={"a": "member", "b": "auditor", "c": "admin", "d": "reviewer"})
    assert mapped_role(mapping, ["a", "d", "b"]) == "auditor"
    assert mapped_role(mapping, ["a", "c"]) == "admin"
    assert mapped_role(mapping, ["x"]) is None


def test_without_a_groups_claim_roles_and_memberships_stay(stores: Stores) -> None:
    idp = stores.idp(jit=True, role_mapping={"admins": "admin"})
    user, _s, _t = stores.provisioner.sign_in(idp, ident(groups=("admins",)), ip=None, user_agent=None)
    assert user.role == "admin"
    again, _s, _t = stores.provisioner.sign_in(
        idp, ident(groups=(), groups_asserted=False), ip=None, user_agent=None
    )
    assert again.role == "admin"
    demoted, _s, _t = stores.provisioner.sign_in(idp, ident(groups=()), ip=None, user_agent=None)
    assert demoted.role == "member"


@pytest.mark.parametrize(
    ("sync", "expected"), [("exact", {"eng"}), ("add", {"eng", "manual"}), ("off", {"manual"})]
)
def test_group_sync_modes(stores: Stores, sync: str, expected: set[str]) -> None:
    ids = {}
    with stores.core.engine.begin() as conn:
        for name in ("eng", "manual"):
            ids[name] = new_id("grp")
            conn.execute(
                insert(groups).values(id=ids[name], org_id=stores.org.id, name=name, created_at=utcnow())
            )
    idp = stores.idp(jit=True, group_sync=sync)
    user, _s, _t = stores.provisioner.sign_in(idp, ident(groups=()), ip=None, user_agent=None)
    with stores.core.engine.begin() as conn:
        conn.execute(insert(group_members).values(group_id=ids["manual"], user_id=user.id))

    stores.provisioner.sign_in(idp, ident(groups=("eng",)), ip=None, user_agent=None)

    with stores.core.engine.connect() as conn:
        member_of = set(
            conn.execute(
                select(groups.c.name).join(group_members).where(group_members.c.user_id == user.id)
            ).scalars()
        )
    assert member_of == expected


def test_simultaneous_first_sign_ins_make_one_account(stores: Stores) -> None:
    idp = stores.idp(jit=True)
    results: list[object] = []
    barrier = threading.Barrier(3)

    def sign_in() -> None:
        barrier.wait()
        try:
            results.append(stores.provisioner.sign_in(idp, ident(), ip=None, user_agent=None)[0].id)
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=sign_in) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and all(isinstance(r, str) for r in results), results
    with stores.core.engine.connect() as conn:
        assert len(conn.execute(select(users.c.id).where(users.c.email == "u1@example.com")).all()) == 1
        assert len(conn.execute(select(user_identities.c.id)).all()) == 1


def test_service_accounts_and_disabled_idps_cannot_sign_in(stores: Stores) -> None:
    service = stores.core.tenancy.service_account_for(stores.org.id, actor="test")
    idp = stores.idp(jit=True)
    with pytest.raises(SsoDenied) as refused:
        stores.provisioner.sign_in(idp, ident(email=service.email), ip=None, user_agent=None)
    assert refused.value.code == "service_account"
    off = stores.idps.update(stores.org.id, idp.id, enabled=False, actor="test")
    with pytest.raises(SsoDenied) as disabled:
        stores.provisioner.sign_in(off, ident(), ip=None, user_agent=None)
    assert disabled.value.code == "idp_disabled"
    with pytest.raises(SsoDenied) as no_email:
        stores.provisioner.sign_in(idp, ident(subject="u9", email=None), ip=None, user_agent=None)
    assert no_email.value.code == "no_email"
    kinds = [
        r["data"]["code"]
        for r in stores.core.audit.export(org_id=stores.org.id)
        if r["kind"] == "sso.login.failed"
    ]
    assert kinds == ["service_account", "idp_disabled", "no_email"]
