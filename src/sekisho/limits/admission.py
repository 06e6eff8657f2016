"""The admission check for budgets and rate limits (an ``Admitter`` of the admit stage).

One backend call reserves the request's largest possible cost on every budget (org, project, user,
key) and every rate-limit counter (key, project, model) that applies, or on none of them. The
reservation is settled with the real usage when the call ends, or released with nothing used.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Mapping

import anyio.to_thread

from sekisho.gateway.call import Call, Reservation
from sekisho.gateway.errors import GatewayError
from sekisho.limits.backend import Backend, BackendUnavailable, Denied
from sekisho.limits.ledger import SpendLedger
from sekisho.limits.model import OrgRules
from sekisho.limits.periods import LimitClock
from sekisho.limits.plan import Estimator, Plan, build_plan, requested_output, usage_tokens
from sekisho.limits.refusals import refusal
from sekisho.limits.settings import LimitSettings
from sekisho.limits.store import LimitStore
from sekisho.metering import Usage, cost_nanousd
from sekisho.settings import ModelSettings

log = logging.getLogger("sekisho.limits")
_orphans: set[asyncio.Task[None]] = set()


class RulesCache:
    """An organisation's budgets and limits, read at most every ``ttl`` seconds per replica."""

    def __init__(self, store: LimitStore, ttl: float) -> None:
        self._store = store
        self._ttl = ttl
        self._cache: dict[str, tuple[float, OrgRules]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, org_id: str) -> OrgRules:
        """The rules, from the cache when fresh; a stale copy when the database cannot be read."""
        hit = self._cache.get(org_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        lock = self._locks.setdefault(org_id, asyncio.Lock())
        async with lock:
            hit = self._cache.get(org_id)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
            try:
                budgets, limits = await anyio.to_thread.run_sync(self._store.org_rules, org_id)
            except Exception as exc:
                if hit is None:
                    raise BackendUnavailable(f"budgets cannot be read: {type(exc).__name__}") from exc
                log.warning("budgets of %s could not be re-read; using the last copy", org_id)
                return hit[1]
            rules = OrgRules.build(budgets, limits)
            self._cache[org_id] = (time.monotonic() + self._ttl, rules)
            return rules

    def invalidate(self, org_id: str) -> None:
        """Forget an organisation's rules (after a change made through this replica)."""
        self._cache.pop(org_id, None)


class _Nothing:
    """The reservation of a call no budget or limit applies to."""

    async def settle(self, usage: Usage | None) -> None:
        return None


NOTHING: Reservation = _Nothing()


class LimitsAdmitter:
    """Reserves at admission; fails closed (503) or open when the backend is unreachable."""

    def __init__(
        self,
        settings: LimitSettings,
        rules: RulesCache,
        backend: Backend,
        ledger: SpendLedger,
        models: Mapping[str, ModelSettings],
        clock: LimitClock,
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.backend = backend
        self.ledger = ledger
        self.estimator = Estimator(settings, models)
        self.clock = clock
        self._warned = 0.0

    async def admit(self, call: Call) -> Reservation:
        """Reserve what ``call`` may use at most, or raise a 429 (or a 503 when failing closed)."""
        principal, model = call.who()
        org_id = principal.org_id
        if org_id is None:
            return NOTHING
        try:
            rules = await self.rules.get(org_id)
        except BackendUnavailable as exc:
            return self._unavailable(exc, None, model)
        if rules.empty:
            return NOTHING
        scopes = [("org", org_id)]
        scopes += [(kind, value) for kind, value in (
            ("project", principal.project_id), ("user", principal.user_id), ("key", principal.key_id)
        ) if value is not None]  # fmt: skip
        budgets = rules.budgets_for(scopes)
        limits = rules.limits_for(
            [(k, v) for k, v in scopes if k in ("project", "key")] + [("model", model.name)]
        )
        if not budgets and not limits:
            return NOTHING
        if (
            self.settings.send_output_cap
            and call.endpoint == "chat.completions"
            and requested_output(call.body) is None
            and (budgets or any(limit.tokens_per_minute for limit in limits))
        ):
            # Without a maximum the upstream may write more than was reserved.
            call.body["max_tokens"] = self.estimator.output_cap(model)
        now = self.clock.time()
        plan = build_plan(
            org_id, budgets, limits, self.estimator.demand(call.endpoint, call.body, model), now
        )
        rid = call.request_id
        try:
            await self.backend.reserve(rid, plan, now + self.settings.reservation_ttl_seconds)
        except Denied as denied:
            raise refusal(plan, denied, self.clock.now()) from None
        except BackendUnavailable as exc:
            return self._unavailable(exc, plan, model)
        return LimitReservation(self, rid, plan, model, call)

    def _unavailable(self, exc: BackendUnavailable, plan: Plan | None, model: ModelSettings) -> Reservation:
        now = time.monotonic()
        if now - self._warned > 10:
            self._warned = now
            log.warning(
                "budget and rate-limit counters unavailable (%s): %s", self.settings.on_backend_error, exc
            )
        if self.settings.on_backend_error == "fail_open":
            # Not held on any counter, but what it spends is still written to budget_spend.
            return LimitReservation(self, None, plan, model, None) if plan is not None else NOTHING
        raise GatewayError(
            503,
            "Budgets and rate limits cannot be checked right now (their counter store is unreachable); "
            "the request was not sent.",
            type="api_error",
            code="limits_unavailable",
            headers={"retry-after": "1"},
        )


class LimitReservation:
    """What one call holds until it settles. Settling twice does nothing the second time."""

    def __init__(
        self,
        admitter: LimitsAdmitter,
        rid: str | None,
        plan: Plan,
        model: ModelSettings,
        call: Call | None,
    ) -> None:
        self._admitter = admitter
        self._rid = rid
        self._plan = plan
        self._model = model
        self._call = call
        self._done = False
        # A safety net for a reservation dropped without being settled (a stream whose body was never
        # started): collecting it frees it. A dead process's reservations expire in the backend instead.
        self._finalizer = (
            weakref.finalize(self, _release_orphan, admitter.backend, rid, plan, asyncio.get_running_loop())
            if rid is not None
            else None
        )

    async def settle(self, usage: Usage | None) -> None:
        """Release the reservation; count ``usage`` (None: nothing was used) against every budget."""
        if self._done:
            return
        self._done = True
        call, self._call = self._call, None  # the call holds this reservation: break the cycle
        if self._finalizer is not None:
            self._finalizer.detach()
        spend: dict[str, int] | None = None
        tokens: int | None = None
        if usage is not None:
            served = (call.served if call is not None else None) or self._model
            tokens = usage_tokens(usage)
            spend = self._plan.spend_of(cost_nanousd(served, usage), tokens)
            for charge in self._plan.budgets:
                self._admitter.ledger.add(charge.budget, charge.period, spend[charge.budget.id])
        if self._rid is None:
            return
        try:
            await self._admitter.backend.settle(self._rid, self._plan, spend, tokens)
        except Exception:
            # Never fail the response for this: the reservation expires by itself.
            log.exception("settling reservation %s failed", self._rid)


def _release_orphan(backend: Backend, rid: str, plan: Plan, loop: asyncio.AbstractEventLoop) -> None:
    """Free a reservation that was garbage-collected without being settled."""
    log.warning("reservation %s was dropped without settling; releasing it", rid)

    def release() -> None:
        task = loop.create_task(backend.settle(rid, plan, None, None))
        _orphans.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_orphans.discard)

    if not loop.is_closed():
        loop.call_soon_threadsafe(release)
