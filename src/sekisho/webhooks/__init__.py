"""Signed, durable, retried webhooks: an outbox written with each event, a dispatcher that sends it.

Deliveries follow the Standard Webhooks specification (``webhook-id``, ``webhook-timestamp``,
``webhook-signature`` headers), so receivers can verify them with any of its libraries or with
:func:`sekisho.webhooks.verify`.
"""

from sekisho.webhooks.dispatch import Outcome, WebhookDispatcher, classify
from sekisho.webhooks.outbox import DELIVERED, FAILED, PENDING, WebhookOutbox
from sekisho.webhooks.settings import WebhookSecretError, WebhookSettings, check_endpoints
from sekisho.webhooks.sign import VerificationError, decode_secret, new_secret, sign, signed_headers, verify

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "Outcome",
    "VerificationError",
    "WebhookDispatcher",
    "WebhookOutbox",
    "WebhookSecretError",
    "WebhookSettings",
    "check_endpoints",
    "classify",
    "decode_secret",
    "new_secret",
    "sign",
    "signed_headers",
    "verify",
]
