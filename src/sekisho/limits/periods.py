"""Budget periods and rate-limit windows, in UTC.

A period starts at 00:00 UTC: ``day`` every day, ``week`` on Mondays (ISO weeks), ``month`` on the
first of the month; ``none`` never resets. A period is named by the date it starts on
(``2026-12-07``), or ``all`` for ``none``: that is the ``period_start`` of ``budget_spend`` and
``budget_alerts`` rows. Rate limits count in fixed one-minute windows (minute numbers since the epoch).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PERIODS = ("day", "week", "month", "none")
ALL_TIME = "all"
WINDOW_SECONDS = 60


class LimitClock:
    """The time the limits go by: the system clock plus an offset (settings, drills and tests)."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset = offset_seconds

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time() + self.offset

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        return datetime.fromtimestamp(self.time(), UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """One budget period: its name (``period_start``) and when it ends (None: never)."""

    start: str
    ends_at: datetime | None

    def seconds_left(self, now: datetime) -> int | None:
        """Whole seconds until the reset (at least 1), or None for a period that never resets."""
        if self.ends_at is None:
            return None
        return max(1, math.ceil((self.ends_at - now).total_seconds()))


def current_period(period: str, now: datetime) -> Period:
    """The period of kind ``period`` that contains ``now``."""
    today = now.astimezone(UTC).date()
    if period == "day":
        start, end = today, today + timedelta(days=1)
    elif period == "week":
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    elif period == "none":
        return Period(ALL_TIME, None)
    else:
        raise ValueError(f"unknown budget period {period!r}")
    return Period(start.isoformat(), _midnight(end))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def window_of(epoch_seconds: float) -> int:
    """The number of the one-minute rate-limit window at ``epoch_seconds``."""
    return int(epoch_seconds // WINDOW_SECONDS)


def window_seconds_left(epoch_seconds: float) -> int:
    """Whole seconds until the current window ends (at least 1)."""
    return max(1, math.ceil(WINDOW_SECONDS - epoch_seconds % WINDOW_SECONDS))
