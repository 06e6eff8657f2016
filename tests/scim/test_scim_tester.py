"""The PyPI compliance checker scim2-tester against Sekisho served by a real uvicorn server.

scim2-tester discovers the schemas and resource types Sekisho publishes, then creates, reads,
lists (with attributes and excludedAttributes), searches, replaces, patches (add, replace and
remove of every attribute) and deletes users and groups. Every check must pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx
import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

from sekisho.app import build_app
from sekisho.settings import Settings
from tests.conftest import MASTER_KEY, ServerThread

FAILED = (Status.ERROR, Status.CRITICAL)


def _describe(result: CheckResult) -> str:
    where = f"{result.resource_type or '-'} {result.title}"
    return f"[{result.status.name}] {where}: {result.reason}\n    {result.data!r:.800}"


def test_scim2_tester_reports_no_failure(database_url: str, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings({}, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY)
    with ServerThread(build_app(settings)) as server:
        made = httpx.post(
            f"{server.url}/admin/v1/scim/tokens",
            headers={"authorization": f"Bearer {MASTER_KEY}"},
            json={"name": "scim2-tester"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        assert made.json()["scim_base_url"] == f"{server.url}/scim/v2"
        with httpx2.Client(
            base_url=f"{server.url}/scim/v2",
            headers={"Authorization": f"Bearer {made.json()['token']}"},
            timeout=30,
        ) as http:
            # No models given: the client learns them from /Schemas and /ResourceTypes, so what
            # Sekisho publishes is what gets tested.
            results = check_server(SyncSCIMClient(http))

    failures = [r for r in results if r.status in FAILED]
    assert not failures, f"{len(failures)} scim2-tester checks failed:\n" + "\n".join(
        map(_describe, failures)
    )
    statuses = Counter(r.status for r in results)
    # Every resource type was exercised, not just discovery: creation, PATCH of each attribute …
    assert statuses[Status.SUCCESS] >= 100, statuses
    tested = {r.resource_type for r in results if r.status == Status.SUCCESS}
    assert {"User", "Group"} <= tested, tested
    titles = {r.title for r in results if r.status == Status.SUCCESS}
    assert {"object_creation", "object_replacement", "object_deletion", "check_add_attribute"} <= titles
    assert {"check_remove_attribute", "check_replace_attribute", "search_with_attributes"} <= titles
