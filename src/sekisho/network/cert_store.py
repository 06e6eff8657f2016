"""Client certificates mapped to service accounts (``client_certificates``), with audit records.

A mapping names one certificate by its SHA-256 fingerprint, or every certificate the CA issues
with one subject (so re-issued certificates keep working). Both are unique across the deployment
among active mappings: the client CA is the operator's, so one certificate must never be able to
mean two different callers.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity import Conflict, NotFound, Principal, TenancyStore
from sekisho.identity.access import load_access
from sekisho.store.tables import (
    client_certificates,
    enforcement_actions,
    orgs,
    projects,
    users,
)
from sekisho.store.tx import write_transaction


@dataclass(frozen=True, slots=True)
class CertificateMapping:
    """A certificate (by fingerprint or subject) → a service account calling for a project."""

    id: str
    org_id: str
    project_id: str
    user_id: str
    fingerprint_sha256: str | None
    subject: str | None
    models: tuple[str, ...] | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


def _mapping(row: RowMapping) -> CertificateMapping:
    models = row["models"]
    return CertificateMapping(
        row["id"],
        row["org_id"],
        row["project_id"],
        row["user_id"],
        row["fingerprint_sha256"],
        row["subject"],
        tuple(models) if models is not None else None,
        as_utc(row["created_at"]),
        row["created_by"],
        as_utc(row["revoked_at"]) if row["revoked_at"] else None,
    )


class ClientCertificateStore:
    """Reads and writes ``client_certificates`` and turns a verified certificate into a Principal."""

    def __init__(self, engine: Engine, audit: AuditLog, tenancy: TenancyStore) -> None:
        self._engine = engine
        self._audit = audit
        self._tenancy = tenancy

    def create(
        self,
        org_id: str,
        *,
        project_id: str,
        user_id: str | None,
        service_account_name: str | None,
        fingerprint_sha256: str | None,
        subject: str | None,
        models: Sequence[str] | None,
        actor: str,
    ) -> CertificateMapping:
        """Map a certificate. Without ``user_id`` a new service account is made for it.

        ``fingerprint_sha256`` and ``subject`` arrive normalised; exactly one is set.
        """
        if (fingerprint_sha256 is None) == (subject is None):
            raise ValueError("give exactly one of fingerprint_sha256, subject or pem")
        project = self._tenancy.get_project(project_id, org_id)
        if user_id is not None:
            user = self._tenancy.get_user(user_id, org_id)
            if not user.is_service_account:
                raise ValueError(f"user {user_id!r} is not a service account; certificates map to those")
            if not user.active:
                raise ValueError(f"service account {user_id!r} is deactivated")
        with self._engine.connect() as conn:
            _check_unused(conn, fingerprint_sha256, subject)
        if user_id is None:
            name = service_account_name or f"mTLS client ({(fingerprint_sha256 or subject or '')[:24]})"
            email = f"mtls-{secrets.token_hex(6)}@service-accounts.sekisho.local"
            user = self._tenancy.create_user(
                org_id, email, name[:200], "member", actor=actor, service_account=True
            )
        mapping = CertificateMapping(
            new_id("cert"),
            org_id,
            project.id,
            user.id,
            fingerprint_sha256,
            subject,
            tuple(models) if models is not None else None,
            utcnow(),
            actor,
            None,
        )
        try:
            with write_transaction(self._engine) as conn:
                _check_unused(conn, fingerprint_sha256, subject)
                conn.execute(
                    insert(client_certificates).values(
                        id=mapping.id,
                        org_id=org_id,
                        project_id=mapping.project_id,
                        user_id=mapping.user_id,
                        fingerprint_sha256=fingerprint_sha256,
                        subject=subject,
                        models=list(mapping.models) if mapping.models is not None else None,
                        created_at=mapping.created_at,
                        created_by=actor,
                        revoked_at=None,
                    )
                )
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "client_certificate.created",
                        actor=actor,
                        org_id=org_id,
                        project_id=mapping.project_id,
                        data={
                            "certificate_id": mapping.id,
                            "user_id": mapping.user_id,
                            "fingerprint_sha256": fingerprint_sha256,
                            "subject": subject,
                        },
                    ),
                )
        except IntegrityError as exc:
            raise Conflict("this certificate is already mapped") from exc
        return mapping

    def list(self, org_id: str) -> list[CertificateMapping]:
        """The organisation's mappings, revoked ones included (newest last)."""
        query = (
            select(client_certificates)
            .where(client_certificates.c.org_id == org_id)
            .order_by(client_certificates.c.created_at)
        )
        with self._engine.connect() as conn:
            return [_mapping(r) for r in conn.execute(query).mappings()]

    def revoke(self, cert_id: str, org_id: str, *, actor: str) -> CertificateMapping:
        """Stop accepting the certificate. The row stays, so a revoked fingerprint cannot be re-mapped."""
        c = client_certificates.c
        with write_transaction(self._engine) as conn:
            row = (
                conn.execute(select(client_certificates).where(c.id == cert_id, c.org_id == org_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"client certificate {cert_id!r} not found")
            found = _mapping(row)
            if found.revoked_at is not None:
                return found
            now = utcnow()
            conn.execute(update(client_certificates).where(c.id == cert_id).values(revoked_at=now))
            self._audit.append_in(
                conn,
                AuditEvent(
                    "client_certificate.deleted",
                    actor=actor,
                    org_id=org_id,
                    project_id=found.project_id,
                    data={"certificate_id": found.id, "user_id": found.user_id},
                ),
            )
        return replace(found, revoked_at=now)

    def principal_for(self, fingerprint_sha256: str, subject: str) -> Principal | str:
        """The caller a verified certificate stands for, or the reason it stands for none."""
        c = client_certificates.c
        query = (
            select(
                client_certificates,
                users.c.role,
                users.c.active,
                orgs.c.slug.label("org_slug"),
                projects.c.slug.label("project_slug"),
            )
            .join(users, users.c.id == c.user_id)
            .join(orgs, orgs.c.id == c.org_id)
            .join(projects, projects.c.id == c.project_id)
            .where(c.revoked_at.is_(None))
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query.where(c.fingerprint_sha256 == fingerprint_sha256)).mappings().all()
            if not rows:
                rows = conn.execute(query.where(c.subject == subject)).mappings().all()
            if not rows:
                return "The client certificate is not mapped to a service account."
            if len(rows) > 1:
                return "The client certificate's subject is mapped more than once; ask an administrator."
            row = rows[0]
            if not row["active"]:
                return "The client certificate belongs to a deactivated service account."
            a = enforcement_actions.c
            actions = conn.execute(
                select(a.action, a.reason).where(
                    a.org_id == row["org_id"],
                    a.subject_type == "user",
                    a.subject_id == row["user_id"],
                    a.lifted_at.is_(None),
                    a.action.in_(("suspend_key", "require_review")),
                )
            ).all()
            access = load_access(conn, row["user_id"], row["org_id"])
        suspensions = [reason for action, reason in actions if action == "suspend_key"]
        models = row["models"]
        return Principal(
            org_id=row["org_id"],
            project_id=row["project_id"],
            user_id=row["user_id"],
            key_id=None,
            key_prefix=f"cert:{fingerprint_sha256[:12]}",
            role=row["role"],
            models=frozenset(models) if models is not None else None,
            org_slug=row["org_slug"],
            project_slug=row["project_slug"],
            suspended=bool(suspensions),
            suspended_reason=suspensions[0] if suspensions else None,
            review_all=any(action == "require_review" for action, _ in actions),
            roles=access.org_roles,
            project_roles=access.project_roles,
        )


def _check_unused(conn: Connection, fingerprint_sha256: str | None, subject: str | None) -> None:
    c = client_certificates.c
    if fingerprint_sha256 is not None:
        row = conn.execute(select(c.revoked_at).where(c.fingerprint_sha256 == fingerprint_sha256)).first()
        if row is not None:
            state = "was revoked and cannot be mapped again" if row.revoked_at else "is already mapped"
            raise Conflict(f"this certificate {state}")
    if subject is not None:
        taken = conn.execute(select(c.id).where(c.subject == subject, c.revoked_at.is_(None))).first()
        if taken is not None:
            raise Conflict(f"the subject {subject!r} is already mapped")
