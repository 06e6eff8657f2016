"""Gauges read from the database when Prometheus scrapes: the review queue.

The queue lives in the database shared by every replica, so its depth is the same whichever replica
is scraped. It is read at scrape time (not counted in memory, which each replica would get wrong)
and kept for a few seconds, so that several Prometheus servers, or a scrape storm, cost one query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from sekisho.clock import utcnow
from sekisho.store.tables import review_items

log = logging.getLogger("sekisho.observability")


class ReviewQueueCollector(Collector):
    """``sekisho_review_queue_depth`` and ``sekisho_review_queue_oldest_age_seconds``."""

    def __init__(self, engine: Engine, *, cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._value: tuple[int, float] | None = None

    def describe(self) -> list[Metric]:
        # Described without a query: registering the collector must not touch the database.
        return list(self._families(0, 0.0))

    def collect(self) -> Iterator[Metric]:
        value = self._read()
        if value is not None:
            yield from self._families(*value)

    def _families(self, depth: int, oldest: float) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "sekisho_review_queue_depth", "Requests waiting for a person's review decision.", value=depth
        )
        yield GaugeMetricFamily(
            "sekisho_review_queue_oldest_age_seconds",
            "How long the oldest waiting review has waited (0 when none waits).",
            value=oldest,
        )

    def _read(self) -> tuple[int, float] | None:
        with self._lock:
            if time.monotonic() - self._read_at < self._cache_seconds:
                return self._value
            try:
                with self._engine.connect() as conn:
                    depth, oldest = conn.execute(
                        select(func.count(), func.min(review_items.c.created_at)).where(
                            review_items.c.status == "pending"
                        )
                    ).one()
            except Exception:
                # A scrape must still answer (the other metrics matter most when the database is
                # in trouble); the gauges are left out until it can be read again.
                log.warning("could not read the review queue for /metrics", exc_info=True)
                self._value = None
            else:
                self._value = (int(depth), _age(oldest))
            self._read_at = time.monotonic()
            return self._value


def _age(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite hands back naive datetimes; Sekisho writes UTC
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - oldest).total_seconds())
