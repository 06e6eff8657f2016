"""IP allow-list entries per organisation and project (``network_rules``), with their audit records.

An organisation with any org-wide entry (``project_id`` NULL) admits callers only from one of its
networks; a project with entries additionally admits model calls for that project only from one of
the project's networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity import Conflict, NotFound
from sekisho.network.addresses import IPAddress, IPNetwork, Networks, parse_network
from sekisho.store.tables import network_rules, projects
from sekisho.store.tx import write_transaction


@dataclass(frozen=True, slots=True)
class NetworkRule:
    """One allowed network."""

    id: str
    org_id: str
    project_id: str | None
    cidr: str
    note: str | None
    created_at: datetime
    created_by: str


class Lockout(Conflict):
    """The change would lock the caller out of the admin API of their own organisation."""


def _rule(row: RowMapping) -> NetworkRule:
    return NetworkRule(
        row["id"],
        row["org_id"],
        row["project_id"],
        row["cidr"],
        row["note"],
        as_utc(row["created_at"]),
        row["created_by"],
    )


class NetworkRuleStore:
    """Reads and writes ``network_rules``; ``on_change(org_id)`` runs after every committed change."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit
        self.on_change: list[Callable[[str], None]] = []

    def list(self, org_id: str) -> list[NetworkRule]:
        """Every rule of the organisation, org-wide first."""
        query = (
            select(network_rules)
            .where(network_rules.c.org_id == org_id)
            .order_by(network_rules.c.project_id.is_not(None), network_rules.c.created_at)
        )
        with self._engine.connect() as conn:
            return [_rule(r) for r in conn.execute(query).mappings()]

    def create(
        self,
        org_id: str,
        cidr: str,
        *,
        project_id: str | None,
        note: str | None,
        actor: str,
        caller_address: IPAddress | None = None,
        force: bool = False,
    ) -> NetworkRule:
        """Add a rule. ValueError for a bad network, NotFound for a project of another organisation.

        An org-wide rule that would leave the caller (at ``caller_address``) outside every org-wide
        network raises Lockout unless ``force``: the first rule of an organisation is the usual way
        administrators lock themselves out.
        """
        network = parse_network(cidr)
        rule = NetworkRule(new_id("netrule"), org_id, project_id, str(network), note, utcnow(), actor)
        with write_transaction(self._engine) as conn:
            if project_id is not None:
                found = conn.execute(
                    select(projects.c.id).where(projects.c.id == project_id, projects.c.org_id == org_id)
                ).first()
                if found is None:
                    raise NotFound(f"project {project_id!r} not found")
            else:
                existing = _org_wide(conn, org_id)
                _guard(Networks([*existing.networks, network]), caller_address, force, adding=True)
            conn.execute(
                insert(network_rules).values(
                    id=rule.id,
                    org_id=org_id,
                    project_id=project_id,
                    cidr=rule.cidr,
                    note=note,
                    created_at=rule.created_at,
                    created_by=actor,
                )
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "network_rule.created",
                    actor=actor,
                    org_id=org_id,
                    project_id=project_id,
                    data={"rule_id": rule.id, "cidr": rule.cidr, "note": note, "forced": force},
                ),
            )
        self._changed(org_id)
        return rule

    def delete(
        self,
        rule_id: str,
        org_id: str,
        *,
        actor: str,
        caller_address: IPAddress | None = None,
        force: bool = False,
    ) -> NetworkRule:
        """Remove a rule of ``org_id`` (another organisation's answers NotFound).

        Removing an org-wide rule that the caller's address depends on, while other org-wide rules
        remain, would lock the caller out just as adding one can: Lockout unless ``force``.
        """
        with write_transaction(self._engine) as conn:
            row = (
                conn.execute(
                    select(network_rules).where(
                        network_rules.c.id == rule_id, network_rules.c.org_id == org_id
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"network rule {rule_id!r} not found")
            rule = _rule(row)
            if rule.project_id is None:
                remaining = [n for r, n in _org_rows(conn, org_id) if r != rule.id]
                _guard(Networks(remaining), caller_address, force, adding=False)
            conn.execute(delete(network_rules).where(network_rules.c.id == rule.id))
            self._audit.append_in(
                conn,
                AuditEvent(
                    "network_rule.deleted",
                    actor=actor,
                    org_id=org_id,
                    project_id=rule.project_id,
                    data={"rule_id": rule.id, "cidr": rule.cidr, "forced": force},
                ),
            )
        self._changed(org_id)
        return rule

    def _changed(self, org_id: str) -> None:
        for callback in self.on_change:
            callback(org_id)


def _org_rows(conn: Connection, org_id: str) -> list[tuple[str, IPNetwork]]:
    rows = conn.execute(
        select(network_rules.c.id, network_rules.c.cidr).where(
            network_rules.c.org_id == org_id, network_rules.c.project_id.is_(None)
        )
    ).all()
    return [(r.id, parse_network(r.cidr)) for r in rows]


def _org_wide(conn: Connection, org_id: str) -> Networks:
    return Networks(n for _, n in _org_rows(conn, org_id))


def _guard(after: Networks, caller: IPAddress | None, force: bool, *, adding: bool) -> None:
    """Lockout when ``after`` (the org-wide networks once the change is made) excludes ``caller``."""
    if force or not after or (caller is not None and caller in after):
        return
    where = f"your address {caller}" if caller is not None else "your address (which is unknown)"
    change = "this rule" if adding else "removing this rule"
    raise Lockout(
        f"With {change}, {where} would no longer be allowed to reach this organisation, and you "
        "would lock yourself out. Add a rule for your own network first, or repeat with force=true."
    )
