"""A message in crisis gets a caring answer from Sekisho itself, and the gravest reach a person.

The model is not asked: a general model's answer to "I want to die tonight" is a gamble (a refusal, a
lecture, or worse), while this answer is written for the moment — it engages, asks, and lists help
where the person is. Imminent danger and plans to harm others also open an escalation in the review
queue (kind ``crisis``) and notify whoever subscribed to ``crisis.escalated``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import anyio

from sekisho.crisis import assess, safe_response
from sekisho.crisis.prefilter import gate
from sekisho.crisis.settings import CrisisSettings
from sekisho.gateway.call import Call
from sekisho.gateway.review_gate import new_item
from sekisho.guardrails.text import Text
from sekisho.policy.verdict import Verdict
from sekisho.review.store import ReviewStore


class CrisisGate:
    """The decide stage's crisis check (``Decide(crisis=gate)``)."""

    def __init__(self, settings: CrisisSettings, reviews: ReviewStore | None) -> None:
        self._settings = settings
        self._reviews = reviews

    async def __call__(self, call: Call, text: str) -> dict[str, Any] | None:
        """Sekisho's answer for a crisis message, or None to let the request go on."""
        if (
            "self_harm" in call.guard_checks
            and not call.finding_counts.get("SELF_HARM")
            and not gate(Text(text).kana)
        ):
            # The input guardrails ran the crisis rules over every message and found nothing, and no
            # word opens the learned model's gate: nothing more to look at (most requests end here).
            return None
        # In a worker thread: for the few messages whose wording opens the crisis model's gate, it
        # embeds the text (tens of milliseconds), which must not stall the event loop.
        assessment = await anyio.to_thread.run_sync(assess, text)
        if not assessment.at_least_crisis:
            return None
        principal, model = call.who()
        locale, resources = self._settings.for_org(principal.org_slug)
        grave = assessment.level == "imminent" or "harm_to_others" in assessment.signals
        rule = (
            "CRISIS.HARM_TO_OTHERS"
            if "harm_to_others" in assessment.signals
            else f"CRISIS.{assessment.level.upper()}"
        )
        call.verdict = Verdict(
            "allow", "self_harm", rule, ", ".join(assessment.signals), assessment.score, source="crisis"
        )
        if grave and self._settings.escalate and self._reviews is not None:
            item = new_item(
                call,
                call.verdict,
                kind="crisis",
                approvals=1,
                on_expiry="escalate",  # unresolved past its SLA, it goes to the organisation's admins
                sla_minutes=self._settings.escalation_sla_minutes,
                hold_seconds=None,
                body=call.body,  # the team needs the words to act on them
            )
            store = self._reviews
            await anyio.to_thread.run_sync(
                lambda: store.create(item, actor=principal.actor, event="crisis.escalated")
            )
            call.review_id = item.id
        content = safe_response(assessment, locale, resources)
        return {
            "id": f"chatcmpl-sekisho-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model.name,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "system_fingerprint": "sekisho-crisis-response",
        }
