"""Outgoing e-mail: an SMTP outbox (``email_deliveries``) written with the event, sent by a worker."""
