"""The pipeline stages, one small object each. Only ``Pipeline`` knows their order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import utcnow
from sekisho.gateway.call import Admitter, Call
from sekisho.gateway.errors import GatewayError, bad_request, forbidden, not_found, unauthorized
from sekisho.identity import AuthError, KeyAuthenticator
from sekisho.metering import Usage, UsageEvent, cost_nanousd
from sekisho.observability.hooks import settled, stage
from sekisho.providers import Router
from sekisho.store.batch import BatchWriter

if TYPE_CHECKING:  # the network domain imports the gateway's errors; only the type is needed here
    from sekisho.network.gate import NetworkGate


class Authenticate:
    """API key (or, with mTLS, a client certificate) → Principal; then the IP allow-lists."""

    def __init__(self, authenticator: KeyAuthenticator, network: NetworkGate | None = None) -> None:
        self._authenticator = authenticator
        self._network = network

    async def __call__(self, call: Call, authorization: str | None) -> None:
        try:
            principal = None
            if self._network is not None:
                # Only a request without an Authorization header is looked at for a certificate.
                principal = await self._network.authenticate(authorization)
            if principal is None:
                principal = await self._authenticator.authenticate(authorization)
        except AuthError as exc:
            # 401 for a missing or bad key; 403 key_suspended for a suspended one.
            raise GatewayError(exc.status, str(exc), type=exc.type, code=exc.code) from None
        if self._network is not None:
            # 403 ip_not_allowed from outside the organisation's (or the project's) networks.
            await self._network.check_call(principal)
        call.principal = principal


class Authorize:
    """The model exists, serves this endpoint, and this key may use it."""

    def __init__(self, router: Router) -> None:
        self._router = router

    def __call__(self, call: Call, model_name: str) -> None:
        principal = call.principal
        if principal is None:  # pragma: no cover - Authenticate always runs first
            raise unauthorized("not authenticated")
        if principal.project_id is None:
            raise forbidden(
                "The master key administers Sekisho but cannot call models: create an API key for a project.",
                code="project_required",
            )
        model = self._router.model(model_name)
        if model is None or not principal.may_use_model(model_name):
            if model is not None:
                raise forbidden(f"This API key may not use the model '{model_name}'.", param="model")
            raise not_found(f"The model '{model_name}' does not exist.", param="model")
        wanted = "embedding" if call.endpoint == "embeddings" else "chat"
        if model.kind != wanted:
            raise bad_request(
                f"The model '{model_name}' is a {model.kind} model and cannot serve {call.endpoint}.",
                param="model",
                code="wrong_model_kind",
            )
        call.model = model


class Admit:
    """Admission checks (budgets and rate limits plug in here), then a durable 'admitted' record."""

    def __init__(self, admitters: Sequence[Admitter], audit: AuditLog) -> None:
        self._admitters = list(admitters)
        self._audit = audit

    async def __call__(self, call: Call) -> None:
        try:
            for admitter in self._admitters:
                call.reservations.append(await admitter.admit(call))
        except BaseException:
            # A later check said no (or the client left): what the earlier ones reserved goes back.
            await _release(call)
            raise
        principal, model = call.who()
        event = AuditEvent(
            kind="request.admitted",
            actor=principal.actor,
            org_id=principal.org_id,
            project_id=principal.project_id,
            request_id=call.request_id,
            data={
                "endpoint": call.endpoint,
                "model": model.name,
                "key_prefix": principal.key_prefix,
                "user_id": principal.user_id,
                "stream": call.stream,
            },
        )
        try:
            await self._audit.admitted(event)
        except BaseException as exc:
            # No durable record, no upstream call: the promise is that every call is on the record.
            await _release(call)
            if not isinstance(exc, Exception):
                raise  # cancelled: nothing was sent, and nothing stays reserved
            raise GatewayError(
                503,
                "The audit log is unavailable; the request was not sent.",
                type="api_error",
                code="audit_unavailable",
            ) from exc
        call.admitted = True


class Settle:
    """Real usage and cost, reservations reconciled, the 'completed' record and the usage event."""

    def __init__(self, audit: AuditLog, writer: BatchWriter) -> None:
        self._audit = audit
        self._writer = writer

    async def __call__(self, call: Call, outcome: str) -> None:
        settled(call, outcome)  # tokens, cost and policy decision for metrics (once: it checks admitted)
        with stage("settle"):
            await self._settle(call, outcome)

    async def _settle(self, call: Call, outcome: str) -> None:
        # Whatever was used is charged, also when the call failed after tokens were spent (a stream
        # cut short by the client or the upstream, an answer the output guardrails stopped): the
        # upstream bills those too, and the usage event below records them. None releases.
        for reservation in call.reservations:
            await reservation.settle(call.usage)
        call.reservations.clear()
        if not call.admitted:
            return
        call.admitted = False
        principal, model = call.who()
        usage = call.usage or Usage()
        served = call.served or model
        cost = cost_nanousd(served, usage)
        latency = call.elapsed_ms()
        data: dict[str, Any] = {
            "outcome": outcome,
            "status_code": call.status_code,
            "error_code": call.error_code,
            "decision": call.decision,
            "model": model.name,
            "served_model": served.name,
            "key_prefix": principal.key_prefix,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "usage_estimated": usage.estimated,
            "cost_nanousd": cost,
            "latency_ms": latency,
            "attempts": len(call.attempts),
            "findings": len(call.findings),
            "guardrails": call.guard_decision,
            # Types and counts only: a finding's value never reaches the audit log.
            "finding_types": ",".join(f"{t}:{n}" for t, n in sorted(call.finding_counts.items())) or None,
            "policy_rule": call.verdict.rule_id if call.verdict else None,
            "policy_category": call.verdict.category if call.verdict else None,
            "review_id": call.review_id,
        }
        self._audit.finished(
            AuditEvent(
                kind="request.completed" if outcome == "completed" else "request.failed",
                actor=principal.actor,
                org_id=principal.org_id,
                project_id=principal.project_id,
                request_id=call.request_id,
                data=data,
            )
        )
        if principal.org_id is not None and principal.project_id is not None:
            self._writer.submit(
                UsageEvent(
                    ts=utcnow(),
                    request_id=call.request_id,
                    org_id=principal.org_id,
                    project_id=principal.project_id,
                    user_id=principal.user_id,
                    key_id=principal.key_id,
                    model=model.name,
                    served_model=served.name,
                    endpoint=call.endpoint,
                    status_code=call.status_code,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cost_nanousd=cost,
                    usage_estimated=usage.estimated,
                    latency_ms=latency,
                )
            )


async def _release(call: Call) -> None:
    for reservation in call.reservations:
        await reservation.settle(None)
    call.reservations.clear()


def message_texts(body: dict[str, Any]) -> list[str]:
    """Every text a request carries (all roles, tool results included)."""
    texts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(
                p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
    raw = body.get("input")
    if isinstance(raw, str):
        texts.append(raw)
    elif isinstance(raw, list):
        texts.extend(t for t in raw if isinstance(t, str))
    return texts
