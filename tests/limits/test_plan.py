"""Periods, windows and the largest cost a request can reach (no database, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import LimitClock, current_period, window_of, window_seconds_left
from sekisho.limits.plan import Estimator, build_plan, prompt_tokens
from sekisho.limits.settings import LimitSettings
from sekisho.metering import Usage, cost_nanousd, estimate_tokens
from sekisho.settings import ModelSettings


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "now", "start", "ends"),
    [
        ("day", "2026-12-05T23:59:59", "2026-12-05", "2026-12-06T00:00:00"),
        ("day", "2026-12-06T00:00:00", "2026-12-06", "2026-12-07T00:00:00"),
        # ISO weeks start on Monday: Saturday 5 December 2026 is in the week of Monday 30 November.
        ("week", "2026-12-05T12:00:00", "2026-11-30", "2026-12-07T00:00:00"),
        ("week", "2026-12-07T00:00:00", "2026-12-07", "2026-12-14T00:00:00"),
        ("month", "2026-12-31T23:00:00", "2026-12-01", "2027-01-01T00:00:00"),
        ("month", "2027-02-14T08:00:00", "2027-02-01", "2027-03-01T00:00:00"),
    ],
)
def test_periods_start_at_midnight_utc(kind: str, now: str, start: str, ends: str) -> None:
    period = current_period(kind, at(now))
    assert period.start == start
    assert period.ends_at == at(ends)


def test_a_period_in_another_timezone_is_counted_in_utc() -> None:
    from datetime import timedelta, timezone

    tokyo = datetime(2026, 12, 6, 8, 0, tzinfo=timezone(timedelta(hours=9)))  # 5 Dec 23:00 UTC
    assert current_period("day", tokyo).start == "2026-12-05"


def test_period_none_never_resets() -> None:
    period = current_period("none", at("2026-12-05T10:00:00"))
    assert period.start == "all"
    assert period.ends_at is None
    assert period.seconds_left(at("2026-12-05T10:00:00")) is None


def test_seconds_left_rounds_up_and_is_never_zero() -> None:
    period = current_period("day", at("2026-12-05T23:59:59"))
    assert period.seconds_left(at("2026-12-05T23:59:58.5")) == 2
    assert period.seconds_left(at("2026-12-06T00:00:00")) == 1


def test_minute_windows() -> None:
    assert window_of(120.0) == 2 and window_of(179.9) == 2
    assert window_seconds_left(120.0) == 60
    assert window_seconds_left(179.2) == 1


def test_the_clock_offset_moves_the_period() -> None:
    clock = LimitClock(86400)
    assert current_period("day", clock.now()).start > current_period("day", LimitClock().now()).start


MODELS = {
    "cheap": ModelSettings(
        name="cheap", provider="p", input_cost_per_1m=0.15, output_cost_per_1m=0.6, fallbacks=["dear"]
    ),
    "dear": ModelSettings(name="dear", provider="p", input_cost_per_1m=5.0, output_cost_per_1m=15.0),
    "alone": ModelSettings(name="alone", provider="p", input_cost_per_1m=1.0, output_cost_per_1m=2.0),
    "embed": ModelSettings(name="embed", provider="p", kind="embedding", input_cost_per_1m=0.02),
}


def estimator(**settings: object) -> Estimator:
    return Estimator(LimitSettings.model_validate(settings), MODELS)


def chat(text: str = "Summarise the quarterly report, please.", **body: object) -> dict[str, object]:
    return {"model": "alone", "messages": [{"role": "user", "content": text}], **body}


def test_the_request_maximum_is_reserved_max_completion_tokens_first() -> None:
    e = estimator()
    assert e.demand("chat.completions", chat(max_tokens=100), MODELS["alone"]).output_tokens == 100
    both = chat(max_tokens=100, max_completion_tokens=30)
    assert e.demand("chat.completions", both, MODELS["alone"]).output_tokens == 30


def test_without_a_maximum_the_configured_cap_is_reserved() -> None:
    e = estimator(default_max_output_tokens=1000, max_output_tokens={"alone": 250})
    assert e.demand("chat.completions", chat(), MODELS["alone"]).output_tokens == 250
    assert e.demand("chat.completions", chat(), MODELS["dear"]).output_tokens == 1000


def test_n_choices_multiply_the_output() -> None:
    demand = estimator().demand("chat.completions", chat(max_tokens=50, n=3), MODELS["alone"])
    assert demand.output_tokens == 150


def test_a_fallback_that_costs_more_sets_the_price() -> None:
    demand = estimator().demand("chat.completions", chat(max_tokens=10), MODELS["cheap"])
    assert demand.cost == demand.prompt_tokens * 5000 + 10 * 15000


def test_embeddings_reserve_no_output() -> None:
    demand = estimator().demand(
        "embeddings", {"model": "embed", "input": ["one two", "three"]}, MODELS["embed"]
    )
    assert demand.output_tokens == 0
    assert demand.prompt_tokens == estimate_tokens("one two") + estimate_tokens("three")


def test_the_prompt_estimate_counts_every_message_tools_and_overhead() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "image_url"}]},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup"}}],
    }
    plain = estimate_tokens("You are terse.") + estimate_tokens("Hello")
    assert prompt_tokens(body) > plain + 2 * 3


def test_the_reserved_cost_is_never_below_the_metered_cost_of_a_usage_within_it() -> None:
    e = estimator()
    model = MODELS["alone"]
    demand = e.demand("chat.completions", chat(max_tokens=77), model)
    metered = cost_nanousd(model, Usage(demand.prompt_tokens, demand.output_tokens))
    assert demand.cost >= metered


def test_a_plan_charges_budgets_in_their_unit_and_every_rate_counter() -> None:
    now = at("2026-12-05T10:00:30").timestamp()
    usd = Budget("b1", "o", "key", "k", "usd", 10**9, "day")
    tokens = Budget("b2", "o", "org", "o", "tokens", 10**6, "month")
    limit = RateLimit("r1", "o", "key", "k", requests_per_minute=10, tokens_per_minute=1000, concurrent=2)
    demand = estimator().demand("chat.completions", chat(max_tokens=40), MODELS["alone"])
    plan = build_plan("o", [usd, tokens], [limit], demand, now)
    assert [(c.budget.id, c.amount, c.period.start) for c in plan.budgets] == [
        ("b1", demand.cost, "2026-12-05"),
        ("b2", demand.tokens, "2026-12-01"),
    ]
    assert [(r.kind, r.cap, r.amount) for r in plan.rates] == [
        ("requests", 10, 1),
        ("tokens", 1000, demand.tokens),
        ("concurrent", 2, 1),
    ]
    assert plan.spend_of(cost=123, tokens=45) == {"b1": 123, "b2": 45}
