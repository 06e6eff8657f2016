"""The background loop shared by the outboxes (webhooks, e-mail): drain what is due, then sleep
until woken or until the poll interval passes."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from contextlib import suppress

log = logging.getLogger("sekisho")


class OutboxPoller(ABC):
    """Runs ``run_once`` in a loop on the event loop it was started on."""

    def __init__(self, *, label: str, poll_seconds: float, batch: int) -> None:
        self._label = label
        self._poll = poll_seconds
        self._batch = batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> int:
        """One pass over what is due; how many items were attempted."""

    def start(self) -> None:
        """Start the background loop on the running event loop."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._task = self._loop.create_task(self._run(), name=f"sekisho-{self._label}")

    def wake(self) -> None:
        """Work now rather than at the next poll. Safe from any thread."""
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None:
            return
        with suppress(RuntimeError):  # the loop has closed: nothing left to wake
            loop.call_soon_threadsafe(wakeup.set)

    async def aclose(self) -> None:
        """Stop the loop (an attempt in flight is abandoned and retried after its lease)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        self._loop = self._wakeup = None

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            # Cleared before the pass, so a wake-up during it starts another pass at once.
            self._wakeup.clear()
            try:
                attempted = await self.run_once()
            except Exception as exc:  # the database may be briefly unavailable; keep the loop alive
                log.warning("%s pass failed: %s", self._label, type(exc).__name__)
                attempted = 0
            if attempted >= self._batch:
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)
