"""Detector results remembered per text, so a conversation's earlier turns are not scanned again.

Chat clients resend the whole history with every turn; detectors are pure functions of the text, so
the findings for a message seen a minute ago are still right. Keys are BLAKE2b digests, never the
text: the cache keeps no prompt in memory beyond the request that carried it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from sekisho.guardrails.finding import Finding

Results = dict[str, list[Finding]]  # detector name → its findings for one text


class FindingCache:
    """A bounded LRU of detector results, safe to share between the event loop and worker threads."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._data: OrderedDict[bytes, Results] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(text: str) -> bytes:
        """The digest a text is remembered by."""
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def get(self, key: bytes) -> Results | None:
        """What is known for ``key`` (possibly only some detectors), or None."""
        if not self._entries:
            return None
        with self._lock:
            found = self._data.get(key)
            if found is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, results: Results) -> None:
        """Remember ``results`` for ``key``, merged with what was known, evicting the oldest."""
        if not self._entries:
            return
        with self._lock:
            known = self._data.get(key)
            self._data[key] = {**known, **results} if known else results
            self._data.move_to_end(key)
            while len(self._data) > self._entries:
                self._data.popitem(last=False)
