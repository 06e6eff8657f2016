"""``orgs.settings``: the security key beside other features' keys, bad rows, cached lifetimes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sekisho.identity.org_settings import OrgSecurity, read_security, session_lifetimes, write_security
from sekisho.identity.settings import SessionSettings
from sekisho.store.tables import orgs
from sekisho.store.tx import write_transaction
from tests.accounts.conftest import Console

pytestmark = pytest.mark.anyio


async def test_other_keys_survive_and_a_bad_row_fails_closed(console: Console) -> None:
    engine = console.core.engine
    org_id = console.core.tenancy.ensure_default_org().id
    with write_transaction(engine) as conn:
        conn.execute(update(orgs).where(orgs.c.id == org_id).values(settings={"domains": {"join": "auto"}}))
        write_security(conn, org_id, OrgSecurity(require_mfa=True, session_idle_minutes=10))
    with engine.connect() as conn:
        raw = conn.execute(select(orgs.c.settings).where(orgs.c.id == org_id)).scalar_one()
        assert raw["domains"] == {"join": "auto"}
        assert read_security(conn, org_id) == OrgSecurity(require_mfa=True, session_idle_minutes=10)

    with write_transaction(engine) as conn:
        bad = {"security": {"require_mfa": True, "session_idle_minutes": -3, "surprise": 1}}
        conn.execute(update(orgs).where(orgs.c.id == org_id).values(settings=bad))
    with engine.connect() as conn:
        assert read_security(conn, org_id) == OrgSecurity(require_mfa=True)
    answer = await console.admin_client().get("/admin/v1/org/security", headers=console.master())
    assert answer.status_code == 200 and answer.json()["require_mfa"] is True


async def test_lifetimes_come_from_the_organisation_within_the_operators(console: Console) -> None:
    engine = console.core.engine
    org_id = console.core.tenancy.ensure_default_org().id
    lifetimes = session_lifetimes(engine, SessionSettings(idle_minutes=30, absolute_hours=12), ttl=3600)
    assert lifetimes(org_id).idle == timedelta(minutes=30)

    with write_transaction(engine) as conn:
        write_security(conn, org_id, OrgSecurity(session_idle_minutes=5, session_absolute_hours=1))
    assert lifetimes(org_id).idle == timedelta(minutes=30)  # cached
    lifetimes.invalidate(org_id)
    assert lifetimes(org_id).idle == timedelta(minutes=5)
    assert lifetimes(org_id).absolute == timedelta(hours=1)
    assert lifetimes("org_unknown").absolute == timedelta(hours=12)
    # The session store never lets an organisation go beyond the operator's limit.
    store = console.accounts.sessions
    console.accounts.policy.update(org_id, OrgSecurity(session_idle_minutes=600), actor="test")
    assert store.lifetimes(org_id).idle == timedelta(minutes=30)
