"""The background side of review: SLA expiry, and running approved requests nobody waits for.

Each replica runs one; items are claimed by compare-and-set (``approved`` → ``running``), so two
replicas never run the same request twice. After a crash an item left ``running`` stays so and is
reported, rather than silently run again: the upstream call may already have happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from sekisho.clock import utcnow
from sekisho.review.service import ReviewService
from sekisho.review.store import ReviewItem, ReviewStore

log = logging.getLogger("sekisho.review")


def _claim(store: ReviewStore, item: ReviewItem) -> ReviewItem | None:
    return store.change(item, None, actor="sekisho", status="running")


Execute = Callable[[ReviewItem], Awaitable[tuple[dict[str, Any] | None, dict[str, Any] | None]]]
"""Runs an approved item's request: (answer, None) or (None, error payload)."""


class ReviewRunner:
    """Polls for due work every ``interval`` seconds, or at once when woken."""

    def __init__(self, service: ReviewService, execute: Execute, *, interval: float = 2.0) -> None:
        self._service = service
        self._execute = execute
        self._interval = interval
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="sekisho-review-runner")

    def wake(self) -> None:
        """Look for work now (thread-safe)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def aclose(self, grace: float = 30.0) -> None:
        """Stop after the current pass (a request being run is finished and stored, not abandoned)."""
        if self._task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:
                log.exception("review runner pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._interval)
            self._wakeup.clear()

    async def run_once(self) -> int:
        """One pass: expire overdue items, run approved ones. Returns how many items it handled."""
        store = self._service.store
        due = await anyio.to_thread.run_sync(store.due, utcnow())
        handled = 0
        for item in due:
            if item.status == "pending":
                if await anyio.to_thread.run_sync(
                    self._service.expire, item, item.expires_at - item.created_at
                ):
                    handled += 1
                continue
            claimed = await anyio.to_thread.run_sync(_claim, store, item)
            if claimed is None:
                continue  # another replica (or the waiting client) took it
            handled += 1
            try:
                answer, error = await self._execute(claimed)
            except Exception as exc:  # the request is over either way; say why on the item
                log.exception("running approved review %s failed", claimed.id)
                answer, error = (
                    None,
                    {"message": f"internal error: {type(exc).__name__}", "code": "internal_error"},
                )
            await anyio.to_thread.run_sync(self._service.complete, claimed, answer, error)
        return handled
