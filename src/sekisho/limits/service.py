"""``build_limits``: budgets, rate limits and their alerts, wired for ``build_app``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Engine

from sekisho.audit import AuditLog
from sekisho.email.outbox import EmailOutbox
from sekisho.email.sender import EmailSender
from sekisho.email.settings import EmailSettings
from sekisho.gateway.call import Admitter
from sekisho.limits.admission import LimitsAdmitter, RulesCache
from sekisho.limits.alerts import AlertWriter
from sekisho.limits.backend import Backend, BackendUnavailable, BudgetState, RateState
from sekisho.limits.ledger import SpendLedger
from sekisho.limits.memory import MemoryBackend
from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import LimitClock, Period, current_period
from sekisho.limits.redis_backend import RedisBackend
from sekisho.limits.settings import LimitSettings
from sekisho.limits.store import LimitStore
from sekisho.settings import ConfigError, ModelSettings
from sekisho.webhooks import WebhookOutbox

log = logging.getLogger("sekisho.limits")


@dataclass
class Limits:
    """The parts, and their background work (spend ledger, reconciliation, e-mail sender)."""

    settings: LimitSettings
    clock: LimitClock
    store: LimitStore
    rules: RulesCache
    backend: Backend
    ledger: SpendLedger
    admitter: LimitsAdmitter
    email_outbox: EmailOutbox | None
    email_sender: EmailSender | None
    _reconciler: asyncio.Task[None] | None = None

    @property
    def admitters(self) -> list[Admitter]:
        """What the admit stage runs (nothing when limits are switched off)."""
        return [self.admitter] if self.settings.enabled else []

    async def start(self) -> None:
        """Start the ledger, the e-mail sender and (with Redis) reconciliation, first once now."""
        self.ledger.start()
        if self.email_sender is not None:
            self.email_sender.start()
        if isinstance(self.backend, RedisBackend) and self.settings.enabled:
            await self.reconcile_now()
            self._reconciler = asyncio.get_running_loop().create_task(
                self._reconcile_loop(), name="sekisho-limits-reconcile"
            )

    async def aclose(self) -> None:
        """Stop the background work and write the spend still held in memory."""
        task, self._reconciler = self._reconciler, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await self.ledger.aclose()
        if self.email_sender is not None:
            await self.email_sender.aclose()
        await self.backend.aclose()

    async def reconcile_now(self) -> int:
        """Raise live counters that fell behind ``budget_spend``; 0 when the backend is away."""
        try:
            await anyio.to_thread.run_sync(self.ledger.flush)
            found = await anyio.to_thread.run_sync(self.store.enabled_budgets)
            now = self.clock.now()
            return await self.backend.reconcile(
                [(b, current_period(b.period, now)) for b in found], now.timestamp()
            )
        except BackendUnavailable as exc:
            log.warning("reconciling budget counters skipped: %s", exc)
        except Exception as exc:
            log.warning("reconciling budget counters failed: %s", type(exc).__name__)
        return 0

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reconcile_seconds)
            changed = await self.reconcile_now()
            if changed:
                log.info("reconciliation raised %d budget counter(s) to the durable spend", changed)

    async def budget_states(self, found: Sequence[Budget]) -> dict[str, tuple[Period, BudgetState]]:
        """Each budget's current period and live counters (durable spend when the backend is away)."""
        now = self.clock.now()
        keys = [(b, current_period(b.period, now)) for b in found]
        try:
            states = await self.backend.budget_states(keys)
        except BackendUnavailable:
            durable = await self.ledger.spent([(b.id, p.start) for b, p in keys])
            states = {b.id: BudgetState(durable.get((b.id, p.start), 0), 0) for b, p in keys}
        return {b.id: (p, states[b.id]) for b, p in keys}

    async def rate_states(self, found: Sequence[RateLimit]) -> dict[str, RateState]:
        """Live rate-limit counters (empty when the backend is away)."""
        try:
            return await self.backend.rate_states(found, self.clock.time())
        except BackendUnavailable:
            return {}


def build_limits(
    settings: LimitSettings,
    email: EmailSettings,
    engine: Engine,
    audit: AuditLog,
    models: Mapping[str, ModelSettings],
    webhooks: WebhookOutbox | None,
) -> Limits:
    """Everything budgets, limits and alerts need; nothing starts until :meth:`Limits.start`."""
    unknown = sorted(set(settings.max_output_tokens) - set(models))
    if unknown:
        raise ConfigError(f"limits.max_output_tokens names unknown model(s): {', '.join(unknown)}")
    if any(v < 1 for v in settings.max_output_tokens.values()):
        raise ConfigError("limits.max_output_tokens values must be at least 1")
    clock = LimitClock(settings.clock_offset_seconds)
    rules_holder: list[RulesCache] = []
    store = LimitStore(engine, audit, models, on_change=lambda org: rules_holder[0].invalidate(org))
    rules = RulesCache(store, settings.cache_seconds)
    rules_holder.append(rules)
    email_outbox = EmailOutbox(engine) if email.enabled else None
    sender = EmailSender(engine, email) if email.enabled else None
    ledger = SpendLedger(
        engine,
        store,
        AlertWriter(audit, webhooks, email_outbox),
        interval=settings.flush_seconds,
        on_email=sender.wake if sender is not None else None,
    )
    backend: Backend
    if settings.backend == "redis":
        backend = RedisBackend.connect(
            settings.redis_url,
            ledger.spent,
            prefix=settings.key_prefix,
            reservation_ttl=settings.reservation_ttl_seconds,
            timeout=settings.redis_timeout_seconds,
            max_connections=settings.redis_max_connections,
            clock=clock.time,
        )
    else:
        backend = MemoryBackend(ledger.spent)
    admitter = LimitsAdmitter(settings, rules, backend, ledger, models, clock)
    return Limits(settings, clock, store, rules, backend, ledger, admitter, email_outbox, sender)
