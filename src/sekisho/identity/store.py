"""Organisations, projects, users and API keys in the database.

Every mutating method writes its audit record in the same transaction as the change, so the log
never claims a change that did not happen, nor misses one that did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity.access import NO_GRANTS, Access, load_access
from sekisho.identity.keys import generate_key, hash_key, visible_prefix
from sekisho.identity.principal import ORG_ROLES
from sekisho.store.tables import api_keys, enforcement_actions, orgs, projects, users
from sekisho.store.tx import write_transaction


class NotFound(LookupError):
    """The object does not exist (or is outside the caller's organisation)."""


class Conflict(ValueError):
    """The object would clash with an existing one (same slug, same e-mail)."""


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    org_id: str
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: str
    org_id: str
    email: str
    name: str
    role: str
    is_service_account: bool
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    org_id: str
    project_id: str
    user_id: str
    name: str
    prefix: str
    models: tuple[str, ...] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    suspended_at: datetime | None = None
    suspended_reason: str | None = None
    review_all: bool = False

    def is_usable(self, now: datetime) -> bool:
        """Not revoked and not expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key row joined with its owner, as authentication needs it."""

    key: ApiKey
    role: str
    user_active: bool
    org_slug: str | None = None
    project_slug: str | None = None
    # Actions on the key's *user* still in force: they also cover keys created after them.
    user_suspended_reason: str | None = None
    user_suspended: bool = False
    user_review_all: bool = False
    access: Access = NO_GRANTS


def _org(row: RowMapping) -> Org:
    return Org(row["id"], row["slug"], row["name"], as_utc(row["created_at"]))


def _project(row: RowMapping) -> Project:
    return Project(row["id"], row["org_id"], row["slug"], row["name"], as_utc(row["created_at"]))


def _user(row: RowMapping) -> User:
    return User(
        row["id"],
        row["org_id"],
        row["email"],
        row["name"],
        row["role"],
        bool(row["is_service_account"]),
        bool(row["active"]),
        as_utc(row["created_at"]),
    )


def _key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        org_id=row["org_id"],
        project_id=row["project_id"],
        user_id=row["user_id"],
        name=row["name"],
        prefix=row["prefix"],
        models=tuple(row["models"]) if row["models"] is not None else None,
        expires_at=as_utc(row["expires_at"]) if row["expires_at"] else None,
        revoked_at=as_utc(row["revoked_at"]) if row["revoked_at"] else None,
        created_at=as_utc(row["created_at"]),
        suspended_at=as_utc(row["suspended_at"]) if row["suspended_at"] else None,
        suspended_reason=row["suspended_reason"],
        review_all=bool(row["review_all"]),
    )


class TenancyStore:
    """Reads and writes the tenancy tables."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    # Organisations -------------------------------------------------------------------------------
    def create_org(self, slug: str, name: str, *, actor: str) -> Org:
        """Create an organisation with a ``default`` project."""
        org = Org(new_id("org"), slug, name, utcnow())
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(insert(orgs).values(id=org.id, slug=slug, name=name, created_at=org.created_at))
                project = Project(new_id("proj"), org.id, "default", "Default", org.created_at)
                conn.execute(insert(projects).values(**_project_row(project)))
                self._audit.append_in(
                    conn,
                    AuditEvent("admin.org.created", actor=actor, org_id=org.id, data={"slug": slug}),
                    AuditEvent(
                        "admin.project.created",
                        actor=actor,
                        org_id=org.id,
                        project_id=project.id,
                        data={"slug": "default"},
                    ),
                )
        except IntegrityError as exc:
            raise Conflict(f"an organisation with slug {slug!r} exists") from exc
        return org

    def get_org(self, org_id: str) -> Org:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(orgs).where((orgs.c.id == org_id) | (orgs.c.slug == org_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"organisation {org_id!r} not found")
        return _org(row)

    def list_orgs(self, only: str | None = None) -> list[Org]:
        query = select(orgs).order_by(orgs.c.created_at)
        if only is not None:
            query = query.where(orgs.c.id == only)
        with self._engine.connect() as conn:
            return [_org(r) for r in conn.execute(query).mappings()]

    def ensure_default_org(self) -> Org:
        """The ``default`` organisation, created on first start."""
        try:
            return self.get_org("default")
        except NotFound:
            try:
                return self.create_org("default", "Default organisation", actor="system")
            except Conflict:
                return self.get_org("default")

    # Projects ------------------------------------------------------------------------------------
    def create_project(self, org_id: str, slug: str, name: str, *, actor: str) -> Project:
        project = Project(new_id("proj"), org_id, slug, name, utcnow())
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(insert(projects).values(**_project_row(project)))
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "admin.project.created",
                        actor=actor,
                        org_id=org_id,
                        project_id=project.id,
                        data={"slug": slug},
                    ),
                )
        except IntegrityError as exc:
            raise Conflict(f"a project with slug {slug!r} exists in this organisation") from exc
        return project

    def get_project(self, project_id: str, org_id: str | None = None) -> Project:
        """A project by id, or by slug within ``org_id``."""
        query = select(projects).where(projects.c.id == project_id)
        if org_id is not None:
            query = select(projects).where(
                projects.c.org_id == org_id, (projects.c.id == project_id) | (projects.c.slug == project_id)
            )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"project {project_id!r} not found")
        return _project(row)

    def list_projects(self, org_id: str) -> list[Project]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(projects).where(projects.c.org_id == org_id).order_by(projects.c.created_at)
            ).mappings()
            return [_project(r) for r in rows]

    # Users ---------------------------------------------------------------------------------------
    def create_user(
        self, org_id: str, email: str, name: str, role: str, *, actor: str, service_account: bool = False
    ) -> User:
        if role not in ORG_ROLES:
            raise ValueError(f"role must be one of {', '.join(ORG_ROLES)}")
        user = User(new_id("user"), org_id, email.lower(), name, role, service_account, True, utcnow())
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    insert(users).values(
                        id=user.id,
                        org_id=org_id,
                        email=user.email,
                        name=name,
                        role=role,
                        is_service_account=service_account,
                        active=True,
                        created_at=user.created_at,
                    )
                )
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "admin.user.created",
                        actor=actor,
                        org_id=org_id,
                        data={"user_id": user.id, "role": role, "service_account": service_account},
                    ),
                )
        except IntegrityError as exc:
            raise Conflict(f"a user with e-mail {email!r} exists in this organisation") from exc
        return user

    def get_user(self, user_id: str, org_id: str | None = None) -> User:
        query = select(users).where(users.c.id == user_id)
        if org_id is not None:
            query = select(users).where(
                users.c.org_id == org_id, (users.c.id == user_id) | (users.c.email == user_id)
            )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"user {user_id!r} not found")
        return _user(row)

    def list_users(self, org_id: str) -> list[User]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(users).where(users.c.org_id == org_id).order_by(users.c.created_at)
            ).mappings()
            return [_user(r) for r in rows]

    def service_account_for(self, org_id: str, *, actor: str) -> User:
        """The organisation's default service account, which owns keys created without a user."""
        email = "service-account@sekisho.local"
        try:
            return self.get_user(email, org_id)
        except NotFound:
            return self.create_user(
                org_id, email, "Default service account", "member", actor=actor, service_account=True
            )

    # API keys ------------------------------------------------------------------------------------
    def create_key(
        self,
        project: Project,
        user: User,
        name: str,
        *,
        actor: str,
        models: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key; returns it with the secret, which is never stored or shown again."""
        if user.org_id != project.org_id:
            raise ValueError("the user and the project belong to different organisations")
        secret = generate_key()
        key = ApiKey(
            id=new_id("key"),
            org_id=project.org_id,
            project_id=project.id,
            user_id=user.id,
            name=name,
            prefix=visible_prefix(secret),
            models=tuple(models) if models is not None else None,
            expires_at=expires_at,
            revoked_at=None,
            created_at=utcnow(),
        )
        with write_transaction(self._engine) as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key.id,
                    org_id=key.org_id,
                    project_id=key.project_id,
                    user_id=key.user_id,
                    name=name,
                    prefix=key.prefix,
                    key_hash=hash_key(secret),
                    models=list(key.models) if key.models is not None else None,
                    expires_at=expires_at,
                    revoked_at=None,
                    created_at=key.created_at,
                )
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "admin.key.created",
                    actor=actor,
                    org_id=key.org_id,
                    project_id=key.project_id,
                    data={"key_id": key.id, "prefix": key.prefix, "user_id": user.id},
                ),
            )
        return key, secret

    def list_keys(self, org_id: str | None, project_id: str | None = None) -> list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.created_at)
        if org_id is not None:
            query = query.where(api_keys.c.org_id == org_id)
        if project_id is not None:
            query = query.where(api_keys.c.project_id == project_id)
        with self._engine.connect() as conn:
            return [_key(r) for r in conn.execute(query).mappings()]

    def get_key(self, key_id: str, org_id: str | None = None) -> ApiKey:
        query = select(api_keys).where((api_keys.c.id == key_id) | (api_keys.c.prefix == key_id))
        if org_id is not None:
            query = query.where(api_keys.c.org_id == org_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        if len(rows) != 1:
            raise NotFound(f"API key {key_id!r} not found")
        return _key(rows[0])

    def revoke_key(self, key_id: str, *, actor: str, org_id: str | None = None) -> ApiKey:
        key = self.get_key(key_id, org_id)
        if key.revoked_at is not None:
            return key
        now = utcnow()
        with write_transaction(self._engine) as conn:
            conn.execute(update(api_keys).where(api_keys.c.id == key.id).values(revoked_at=now))
            self._audit.append_in(
                conn,
                AuditEvent(
                    "admin.key.revoked",
                    actor=actor,
                    org_id=key.org_id,
                    project_id=key.project_id,
                    data={"key_id": key.id, "prefix": key.prefix},
                ),
            )
        return self.get_key(key.id)

    def find_key(self, secret: str) -> KeyRecord | None:
        """The key whose hash matches ``secret``, with its owner's role, or None."""
        query = (
            select(
                api_keys,
                users.c.role,
                users.c.active,
                orgs.c.slug.label("org_slug"),
                projects.c.slug.label("project_slug"),
            )
            .join(users, users.c.id == api_keys.c.user_id)
            .join(orgs, orgs.c.id == api_keys.c.org_id)
            .outerjoin(projects, projects.c.id == api_keys.c.project_id)
            .where(api_keys.c.key_hash == hash_key(secret))
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            a = enforcement_actions.c
            user_actions = conn.execute(
                select(a.action, a.reason).where(
                    a.org_id == row["org_id"],
                    a.subject_type == "user",
                    a.subject_id == row["user_id"],
                    a.lifted_at.is_(None),
                    a.action.in_(("suspend_key", "require_review")),
                )
            ).all()
            access = load_access(conn, row["user_id"], row["org_id"])
        suspensions = [reason for action, reason in user_actions if action == "suspend_key"]
        return KeyRecord(
            _key(row),
            row["role"],
            bool(row["active"]),
            row["org_slug"],
            row["project_slug"],
            user_suspended_reason=suspensions[0] if suspensions else None,
            user_suspended=bool(suspensions),
            user_review_all=any(action == "require_review" for action, _ in user_actions),
            access=access,
        )


def _project_row(project: Project) -> dict[str, object]:
    return {
        "id": project.id,
        "org_id": project.org_id,
        "slug": project.slug,
        "name": project.name,
        "created_at": project.created_at,
    }
