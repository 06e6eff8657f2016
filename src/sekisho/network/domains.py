"""Verified e-mail domains: an organisation proves it controls a domain with a DNS TXT record.

``POST /admin/v1/domains`` gives the record to publish (``_sekisho-challenge.<domain>`` holding
``sekisho-verification=<token>``); ``…/verify`` looks it up. Only verified rows count anywhere: in
``domain_policy`` (sign-up and SSO just-in-time provisioning) and in the one-organisation-per-domain
rule. The DNS look-up goes through a ``TxtResolver``; production uses dnspython's async resolver.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity import ORG_ROLES, Conflict, NotFound
from sekisho.store.tables import verified_domains
from sekisho.store.tx import write_transaction

JOIN_POLICIES = ("auto", "invite_only")
"""auto: a new sign-in from the domain joins the organisation; invite_only: it needs an invitation."""
DOMAIN_ROLES = tuple(r for r in ORG_ROLES if r != "owner")
"""Roles a domain may grant on joining; ownership is never granted by an e-mail address."""
CHALLENGE_PREFIX = "_sekisho-challenge."
TOKEN_PREFIX = "sekisho-verification="  # noqa: S105 - a label, the token follows it
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DnsUnavailable(Exception):
    """The DNS could not be asked (timeout, no server answered); try again later."""


class TxtResolver(Protocol):
    """Looks up TXT records. The DNS server is the remote peer, so tests may supply their own."""

    async def txt(self, name: str) -> list[str]:
        """Every TXT record of ``name`` (each record's strings joined); [] when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class VerifiedDomain:
    """A domain claimed by an organisation; ``verified_at`` is set once the TXT record was seen."""

    id: str
    org_id: str
    domain: str
    token: str
    verified_at: datetime | None
    join_policy: str
    default_role: str
    created_at: datetime
    created_by: str

    @property
    def verified(self) -> bool:
        """The TXT record has been seen."""
        return self.verified_at is not None

    @property
    def record_name(self) -> str:
        """Where the TXT record goes."""
        return f"{CHALLENGE_PREFIX}{self.domain}"

    @property
    def record_value(self) -> str:
        """What the TXT record says."""
        return f"{TOKEN_PREFIX}{self.token}"

    @property
    def record(self) -> str:
        """The record in zone-file form, to paste into a DNS provider's console."""
        return f'{self.record_name} TXT "{self.record_value}"'


def _domain(row: RowMapping) -> VerifiedDomain:
    return VerifiedDomain(
        row["id"],
        row["org_id"],
        row["domain"],
        row["token"],
        as_utc(row["verified_at"]) if row["verified_at"] else None,
        row["join_policy"],
        row["default_role"],
        as_utc(row["created_at"]),
        row["created_by"],
    )


def normalise_domain(text: str) -> str:
    """``Example.COM.`` → ``example.com``; internationalised names in their ASCII (IDNA) form."""
    value = text.strip().rstrip(".").lower()
    if "@" in value or "/" in value or not value:
        raise ValueError(f"{text!r} is not a domain name (give example.com, not an address or URL)")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{text!r} is not a valid domain name") from None
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{text!r} is not a valid domain name")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} is an address, not a domain name")
    return value


def email_domain(email: str) -> str | None:
    """The normalised domain of an e-mail address, or None when it has none."""
    _local, at, domain = email.strip().rpartition("@")
    if not at:
        return None
    try:
        return normalise_domain(domain)
    except ValueError:
        return None


def domain_policy(engine: Engine, org_id: str, email: str) -> tuple[str, str] | None:
    """(join_policy, default_role) when ``email``'s domain is verified by ``org_id``, else None.

    Used by sign-up and SSO just-in-time provisioning. Only verified rows count; the match is on
    the exact domain (``alice@eng.example.com`` needs ``eng.example.com`` verified).
    """
    domain = email_domain(email)
    if domain is None:
        return None
    d = verified_domains.c
    with engine.connect() as conn:
        row = conn.execute(
            select(d.join_policy, d.default_role).where(
                d.org_id == org_id, d.domain == domain, d.verified_at.is_not(None)
            )
        ).first()
    return (row.join_policy, row.default_role) if row is not None else None


def verified_org(engine: Engine, email: str) -> tuple[str, str, str] | None:
    """(org_id, join_policy, default_role) of the organisation that verified ``email``'s domain.

    At most one organisation can have verified a domain, so a sign-up without an organisation in
    mind (a first visit to the console) can be routed to the right one.
    """
    domain = email_domain(email)
    if domain is None:
        return None
    d = verified_domains.c
    with engine.connect() as conn:
        row = conn.execute(
            select(d.org_id, d.join_policy, d.default_role).where(
                d.domain == domain, d.verified_at.is_not(None)
            )
        ).first()
    return (row.org_id, row.join_policy, row.default_role) if row is not None else None


def check_join(join_policy: str, default_role: str) -> None:
    """ValueError unless the join policy and role are among the accepted ones."""
    if join_policy not in JOIN_POLICIES:
        raise ValueError(f"join_policy must be one of {', '.join(JOIN_POLICIES)}")
    if default_role not in DOMAIN_ROLES:
        raise ValueError(f"default_role must be one of {', '.join(DOMAIN_ROLES)}")


class DomainStore:
    """Reads and writes ``verified_domains``, and runs the DNS check through ``resolver``."""

    def __init__(self, engine: Engine, audit: AuditLog, resolver: TxtResolver) -> None:
        self._engine = engine
        self._audit = audit
        self.resolver = resolver

    def create(
        self, org_id: str, domain: str, *, join_policy: str, default_role: str, actor: str
    ) -> VerifiedDomain:
        """Claim a domain (unverified). Conflict when this organisation already claims it."""
        name = normalise_domain(domain)
        check_join(join_policy, default_role)
        # 256 bits: the token is the whole proof, and it is public once published in DNS, so it
        # must not be guessable before that.
        token = secrets.token_urlsafe(32)
        row = VerifiedDomain(
            new_id("dom"), org_id, name, token, None, join_policy, default_role, utcnow(), actor
        )
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    insert(verified_domains).values(
                        id=row.id,
                        org_id=org_id,
                        domain=name,
                        token=token,
                        verified_at=None,
                        join_policy=join_policy,
                        default_role=default_role,
                        created_at=row.created_at,
                        created_by=actor,
                    )
                )
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "domain.created",
                        actor=actor,
                        org_id=org_id,
                        data={
                            "domain_id": row.id,
                            "domain": name,
                            "join_policy": join_policy,
                            "default_role": default_role,
                        },
                    ),
                )
        except IntegrityError as exc:
            raise Conflict(f"this organisation already claims {name!r}") from exc
        return row

    def list(self, org_id: str) -> list[VerifiedDomain]:
        """The organisation's domains, oldest first."""
        query = (
            select(verified_domains)
            .where(verified_domains.c.org_id == org_id)
            .order_by(verified_domains.c.created_at)
        )
        with self._engine.connect() as conn:
            return [_domain(r) for r in conn.execute(query).mappings()]

    def get(self, domain_id: str, org_id: str) -> VerifiedDomain:
        """One domain of ``org_id``; another organisation's answers NotFound."""
        query = select(verified_domains).where(
            verified_domains.c.id == domain_id, verified_domains.c.org_id == org_id
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"domain {domain_id!r} not found")
        return _domain(row)

    def delete(self, domain_id: str, org_id: str, *, actor: str) -> VerifiedDomain:
        """Give up a domain; new sign-ins from it no longer join by policy."""
        with write_transaction(self._engine) as conn:
            row = (
                conn.execute(
                    select(verified_domains).where(
                        verified_domains.c.id == domain_id, verified_domains.c.org_id == org_id
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"domain {domain_id!r} not found")
            found = _domain(row)
            conn.execute(delete(verified_domains).where(verified_domains.c.id == domain_id))
            self._audit.append_in(
                conn,
                AuditEvent(
                    "domain.deleted",
                    actor=actor,
                    org_id=org_id,
                    data={"domain_id": found.id, "domain": found.domain, "was_verified": found.verified},
                ),
            )
        return found

    async def published(self, found: VerifiedDomain) -> bool:
        """Whether the challenge record is in DNS now. DnsUnavailable when DNS cannot be asked."""
        records = await self.resolver.txt(found.record_name)
        return any(secrets.compare_digest(r.strip(), found.record_value) for r in records)

    def mark_verified(self, domain_id: str, org_id: str, *, actor: str) -> VerifiedDomain:
        """Record a successful check. Conflict when another organisation verified the domain first."""
        d = verified_domains.c
        with write_transaction(self._engine) as conn:
            row = (
                conn.execute(select(verified_domains).where(d.id == domain_id, d.org_id == org_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"domain {domain_id!r} not found")
            found = _domain(row)
            if found.verified_at is not None:
                return found
            # Lock every claim on this domain (all organisations' rows) so that two organisations
            # verifying at the same moment are serialised and the second sees the first's result.
            claims = conn.execute(
                select(d.org_id, d.verified_at).where(d.domain == found.domain).with_for_update()
            ).all()
            if any(c.org_id != org_id and c.verified_at is not None for c in claims):
                raise Conflict(f"{found.domain!r} is already verified by another organisation")
            now = utcnow()
            conn.execute(update(verified_domains).where(d.id == domain_id).values(verified_at=now))
            self._audit.append_in(
                conn,
                AuditEvent(
                    "domain.verified",
                    actor=actor,
                    org_id=org_id,
                    data={"domain_id": found.id, "domain": found.domain},
                ),
            )
        return replace(found, verified_at=now)
