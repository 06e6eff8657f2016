"""Fixtures: the enforcement service on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sekisho.core import Core, build_core
from sekisho.enforcement import Enforcement, EnforcementSettings
from sekisho.identity import Org, Principal, Project, User
from sekisho.settings import load_settings


@dataclass
class World:
    """A core with the enforcement service and one organisation to act in."""

    core: Core
    enforcement: Enforcement
    org: Org
    project: Project

    def user(self, email: str, role: str = "member", *, org: Org | None = None) -> User:
        return self.core.tenancy.create_user((org or self.org).id, email, email, role, actor="test")

    def key(self, user: User, *, project: Project | None = None, **kwargs: Any) -> tuple[str, str]:
        """(key id, secret)."""
        key, secret = self.core.tenancy.create_key(project or self.project, user, "k", actor="test", **kwargs)
        return key.id, secret

    def principal(self, user: User, key_id: str, role: str | None = None) -> Principal:
        return Principal(
            org_id=user.org_id,
            project_id=self.project.id,
            user_id=user.id,
            key_id=key_id,
            key_prefix="sk-test",
            role=role or user.role,
        )

    def violate(self, user: User | None, key_id: str | None, category: str = "impersonation_fraud") -> Any:
        return self.enforcement.record_violation(
            org_id=(user.org_id if user else self.org.id),
            project_id=self.project.id,
            user_id=user.id if user else None,
            key_id=key_id,
            category=category,
            rule_id=f"block.{category}",
            request_id="req_test",
        )


def make_world(database_url: str, tmp_path: Path, settings: EnforcementSettings | None = None) -> World:
    core = build_core(
        load_settings(None, environ={"SEKISHO_DATA_DIR": str(tmp_path), "SEKISHO_DATABASE_URL": database_url})
    )
    org = core.tenancy.ensure_default_org()
    project = core.tenancy.get_project("default", org.id)
    return World(core, Enforcement(core.engine, core.audit, settings), org, project)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    w = make_world(database_url, tmp_path)
    try:
        yield w
    finally:
        w.core.engine.dispose()
