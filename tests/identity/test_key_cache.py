"""The per-process API-key cache: refresh ahead for busy keys, never served past its life."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sekisho.core import build_core
from sekisho.identity import AuthError, KeyAuthenticator
from sekisho.settings import load_settings

pytestmark = pytest.mark.anyio


async def test_busy_key_is_refreshed_in_the_background_and_revocation_still_lands(tmp_path: Path) -> None:
    core = build_core(load_settings(None, environ={"SEKISHO_DATA_DIR": str(tmp_path)}))
    tenancy = core.tenancy
    org = tenancy.ensure_default_org()
    key, secret = tenancy.create_key(
        tenancy.get_project("default", org.id), tenancy.service_account_for(org.id, actor="t"), "t", actor="t"
    )
    ttl = 2.0
    auth = KeyAuthenticator(tenancy, master_key=None, ttl=ttl)
    header = f"Bearer {secret}"
    started = time.monotonic()
    assert (await auth.authenticate(header)).key_id == key.id

    # Revoked elsewhere (another replica or the CLI): this process is not told.
    tenancy.revoke_key(key.id, actor="t")
    assert (await auth.authenticate(header)).key_id == key.id  # still cached, first half of its life

    await asyncio.sleep(max(0.0, started + ttl * 0.6 - time.monotonic()))
    # Second half of its life: served from the cache while a background refresh re-reads it.
    if time.monotonic() - started < ttl:
        assert (await auth.authenticate(header)).key_id == key.id
    for _ in range(200):
        if not auth._refreshing:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(AuthError, match="revoked"):
        await auth.authenticate(header)
    core.engine.dispose()


async def test_unknown_keys_are_refused_and_cached_as_refusals(tmp_path: Path) -> None:
    core = build_core(load_settings(None, environ={"SEKISHO_DATA_DIR": str(tmp_path)}))
    auth = KeyAuthenticator(core.tenancy, master_key="sk-master", ttl=5)
    for _ in range(2):
        with pytest.raises(AuthError, match="Incorrect API key"):
            await auth.authenticate("Bearer sk-sks-unknown")
    assert (await auth.authenticate("Bearer sk-master")).superuser
    with pytest.raises(AuthError) as missing:
        await auth.authenticate(None)
    assert missing.value.code == "missing_api_key"
    core.engine.dispose()
