"""Turn an identity vouched for by an organisation's IdP into a Sekisho user and a console session.

The protocol code (OIDC, SAML) validates the IdP's answer and hands over an ``ExternalIdentity``;
everything after that — finding or creating the account, roles, groups, the session and the audit
trail — happens here, in one write transaction, so a sign-in either happens entirely or not at all.

Sessions made here are marked MFA-verified: the organisation chose to trust its IdP, so a second
factor is the IdP's job (its own MFA policy), not asked for again by Sekisho.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.accounts.sessions import Session, SessionStore
from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity import User
from sekisho.sso.mapping import MappingConfig, mapped_role
from sekisho.sso.store import IdpConfig
from sekisho.store.tables import group_members, groups, user_identities, users, verified_domains
from sekisho.store.tx import write_transaction


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who the IdP says signed in.

    ``groups_asserted`` is False when the IdP sent no groups at all (no claim or attribute, as
    opposed to an empty list): roles and memberships are then left as they are, so an IdP that
    was never set up to send groups does not strip everyone's.
    """

    subject: str
    email: str | None
    name: str | None
    groups: tuple[str, ...]
    groups_asserted: bool = True


class SsoDenied(Exception):
    """A sign-in refused; ``code`` is machine-readable, ``message`` safe to show the user."""

    def __init__(self, message: str, code: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


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


class Provisioner:
    """Signs people in through an IdP: account lookup, just-in-time creation, mapping, session."""

    def __init__(self, engine: Engine, audit: AuditLog, sessions: SessionStore) -> None:
        self._engine = engine
        self._audit = audit
        self._sessions = sessions

    def sign_in(
        self, idp: IdpConfig, ident: ExternalIdentity, *, ip: str | None, user_agent: str | None
    ) -> tuple[User, Session, str]:
        """The user, their new session and its token; SsoDenied (audited) when refused."""
        try:
            try:
                return self._sign_in(idp, ident, ip=ip, user_agent=user_agent)
            except IntegrityError:
                # Two first sign-ins of the same person raced to create or link the account; the
                # loser's transaction rolled back, and now finds what the winner made.
                return self._sign_in(idp, ident, ip=ip, user_agent=user_agent)
        except SsoDenied as exc:
            self.failed(idp, exc.code, ip=ip, subject=ident.subject)
            raise

    def failed(self, idp: IdpConfig, code: str, *, ip: str | None, subject: str | None = None) -> None:
        """Audit a refused sign-in (also for protocol failures the caller detected itself)."""
        with write_transaction(self._engine) as conn:
            self._audit.append_in(
                conn,
                AuditEvent(
                    "sso.login.failed",
                    actor=f"idp:{idp.id}",
                    org_id=idp.org_id,
                    data={"idp_id": idp.id, "kind": idp.kind, "code": code, "ip": ip, "subject": subject},
                ),
            )

    def _sign_in(
        self, idp: IdpConfig, ident: ExternalIdentity, *, ip: str | None, user_agent: str | None
    ) -> tuple[User, Session, str]:
        if not idp.enabled:
            raise SsoDenied("This sign-in method is turned off.", "idp_disabled")
        if not ident.subject:
            raise SsoDenied("The identity provider did not say who signed in.", "no_subject", 400)
        mapping = MappingConfig.of(idp.config)
        email = ident.email.strip().lower() if ident.email else None
        actor = f"idp:{idp.id}"
        now = utcnow()
        with write_transaction(self._engine) as conn:
            row = self._find(conn, idp, ident.subject, email, actor)
            if row is None:
                row = self._provision(conn, idp, ident, email, mapping, actor)
            user = _user(row)
            if not user.active:
                raise SsoDenied("This account is deactivated.", "account_disabled")
            if user.is_service_account:
                raise SsoDenied("Service accounts cannot sign in.", "service_account")
            if ident.groups_asserted:
                user = self._apply_role(conn, user, mapping, ident.groups, actor, idp.kind)
                if mapping.group_sync != "off":
                    self._sync_groups(
                        conn, user, ident.groups, mapping.group_sync == "exact", actor, idp.kind
                    )
            conn.execute(update(users).where(users.c.id == user.id).values(last_login_at=now))
            conn.execute(
                update(user_identities)
                .where(user_identities.c.idp_id == idp.id, user_identities.c.subject == ident.subject)
                .values(last_login_at=now)
            )
            session, token = self._sessions.create_in(
                conn,
                org_id=user.org_id,
                user_id=user.id,
                method=idp.kind,
                mfa_verified=True,
                ip=ip,
                user_agent=user_agent,
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "sso.login.succeeded",
                    actor=f"user:{user.id}",
                    org_id=user.org_id,
                    data={
                        "idp_id": idp.id,
                        "kind": idp.kind,
                        "user_id": user.id,
                        "session_id": session.id,
                        "ip": ip,
                    },
                ),
            )
        return user, session, token

    def _find(
        self, conn: Connection, idp: IdpConfig, subject: str, email: str | None, actor: str
    ) -> RowMapping | None:
        """The linked user, else the organisation's user with this e-mail (then linked)."""
        row = (
            conn.execute(
                select(users)
                .join(user_identities, user_identities.c.user_id == users.c.id)
                .where(
                    user_identities.c.idp_id == idp.id,
                    user_identities.c.subject == subject,
                    users.c.org_id == idp.org_id,
                )
            )
            .mappings()
            .first()
        )
        if row is not None or email is None:
            return row
        row = (
            conn.execute(select(users).where(users.c.org_id == idp.org_id, users.c.email == email))
            .mappings()
            .first()
        )
        if row is not None and row["active"] and not row["is_service_account"]:
            self._link(conn, idp, row["id"], subject)
            self._audit.append_in(
                conn,
                AuditEvent(
                    "sso.identity.linked",
                    actor=actor,
                    org_id=idp.org_id,
                    data={"idp_id": idp.id, "user_id": row["id"]},
                ),
            )
        return row

    @staticmethod
    def _link(conn: Connection, idp: IdpConfig, user_id: str, subject: str) -> None:
        conn.execute(
            insert(user_identities).values(
                id=new_id("uid"),
                org_id=idp.org_id,
                user_id=user_id,
                idp_id=idp.id,
                subject=subject,
                created_at=utcnow(),
            )
        )

    def _provision(
        self,
        conn: Connection,
        idp: IdpConfig,
        ident: ExternalIdentity,
        email: str | None,
        mapping: MappingConfig,
        actor: str,
    ) -> RowMapping:
        """Create the account just in time, when the IdP or a verified domain allows it."""
        if email is None or "@" not in email:
            raise SsoDenied(
                "The identity provider sent no e-mail address, so no account can be found or made.",
                "no_email",
            )
        domain = email.rsplit("@", 1)[1]
        verified = (
            conn.execute(
                select(verified_domains.c.join_policy, verified_domains.c.default_role).where(
                    verified_domains.c.org_id == idp.org_id,
                    verified_domains.c.domain == domain,
                    verified_domains.c.verified_at.is_not(None),
                )
            )
            .mappings()
            .first()
        )
        by_domain = verified is not None and verified["join_policy"] == "auto"
        if not (mapping.jit or by_domain):
            raise SsoDenied(
                "There is no account for you in this organisation; ask an administrator to invite you.",
                "not_provisioned",
            )
        role: str = mapping.default_role
        if verified is not None and by_domain and "default_role" not in idp.config:
            role = verified["default_role"]
        if ident.groups_asserted:
            role = mapped_role(mapping, ident.groups) or role
        now = utcnow()
        values: dict[str, Any] = {
            "id": new_id("user"),
            "org_id": idp.org_id,
            "email": email,
            "name": (ident.name or email.split("@", 1)[0])[:200],
            "role": role,
            "is_service_account": False,
            "active": True,
            "created_at": now,
            "auth_source": idp.kind,
        }
        conn.execute(insert(users).values(**values))
        self._link(conn, idp, values["id"], ident.subject)
        self._audit.append_in(
            conn,
            AuditEvent(
                "user.provisioned",
                actor=actor,
                org_id=idp.org_id,
                data={
                    "user_id": values["id"],
                    "idp_id": idp.id,
                    "role": role,
                    "via": "verified_domain" if by_domain and not mapping.jit else "jit",
                },
            ),
        )
        return conn.execute(select(users).where(users.c.id == values["id"])).mappings().one()

    def _apply_role(
        self,
        conn: Connection,
        user: User,
        mapping: MappingConfig,
        idp_groups: Iterable[str],
        actor: str,
        kind: str,
    ) -> User:
        """With a role mapping, the IdP decides the role: update it (and end other sessions)."""
        if not mapping.role_mapping:
            return user
        role = mapped_role(mapping, idp_groups) or mapping.default_role
        if role == user.role:
            return user
        conn.execute(update(users).where(users.c.id == user.id).values(role=role, updated_at=utcnow()))
        # The user's other sessions were granted under the old role; they end here, and the
        # session this sign-in creates carries the new one.
        ended = self._sessions.revoke_user_in(conn, user.id, reason="role_changed")
        self._audit.append_in(
            conn,
            AuditEvent(
                "user.role_changed",
                actor=actor,
                org_id=user.org_id,
                data={
                    "user_id": user.id,
                    "from": user.role,
                    "to": role,
                    "source": kind,
                    "sessions_revoked": ended,
                },
            ),
        )
        return User(
            user.id,
            user.org_id,
            user.email,
            user.name,
            role,
            user.is_service_account,
            user.active,
            user.created_at,
        )

    def _sync_groups(
        self,
        conn: Connection,
        user: User,
        idp_groups: tuple[str, ...],
        exact: bool,
        actor: str,
        kind: str,
    ) -> None:
        """Memberships of the Sekisho groups whose external_id or name is one of the IdP's groups."""
        wanted: set[str] = set()
        if idp_groups:
            wanted = set(
                conn.execute(
                    select(groups.c.id).where(
                        groups.c.org_id == user.org_id,
                        or_(groups.c.external_id.in_(idp_groups), groups.c.name.in_(idp_groups)),
                    )
                ).scalars()
            )
        current = set(
            conn.execute(
                select(group_members.c.group_id)
                .join(groups, groups.c.id == group_members.c.group_id)
                .where(group_members.c.user_id == user.id, groups.c.org_id == user.org_id)
            ).scalars()
        )
        added = sorted(wanted - current)
        removed = sorted(current - wanted) if exact else []
        for group_id in added:
            conn.execute(insert(group_members).values(group_id=group_id, user_id=user.id))
        if removed:
            conn.execute(
                delete(group_members).where(
                    group_members.c.user_id == user.id, group_members.c.group_id.in_(removed)
                )
            )
        events = [("group.member_added", g) for g in added] + [("group.member_removed", g) for g in removed]
        for kind_name, group_id in events:
            self._audit.append_in(
                conn,
                AuditEvent(
                    kind_name,
                    actor=actor,
                    org_id=user.org_id,
                    data={"group_id": group_id, "user_id": user.id, "source": kind},
                ),
            )
