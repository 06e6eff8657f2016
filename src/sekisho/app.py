"""``build_app(settings)``: the one place where Sekisho's objects are created and wired."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection, Engine, select, text
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from sekisho import __version__
from sekisho.accounts.admin_routes import accounts_admin_router
from sekisho.accounts.routes import auth_router
from sekisho.accounts.session_auth import SessionAuthenticator
from sekisho.accounts.wiring import build_accounts
from sekisho.admin import AdminServices, admin_router
from sekisho.analytics.maintenance import UsageMaintenance
from sekisho.analytics.routes import analytics_router
from sekisho.core import Core, build_core
from sekisho.crypto import SecretBox
from sekisho.enforcement import Enforcement
from sekisho.enforcement.admin_routes import enforcement_admin_router
from sekisho.enforcement.routes import enforcement_routes
from sekisho.gateway import Pipeline, Stages, gateway_routes, stages
from sekisho.gateway.call import Call
from sekisho.gateway.crisis_gate import CrisisGate
from sekisho.gateway.decide import Decide, PolicyParts, RecordViolation
from sekisho.gateway.errors import GatewayError
from sekisho.gateway.guard import GuardInput, GuardOutput
from sekisho.gateway.guard_routes import guard_routes
from sekisho.gateway.policy_routes import policy_routes
from sekisho.gateway.review_gate import ReviewGate
from sekisho.governance import Governance
from sekisho.guardrails.engine import GuardrailEngine
from sekisho.identity import GroupStore, KeyAuthenticator, Principal, TenancyStore
from sekisho.limits.admin_routes import limits_admin_router
from sekisho.limits.service import build_limits
from sekisho.network import build_network, check_admin, request_scope
from sekisho.network.admin import network_admin_router
from sekisho.observability.hooks import attempts
from sekisho.observability.wiring import Observability, build_observability
from sekisho.policy.byo import ByoPolicyClassifier
from sekisho.policy.evaluate import PolicyEvaluator
from sekisho.policy.local import load_local_classifier
from sekisho.policy.resolver import PolicyResolver
from sekisho.policy.routes import policy_router
from sekisho.policy.store import PolicyStore
from sekisho.policy.verdict import Verdict
from sekisho.providers import ChatResult, Provider, create_provider
from sekisho.providers import Router as ModelRouter
from sekisho.review.routes import review_router
from sekisho.review.runner import ReviewRunner
from sekisho.review.service import ReviewService
from sekisho.review.store import Notify, ReviewItem, ReviewStore
from sekisho.scim.wiring import build_scim, scim_router, scim_token_router
from sekisho.settings import ModelSettings, Settings
from sekisho.sso.admin_routes import idp_admin_router
from sekisho.sso.routes import sso_router
from sekisho.sso.saml_routes import saml_router
from sekisho.sso.wiring import build_sso
from sekisho.store.tables import orgs
from sekisho.webhooks import WebhookDispatcher, WebhookOutbox

log = logging.getLogger("sekisho")


def build_providers(settings: Settings) -> dict[str, Provider]:
    """One provider object per configured provider."""
    return {p.name: create_provider(p) for p in settings.providers}


def build_app(settings: Settings, *, providers: dict[str, Provider] | None = None) -> FastAPI:
    """The ASGI application. ``providers`` replaces the configured ones (tests, embedding)."""
    core = build_core(settings)
    observability = build_observability(settings, core.engine)
    providers = providers if providers is not None else build_providers(settings)
    router = ModelRouter(
        {m.name: m for m in settings.models}, providers, backoff=settings.retry_backoff_seconds
    )
    master = settings.master_key.get_secret_value() if settings.master_key else None
    authenticator = KeyAuthenticator(core.tenancy, master_key=master, ttl=settings.key_cache_seconds)
    network = build_network(
        settings.network, core.engine, core.audit, core.tenancy, cache_seconds=settings.key_cache_seconds
    )
    secret_box = SecretBox.load(settings.data_dir)
    accounts = build_accounts(settings.identity, core.engine, core.audit, secret_box, trusted=network.trusted)
    sessions = accounts.sessions
    sso = build_sso(settings, core.engine, core.audit, secret_box, sessions)
    guardrails = (
        GuardrailEngine.from_settings(settings.guardrails, RouterCaller(router))
        if settings.guardrails.enabled
        else None
    )
    caller = RouterCaller(router)
    outbox = WebhookOutbox(core.engine, settings.webhooks)
    limits = build_limits(
        settings.limits, settings.email, core.engine, core.audit, {m.name: m for m in settings.models}, outbox
    )
    webhooks = WebhookDispatcher(core.engine, settings.webhooks, outbox=outbox, audit=core.audit)
    governance = build_governance(settings, core, caller, guardrails, outbox)
    gate = ReviewGate(governance.reviews)
    enforcement = Enforcement(
        core.engine, core.audit, settings.enforcement, authenticator=authenticator, notifier=outbox
    )
    policy_parts = (
        PolicyParts(governance.resolver, governance.evaluator, gate, violation_recorder(enforcement))
        if settings.policy.enabled
        else None
    )
    pipeline = Pipeline(
        Stages(
            authenticate=stages.Authenticate(authenticator, network.gate),
            authorize=stages.Authorize(router),
            admit=stages.Admit(limits.admitters, core.audit),
            guard_input=GuardInput(guardrails, core.audit),
            decide=Decide(
                policy_parts,
                crisis=CrisisGate(settings.crisis, governance.reviews.store)
                if settings.crisis.enabled
                else None,
            ),
            router=router,
            guard_output=GuardOutput(guardrails),
            settle=stages.Settle(core.audit, core.writer),
        )
    )
    runner = ReviewRunner(
        governance.reviews,
        ApprovedRequests(pipeline, core.tenancy, router, observability).execute,
        interval=settings.policy.review_poll_seconds,
    )
    governance.reviews.on_approved = runner.wake
    usage_maintenance = UsageMaintenance(core.engine, core.audit, settings.usage_data)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        core.writer.start()
        await anyio.to_thread.run_sync(core.tenancy.ensure_default_org)
        interrupted = await anyio.to_thread.run_sync(core.audit.recover_interrupted)
        if interrupted:
            log.warning(
                "marked %d requests interrupted by the previous run of %s", interrupted, settings.instance_id
            )
        # This month's usage partition exists before the first request is recorded.
        await anyio.to_thread.run_sync(usage_maintenance.prepare)
        runner.start()
        webhooks.start()
        await limits.start()
        usage_maintenance.start()
        try:
            yield
        finally:
            await runner.aclose()
            # Settled spend still in memory is written first; its alerts go to the webhook outbox.
            await limits.aclose()
            await webhooks.aclose()
            await usage_maintenance.aclose()
            outbox.close()
            for provider in providers.values():
                await provider.aclose()
            await anyio.to_thread.run_sync(core.writer.close)
            await observability.aclose()
            core.engine.dispose()

    gateway = Router(
        routes=[
            *gateway_routes(pipeline, router, max_body_bytes=settings.max_body_bytes),
            *guard_routes(pipeline, max_body_bytes=settings.max_body_bytes),
            *policy_routes(pipeline, governance, max_body_bytes=settings.max_body_bytes),
            *enforcement_routes(
                enforcement,
                authenticator,
                max_body_bytes=settings.max_body_bytes,
                network_check=network.gate.check_call,
            ),
        ]
    )
    app = SekishoApp(
        gateway,
        title="Sekisho",
        version=__version__,
        summary="The governed checkpoint for every AI call: OpenAI-compatible API and admin API.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.core = core
    app.state.observability = observability
    # Request ids, request metrics, root spans and /metrics around everything, /v1 included.
    app.entry = observability.instrument(
        app.dispatch, network.trusted, lambda: [*app.routes, *gateway.routes]
    )
    accounts.install(app.state)
    app.state.sso = sso
    app.state.admin = AdminServices(
        core.engine,
        core.tenancy,
        GroupStore(core.engine, core.audit),
        core.audit,
        authenticator,
        SessionAuthenticator(core.engine, sessions),
        cookie_name=settings.identity.sessions.cookie_name,
        network_check=check_admin,
    )
    app.state.pipeline = pipeline
    app.state.usage_maintenance = usage_maintenance
    app.state.network = network
    app.state.governance = governance
    app.state.webhooks = webhooks
    app.state.limits = limits
    app.state.enforcement = enforcement
    app.include_router(admin_router())
    app.include_router(analytics_router())
    app.include_router(policy_router())
    app.include_router(review_router())
    app.include_router(enforcement_admin_router(enforcement))
    app.include_router(auth_router())
    app.include_router(accounts_admin_router())
    app.include_router(sso_router())
    app.include_router(saml_router())
    app.include_router(idp_admin_router())
    app.include_router(network_admin_router())
    app.include_router(limits_admin_router())
    if settings.scim.enabled:
        app.state.scim = build_scim(
            core.engine,
            core.audit,
            settings.scim,
            sessions=sessions,
            keys=authenticator,
            public_url=settings.identity.public_url,
        )
        app.include_router(scim_router(app.state.scim))
        app.include_router(scim_token_router())
    _health_routes(app, core.engine, providers)
    _error_handlers(app)
    return app


def build_governance(
    settings: Settings,
    core: Core,
    caller: RouterCaller,
    guardrails: GuardrailEngine | None,
    outbox: WebhookOutbox | None = None,
) -> Governance:
    """Policy store, resolver and evaluator; the review store and service."""
    policies = PolicyStore(core.engine, core.audit)
    local = load_local_classifier() if settings.policy.local_classifier else None
    judges: dict[str, ByoPolicyClassifier] = {}

    def llm(model: str) -> ByoPolicyClassifier:
        # One classifier per model, so its result cache and single-flight are shared by requests.
        if model not in judges:
            judges[model] = ByoPolicyClassifier(caller, model)
        return judges[model]

    return Governance(
        policies=policies,
        resolver=PolicyResolver(policies, ttl=settings.policy.cache_seconds),
        evaluator=PolicyEvaluator(local, llm),
        reviews=ReviewService(
            ReviewStore(core.engine, core.audit, outbox_notifier(outbox) if outbox else None)
        ),
        guardrails=guardrails,
    )


def violation_recorder(enforcement: Enforcement) -> RecordViolation:
    """Count a blocked request against its key and user; the message of an action it triggered."""

    async def record(call: Call, verdict: Verdict) -> str | None:
        p = call.who()[0]
        org_id = p.org_id
        if org_id is None:
            return None
        applied = await anyio.to_thread.run_sync(
            lambda: enforcement.record_violation(
                org_id=org_id,
                project_id=p.project_id,
                user_id=p.user_id,
                key_id=p.key_id,
                category=verdict.category,
                rule_id=verdict.rule_id,
                request_id=call.request_id,
            )
        )
        return applied.message if applied is not None else None

    return record


def outbox_notifier(outbox: WebhookOutbox) -> Notify:
    """Queue a webhook for a review event in the transaction that records it."""

    def notify(conn: Connection, event_type: str, org_id: str, data: dict[str, Any]) -> None:
        slug = conn.execute(select(orgs.c.slug).where(orgs.c.id == org_id)).scalar()
        outbox.enqueue_in(conn, event_type, org_id, slug, data)

    return notify


class ApprovedRequests:
    """Runs an approved review's request when its client is no longer waiting (the review runner's job)."""

    def __init__(
        self,
        pipeline: Pipeline,
        tenancy: TenancyStore,
        router: ModelRouter,
        observability: Observability | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._tenancy = tenancy
        self._router = router
        self._observability = observability

    async def execute(self, item: ReviewItem) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(answer, None) or (None, OpenAI error object)."""
        model = self._router.model(item.model)
        if model is None:
            return None, {
                "message": f"the model {item.model!r} is no longer configured",
                "code": "model_not_found",
            }
        org = await anyio.to_thread.run_sync(self._tenancy.get_org, item.org_id)
        project = await anyio.to_thread.run_sync(self._tenancy.get_project, item.project_id, item.org_id)
        call = Call(
            request_id=f"req_{secrets.token_hex(12)}",
            endpoint="chat.completions",
            body=orjson.loads(item.request_body or "{}"),
            principal=Principal(
                org_id=item.org_id,
                project_id=item.project_id,
                user_id=item.requester_user_id,
                key_id=item.requester_key_id,
                key_prefix="review",
                role="member",
                org_slug=org.slug,
                project_slug=project.slug,
            ),
            model=model,
            review_id=item.id,
        )
        try:
            if self._observability is None:
                result = await self._pipeline.resume(call)
            else:
                with self._observability.background(call.request_id, "review.run"):
                    result = await self._pipeline.resume(call)
        except GatewayError as exc:
            return None, exc.payload()["error"]
        return result.data, None


class RouterCaller:
    """Lets a guardrail (the LLM judge) ask a configured model, with the router's retries and fallbacks."""

    def __init__(self, router: ModelRouter) -> None:
        self._router = router

    async def complete(self, model: str, messages: list[dict[str, str]], *, max_tokens: int = 60) -> str:
        """The answer's text (empty when the model answered with none)."""
        settings = self._router.model(model)
        if settings is None:
            raise LookupError(f"unknown model {model!r}")
        body = {"model": model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}

        async def attempt(provider: Provider, candidate: ModelSettings) -> ChatResult:
            return await provider.chat(candidate, body)

        # Counted and traced as Sekisho's own call: its time is overhead, not the requested model's.
        result, _served, _tried = await self._router.call(settings, attempts(attempt, serving=False))
        choices = result.data.get("choices") or [{}]
        content = (choices[0].get("message") or {}).get("content")
        return content if isinstance(content, str) else ""


class SekishoApp(FastAPI):
    """The FastAPI app, with /v1 requests handed straight to the gateway's own router.

    The OpenAI-compatible routes answer every error themselves in OpenAI's format, so they skip
    FastAPI's middleware stack (error pages, telemetry hooks, dependency machinery) on every call.
    """

    def __init__(self, gateway: Router, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gateway = gateway
        # What serves a request: ``dispatch``, wrapped by build_app with observability (request ids,
        # metrics, traces, /metrics).
        self.entry: ASGIApp = self.dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.entry(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """/v1 to the gateway's router, everything else to FastAPI."""
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            # With "app" in the scope, Starlette raises HTTPException for an unknown path or a wrong
            # method instead of answering in plain text, so the client still gets OpenAI's shape.
            scope["app"] = self
            try:
                # The Authenticate stage reads the client address and certificate from the scope.
                with request_scope(scope):
                    await self._gateway(scope, receive, send)
            except HTTPException as exc:
                await _http_error_response(exc)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _health_routes(app: FastAPI, engine: Engine, providers: dict[str, Provider]) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> Response:
        """The database answers at this code's schema, Redis when used, and every provider."""

        def ping() -> bool:
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception:
                log.exception("database not ready")
                return False
            return True

        checks = {"database": await anyio.to_thread.run_sync(ping)}
        # The schema revision, and Redis when budgets and rate limits are shared through it.
        checks.update(await app.state.observability.readiness.checks())
        for name, provider in providers.items():
            checks[f"provider:{name}"] = await provider.ready()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
        )


def _http_error_response(exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return GatewayError(exc.status_code, str(exc.detail), code=code).response()


def _error_handlers(app: FastAPI) -> None:
    async def gateway_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, GatewayError):
            return exc.response()
        raise exc

    async def invalid(_request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            # Its location is a character offset into the body, not a parameter; answer as /v1 does.
            return GatewayError(400, "The request body is not valid JSON.", code="invalid_json").response()
        param = ".".join(str(p) for p in first["loc"][1:]) or None
        message = str(first["msg"])
        return GatewayError(
            400,
            f"Invalid value for '{param}': {message}." if param else message,
            param=param,
            code="invalid_value",
        ).response()

    async def http_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _http_error_response(exc)
        raise exc

    async def internal(_request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return GatewayError(500, "Internal error.", type="api_error", code="internal_error").response()

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal)


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker serving: settings from the environment."""
    from sekisho.observability.logs import configure_logging, secret_values
    from sekisho.settings import load_settings

    settings = load_settings()
    # Each worker process sets up its own logging: `sekisho serve --workers N` passes its choice on
    # in SEKISHO_LOG_FORMAT and SEKISHO_LOG_LEVEL.
    configure_logging(
        os.environ.get("SEKISHO_LOG_FORMAT") or settings.observability.log_format,
        os.environ.get("SEKISHO_LOG_LEVEL", "INFO"),
        secrets=secret_values(settings),
    )
    return build_app(settings)
