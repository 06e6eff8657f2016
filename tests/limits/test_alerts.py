"""Budget alerts end to end: thresholds → a signed webhook and e-mail through a real SMTP server
(aiosmtpd on a free port); once per period; none lost across a restart; one across replicas."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_string
from email.message import Message
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sekisho.limits.alerts import AlertWriter
from sekisho.limits.ledger import SpendLedger
from sekisho.limits.periods import current_period
from sekisho.store.tables_budgets import budget_alerts, email_deliveries
from sekisho.webhooks import verify
from tests.conftest import ServerThread, free_port
from tests.limits.conftest import LimitsGateway, MakeGateway, cost

pytestmark = pytest.mark.anyio

SECRET = "a-webhook-signing-secret-of-some-length"
SPENT_ONE = cost(6, 7)


@dataclass
class Mailbox:
    """What the SMTP server received; ``answers`` scripts the reply to DATA (then 250)."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers:
            return self.answers.pop(0)
        self.messages.append((list(envelope.rcpt_tos), message_from_string(envelope.content.decode())))
        self.arrived.set()
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Hooks:
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, str]]:
    hooks = Hooks()
    with ServerThread(Starlette(routes=[Route("/hooks", hooks.handle, methods=["POST"])])) as server:
        yield hooks, f"{server.url}/hooks"


def alerting(port: int, hook_url: str | None = None, **email: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "email": {"host": "127.0.0.1", "port": port, "starttls": False, "from_address": "sekisho@example.com",
                  "poll_seconds": 0.2, "backoff_seconds": 0.5, **email},
    }  # fmt: skip
    if hook_url:
        config["webhooks"] = [{"url": hook_url, "secret": SECRET, "events": ["budget.*"]}]
    return config


async def eventually(condition: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def alert_rows(lg: LimitsGateway) -> list[tuple[str, str, int]]:
    with lg.gw.core.engine.connect() as conn:
        rows = conn.execute(select(budget_alerts).order_by(budget_alerts.c.threshold)).all()
    return [(r.budget_id, r.period_start, r.threshold) for r in rows]


async def test_thresholds_send_a_signed_webhook_and_email_once_per_period(
    make_gateway: MakeGateway, smtp: tuple[Mailbox, int], hooks: tuple[Hooks, str]
) -> None:
    mailbox, port = smtp
    receiver, url = hooks
    async with make_gateway(**alerting(port, url)) as lg:
        key, secret = lg.key()
        budget = await lg.budget(
            scope_type="key", scope_id=key.id, amount=5 * SPENT_ONE, period="day", thresholds=[40, 60],
            notify=["finance@example.com", "ops@example.com"], name="Team A",
        )  # fmt: skip
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200  # 20 %
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200  # 40 %
        await eventually(lambda: len(mailbox.messages) == 2, "the 40 % e-mails")
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200  # 60 %
        await eventually(lambda: len(mailbox.messages) == 4, "the 60 % e-mails")
        await eventually(lambda: len(receiver.received) == 2, "two webhooks")

        period = current_period("day", lg.limits.clock.now()).start
        assert alert_rows(lg) == [(budget["id"], period, 40), (budget["id"], period, 60)]
        _to, first = mailbox.messages[0]
        assert sorted(addr for rcpt, _ in mailbox.messages[:2] for addr in rcpt) == [
            "finance@example.com",
            "ops@example.com",
        ]
        assert first["From"] == "sekisho@example.com"
        assert first["Subject"] == "[Sekisho] Budget Team A reached 40%"
        raw = first.get_payload(decode=True)
        assert isinstance(raw, bytes)
        text = raw.decode()
        assert "Spent: 0.0000102 USD of 0.0000255 USD." in text and budget["id"] in text

        headers, body = receiver.received[0]
        verify(SECRET, headers, body)
        event = orjson.loads(body)
        assert event["type"] == "budget.threshold_reached"
        data = event["data"]
        assert (data["budget_id"], data["threshold"], data["period_start"]) == (budget["id"], 40, period)
        assert (data["spent"], data["amount"]) == (2 * SPENT_ONE, 5 * SPENT_ONE)

        # More spend above the thresholds (here: a refused request, then the next day) alerts no more today.
        assert (await lg.chat(secret, max_tokens=20)).status_code == 429
        lg.flush()
        assert len(alert_rows(lg)) == 2
        lg.limits.clock.offset += 86400
        for _ in range(2):
            assert (await lg.chat(secret, max_tokens=20)).status_code == 200
        await eventually(lambda: len(mailbox.messages) == 6, "tomorrow's 40 % e-mails")
        assert len(alert_rows(lg)) == 3
        lg.flush()
        assert len(mailbox.messages) == 6


async def test_without_a_notify_list_the_owners_and_admins_are_told(
    make_gateway: MakeGateway, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    async with make_gateway(**alerting(port)) as lg:
        tenancy = lg.gw.core.tenancy
        for email, role in [
            ("boss@example.com", "owner"),
            ("admin@example.com", "admin"),
            ("dev@example.com", "member"),
        ]:
            tenancy.create_user(lg.org_id, email, email, role, actor="test")
        _key, secret = lg.key()
        await lg.budget(scope_type="org", amount=2 * SPENT_ONE, thresholds=[50])
        assert (await lg.chat(secret, max_tokens=5)).status_code == 200
        await eventually(lambda: len(mailbox.messages) == 2, "two e-mails")
        assert sorted(rcpt[0] for rcpt, _ in mailbox.messages) == ["admin@example.com", "boss@example.com"]


async def test_an_alert_survives_a_restart_and_is_retried(
    make_gateway: MakeGateway, smtp: tuple[Mailbox, int], database_url: str
) -> None:
    mailbox, port = smtp
    mailbox.answers = ["451 Try again later"]  # the first attempt fails; the process stops after it
    async with make_gateway(**alerting(port, backoff_seconds=1.0)) as lg:
        key, secret = lg.key()
        await lg.budget(
            scope_type="key", scope_id=key.id, amount=2 * SPENT_ONE, thresholds=[50], notify=["a@example.com"]
        )
        assert (await lg.chat(secret, max_tokens=5)).status_code == 200

        def attempted() -> bool:
            with lg.gw.core.engine.connect() as conn:
                return conn.execute(select(email_deliveries.c.attempts)).scalar() == 1

        await eventually(attempted, "the first (failing) attempt")
        assert mailbox.messages == []
    # A new process on the same database sends it; the alert itself is not recorded again.
    async with make_gateway(**alerting(port, backoff_seconds=1.0)) as lg2:
        await eventually(lambda: len(mailbox.messages) == 1, "the retried e-mail")
        with lg2.gw.core.engine.connect() as conn:
            row = conn.execute(select(email_deliveries)).one()
        assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)
        assert len(alert_rows(lg2)) == 1


async def test_a_permanent_refusal_is_not_retried(
    make_gateway: MakeGateway, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mailbox.answers = ["554 Transaction failed"]
    async with make_gateway(**alerting(port)) as lg:
        key, secret = lg.key()
        await lg.budget(
            scope_type="key", scope_id=key.id, amount=2 * SPENT_ONE, thresholds=[50], notify=["a@example.com"]
        )
        assert (await lg.chat(secret, max_tokens=5)).status_code == 200

        def failed() -> bool:
            with lg.gw.core.engine.connect() as conn:
                return conn.execute(select(email_deliveries.c.status)).scalar() == "failed"

        await eventually(failed, "the message to be failed")
        with lg.gw.core.engine.connect() as conn:
            assert conn.execute(select(email_deliveries.c.attempts)).scalar() == 1


async def test_two_replicas_crossing_together_alert_once(
    make_gateway: MakeGateway, smtp: tuple[Mailbox, int]
) -> None:
    """Two ledgers (as on two replicas) flush spend that crosses 50 % at the same moment."""
    _mailbox, port = smtp
    async with make_gateway(**alerting(port)) as lg:
        key, _secret = lg.key()
        created = await lg.budget(
            scope_type="key", scope_id=key.id, amount=1000, thresholds=[50], notify=["a@example.com"]
        )
        budget = lg.limits.store.get_budget(created["id"], lg.org_id)
        period = current_period(budget.period, lg.limits.clock.now())
        core = lg.gw.core
        email_outbox = lg.limits.email_outbox
        ledgers = [
            SpendLedger(core.engine, lg.limits.store, AlertWriter(core.audit, None, email_outbox))
            for _ in range(2)
        ]
        for ledger in ledgers:
            ledger.add(budget, period, 300)
        barrier = threading.Barrier(2)

        def flush(ledger: SpendLedger) -> None:
            barrier.wait()
            ledger.flush()

        threads = [threading.Thread(target=flush, args=(ledger,)) for ledger in ledgers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert alert_rows(lg) == [(budget.id, period.start, 50)]
        with core.engine.connect() as conn:
            assert len(conn.execute(select(email_deliveries)).all()) == 1
        # Both increments are in budget_spend (an upsert adds; neither replica overwrote the other).
        assert lg.limits.store.spent([(budget.id, period.start)]) == {(budget.id, period.start): 600}


async def test_the_sender_signs_in_with_the_password_from_the_environment(
    make_gateway: MakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from sekisho.email.outbox import EmailOutbox
    from sekisho.email.sender import EmailSender
    from sekisho.email.settings import EmailSettings
    from sekisho.store.tx import write_transaction

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"alerts",
            b"s3cret-from-the-environment",
        )
        return AuthResult(success=ok)

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    monkeypatch.setenv("SEKISHO_TEST_SMTP_PASSWORD", "s3cret-from-the-environment")
    try:
        async with make_gateway() as lg:
            engine = lg.gw.core.engine
            settings = EmailSettings(
                host="127.0.0.1",
                port=port,
                starttls=False,
                username="alerts",
                password_env="SEKISHO_TEST_SMTP_PASSWORD",
            )
            with write_transaction(engine) as conn:
                EmailOutbox(engine).enqueue_in(conn, None, ["a@example.com"], "Subject", "Body")
            assert await EmailSender(engine, settings).run_once() == 1
            with engine.connect() as conn:
                row = conn.execute(select(email_deliveries)).one()
    finally:
        controller.stop()
    assert row.status == "delivered"
    assert [rcpt for rcpt, _ in mailbox.messages] == [["a@example.com"]]


def test_a_missing_password_variable_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from sekisho.email.settings import EmailError, EmailSettings

    monkeypatch.delenv("SEKISHO_TEST_SMTP_PASSWORD", raising=False)
    settings = EmailSettings(host="smtp.example.com", username="u", password_env="SEKISHO_TEST_SMTP_PASSWORD")
    with pytest.raises(EmailError, match="SEKISHO_TEST_SMTP_PASSWORD"):
        settings.password()
