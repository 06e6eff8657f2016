"""Sign-in attempts per client address: a sliding one-minute window, in this process's memory.

Per replica by design: behind a load balancer with N replicas an address gets up to N times the
limit. The per-account lock-out (in the database) is what bounds guessing against one account across
replicas; this limit only slows one address spraying many accounts, and needs no shared store.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from sekisho.clock import utcnow

WINDOW_SECONDS = 60.0
# An attacker rotating through addresses must not grow the table without bound: past this many
# addresses the ones with the oldest activity are forgotten first.
_MAX_ADDRESSES = 50_000


class AddressThrottle:
    """Counts attempts per address; ``hit`` answers how long to wait, or 0 when the attempt may go on."""

    def __init__(self, per_minute: int, clock: Callable[[], datetime] = utcnow) -> None:
        self._limit = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, address: str) -> int:
        """Record an attempt from ``address``; seconds to wait (Retry-After) if it is over the limit."""
        now = self._clock().timestamp()
        with self._lock:
            window = self._hits.pop(address, None) or deque()
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            # Re-inserted at the end, so dict order is least recently active first.
            self._hits[address] = window
            if len(window) >= self._limit:
                return max(1, math.ceil(window[0] + WINDOW_SECONDS - now))
            window.append(now)
            if len(self._hits) > _MAX_ADDRESSES:
                del self._hits[next(iter(self._hits))]
            return 0
