"""Authentication of suspended and held keys, with the per-process cache on (ttl > 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sekisho.core import build_core
from sekisho.enforcement import Enforcement
from sekisho.identity import AuthError, KeyAuthenticator
from sekisho.identity.authenticate import KeySuspended
from sekisho.settings import load_settings

pytestmark = pytest.mark.anyio


async def test_suspension_and_lift_take_effect_at_once_through_forget(tmp_path: Path) -> None:
    core = build_core(load_settings(None, environ={"SEKISHO_DATA_DIR": str(tmp_path)}))
    tenancy = core.tenancy
    org = tenancy.ensure_default_org()
    user = tenancy.create_user(org.id, "u@example.test", "U", "member", actor="t")
    key, secret = tenancy.create_key(tenancy.get_project("default", org.id), user, "k", actor="t")
    auth = KeyAuthenticator(tenancy, master_key=None, ttl=300)
    enforcement = Enforcement(core.engine, core.audit, authenticator=auth)
    header = f"Bearer {secret}"
    first = await auth.authenticate(header)
    assert not first.suspended and not first.review_all

    review = enforcement.take_action(
        org_id=org.id, subject_type="key", subject_id=key.id, action="require_review", reason="r", actor="a"
    )
    assert (await auth.authenticate(header)).review_all  # not the cached principal
    suspension = enforcement.take_action(
        org_id=org.id,
        subject_type="user",
        subject_id=user.id,
        action="suspend_key",
        reason="fake bank letters",
        actor="a",
    )
    with pytest.raises(KeySuspended) as refused:
        await auth.authenticate(header)
    assert (refused.value.status, refused.value.code) == (403, "key_suspended")
    assert isinstance(refused.value, AuthError) and "fake bank letters" in str(refused.value)
    own = await auth.authenticate(header, allow_suspended=True)
    assert own.suspended and own.suspended_reason == "fake bank letters" and own.key_id == key.id

    enforcement.lift(suspension.id, org_id=org.id, actor="a")
    enforcement.lift(review.id, org_id=org.id, actor="a")
    back = await auth.authenticate(header)
    assert not back.suspended and not back.review_all
    core.engine.dispose()


async def test_revoked_beats_suspended_and_unknown_keys_stay_401(tmp_path: Path) -> None:
    core = build_core(load_settings(None, environ={"SEKISHO_DATA_DIR": str(tmp_path)}))
    tenancy = core.tenancy
    org = tenancy.ensure_default_org()
    key, secret = tenancy.create_key(
        tenancy.get_project("default", org.id), tenancy.service_account_for(org.id, actor="t"), "k", actor="t"
    )
    Enforcement(core.engine, core.audit).take_action(
        org_id=org.id, subject_type="key", subject_id=key.id, action="suspend_key", reason="r", actor="a"
    )
    tenancy.revoke_key(key.id, actor="t")
    auth = KeyAuthenticator(tenancy, master_key=None, ttl=0)
    with pytest.raises(AuthError, match="revoked") as revoked:
        await auth.authenticate(f"Bearer {secret}", allow_suspended=True)
    assert revoked.value.status == 401
    core.engine.dispose()
