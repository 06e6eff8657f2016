"""Accepting a SAML Response at the ACS: every check that decides whether someone signs in.

pysaml2 parses the Response and verifies the XML signatures (with ``xmlsec1``, against the IdP
metadata's certificates only); then ``check_assertion`` re-checks, with our clock and nothing lax:

- the assertion itself is signed, with SHA-256 or stronger (a signed Response around an unsigned
  assertion is not enough: the assertion is what gets carried around and replayed);
- the Response's Destination and the bearer confirmation's Recipient are this IdP's ACS URL;
- the issuer is the configured IdP;
- every AudienceRestriction names our entity id (an assertion without one is refused);
- NotBefore / NotOnOrAfter of the Conditions and of the bearer confirmation, with the configured
  clock skew; a bearer confirmation without NotOnOrAfter is refused;
- InResponseTo (Response and confirmation) is the request this browser's flow sent — or absent,
  for an IdP-initiated response the configuration allows.

Replay (the same assertion id twice) is checked by the caller with the store, which outlives
the process. A refusal is an ``SsoDenied`` with a stable code and a message safe to show: never
the document, never pysaml2's exception text (it may quote the document).
"""

from __future__ import annotations

import base64
import binascii
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.utils import CryptographyDeprecationWarning

from sekisho.clock import as_utc, utcnow
from sekisho.sso.provision import SsoDenied
from sekisho.sso.saml import ServiceProvider

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import samlp
    from saml2.response import AuthnResponse, IncorrectlySigned, StatusError, UnsolicitedResponse
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, SCM_BEARER
    from saml2.sigver import SigverError
    from saml2.validate import ResponseLifetimeExceed, ToEarly
    from saml2.xmldsig import (
        DIGEST_SHA256,
        DIGEST_SHA384,
        DIGEST_SHA512,
        SIG_ECDSA_SHA256,
        SIG_ECDSA_SHA384,
        SIG_ECDSA_SHA512,
        SIG_RSA_SHA256,
        SIG_RSA_SHA384,
        SIG_RSA_SHA512,
    )

# Largest SAMLResponse form field accepted (base64). Real responses are a few kilobytes; a
# bigger one is a denial-of-service attempt on the XML parser and xmlsec1.
MAX_RESPONSE_CHARS = 512 * 1024
_SIGNATURE_ALGORITHMS = frozenset(
    {SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512, SIG_ECDSA_SHA256, SIG_ECDSA_SHA384, SIG_ECDSA_SHA512}
)
_DIGEST_ALGORITHMS = frozenset({DIGEST_SHA256, DIGEST_SHA384, DIGEST_SHA512})


@dataclass(frozen=True, slots=True)
class SamlAssertion:
    """What a verified assertion says, and until when its id must be remembered (replay guard)."""

    assertion_id: str
    subject: str
    name_id_format: str | None
    attributes: dict[str, tuple[str, ...]]
    remember_until: datetime


def refused(code: str, message: str, status: int = 403) -> SsoDenied:
    """A refusal of the IdP's response."""
    return SsoDenied(message, code, status)


def decode_response(encoded: str) -> str:
    """The Response XML from the SAMLResponse form field (HTTP-POST binding: plain base64)."""
    if not encoded or len(encoded) > MAX_RESPONSE_CHARS:
        raise refused("invalid_response", "The SAMLResponse is missing or too large.", 400)
    try:
        return base64.b64decode("".join(encoded.split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise refused("invalid_response", "The SAMLResponse is not base64 of an XML document.", 400) from exc


def consume(
    sp: ServiceProvider,
    encoded: str,
    *,
    request_id: str | None,
    clock: Callable[[], datetime] = utcnow,
) -> SamlAssertion:
    """The verified assertion of ``encoded``; SsoDenied for anything short of fully valid.

    ``request_id`` is the id of the AuthnRequest this sign-in's flow sent, or None for an
    IdP-initiated response (which the caller only passes on when the configuration allows it).
    """
    xml = decode_response(encoded)
    conf = sp.pysaml2_config(allow_unsolicited=request_id is None)
    response = AuthnResponse(
        sp.security_context(conf),
        conf.attribute_converters,
        sp.endpoints.entity_id,
        return_addrs=[sp.endpoints.acs_url],
        outstanding_queries={request_id: "sekisho"} if request_id else {},
        timeslack=sp.skew,
        asynchop=True,
        allow_unsolicited=request_id is None,
        want_assertions_signed=True,
        want_response_signed=False,
        # Any non-empty value makes pysaml2 check Recipient against return_addrs only; with none,
        # it accepts any Recipient at all.
        conv_info={"acs": sp.endpoints.acs_url},
    )
    failure: type[BaseException] | None = None
    verified = False
    try:
        response.loads(xml, False, origxml=xml)
        if response.response is not None and response.response.encrypted_assertion:
            raise refused(
                "encrypted_assertion",
                "The IdP encrypted the assertion; Sekisho publishes no encryption key. Turn "
                "assertion encryption off for this application at the IdP.",
                400,
            )
        verified = bool(response.verify())
    except SsoDenied:
        raise
    except Exception as exc:
        # Only the kind of failure is kept: pysaml2's message may quote the document.
        failure = type(exc)
        _forget(exc)
    if failure is not None or not verified or response.assertion is None:
        raise _refusal(sp, response, xml, failure, request_id, clock)
    try:
        return check_assertion(sp, response, request_id, clock)
    except SsoDenied:
        raise
    except Exception as exc:
        # A schema-valid but odd document (an element our checks expect is absent).
        _forget(exc)
    raise refused("invalid_response", "The SAML response is not valid.", 400)


def _forget(exc: BaseException) -> None:
    """Drop the local variables of the frames an exception (and its chain) holds on to.

    pysaml2 keeps the certificates it hands to xmlsec1 in temporary files referenced from its
    frames; left to the cycle collector, those files are finalised in any order and may be
    reported as never closed. Clearing the frames releases them at once, in order.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


def _refusal(
    sp: ServiceProvider,
    response: AuthnResponse,
    xml: str,
    failure: type[BaseException] | None,
    request_id: str | None,
    clock: Callable[[], datetime],
) -> SsoDenied:
    """The refusal for a response pysaml2 did not accept, as specific as can be told."""
    if failure is not None and issubclass(failure, StatusError):
        return refused("idp_refused", "The identity provider did not sign you in.")
    if failure is not None and issubclass(failure, UnsolicitedResponse):
        return refused("in_response_to_mismatch", "The SAML response does not answer this sign-in's request.")
    if failure is not None and issubclass(failure, SigverError | IncorrectlySigned):
        return _signature_refusal(sp, xml)
    if failure is not None and issubclass(failure, ResponseLifetimeExceed):
        return refused("assertion_expired", "The SAML assertion has expired.")
    if failure is not None and issubclass(failure, ToEarly):
        return refused("assertion_not_yet_valid", "The SAML assertion is not valid yet.")
    # pysaml2 raises bare exceptions for failed conditions (audience, recipient) and quietly
    # returns nothing for a wrong Destination; our own checks can name those failures. They
    # only ever run here to explain a refusal, never to accept.
    try:
        if response.response is not None:
            _check_envelope(sp, response.response, request_id)
        if response.response is not None and response.assertion is not None:
            check_assertion(sp, response, request_id, clock)
    except SsoDenied as exc:
        return exc
    except Exception as exc:
        _forget(exc)
    return refused("invalid_response", "The SAML response is not valid.", 400)


def _signature_refusal(sp: ServiceProvider, xml: str) -> SsoDenied:
    # The document as sent, unverified: only to tell which refusal to give.
    try:
        parsed = samlp.response_from_string(xml)
    except Exception:
        parsed = None
    assertions = list(parsed.assertion) if parsed is not None else []
    issuers = {_text(a.issuer) for a in assertions} | (
        {_text(parsed.issuer)} if parsed is not None else set()
    )
    issuers.discard(None)
    if issuers and issuers != {sp.idp.entity_id}:
        return refused("wrong_issuer", "The SAML response comes from another identity provider.")
    if assertions and all(a.signature is None for a in assertions):
        return refused(
            "assertion_not_signed", "The SAML assertion is not signed; signed assertions are required."
        )
    return refused(
        "invalid_signature", "The SAML response's signature is not valid for this identity provider."
    )


def _check_envelope(sp: ServiceProvider, parsed: Any, request_id: str | None) -> None:
    """The Response element's own checks: where it is addressed, who sent it, what it answers."""
    if parsed.destination != sp.endpoints.acs_url:
        raise refused("wrong_destination", "The SAML response is addressed to another URL.")
    if parsed.issuer is not None and _text(parsed.issuer) != sp.idp.entity_id:
        raise refused("wrong_issuer", "The SAML response comes from another identity provider.")
    if parsed.in_response_to != request_id:
        raise refused("in_response_to_mismatch", "The SAML response does not answer this sign-in's request.")


def check_assertion(
    sp: ServiceProvider, response: AuthnResponse, request_id: str | None, clock: Callable[[], datetime]
) -> SamlAssertion:
    """Our own checks of the verified response (see the module docstring); the assertion's content."""
    parsed, assertion = response.response, response.assertion
    now = clock()
    skew = timedelta(seconds=sp.skew)
    _check_envelope(sp, parsed, request_id)
    if assertion.issuer is not None and _text(assertion.issuer) != sp.idp.entity_id:
        raise refused("wrong_issuer", "The SAML response comes from another identity provider.")
    if _text(assertion.issuer) is None:
        raise refused("wrong_issuer", "The SAML assertion names no issuer.")
    if assertion.signature is None:
        raise refused(
            "assertion_not_signed", "The SAML assertion is not signed; signed assertions are required."
        )
    for signature in (assertion.signature, parsed.signature):
        if signature is not None and not _strong(signature):
            raise refused(
                "weak_signature", "The SAML signature uses SHA-1; configure the IdP to sign with SHA-256."
            )
    conditions = assertion.conditions
    restrictions = list(conditions.audience_restriction) if conditions is not None else []
    if not restrictions or any(
        sp.endpoints.entity_id not in {_text(a) for a in r.audience} for r in restrictions
    ):
        raise refused("wrong_audience", "The SAML assertion is meant for another service provider.")
    limits: list[datetime] = []
    if conditions.not_on_or_after:
        limits.append(_required_time(conditions.not_on_or_after))
    _check_window(_time(conditions.not_before), limits[0] if limits else None, now, skew)
    confirmed = (
        [c for c in assertion.subject.subject_confirmation if c.method == SCM_BEARER]
        if assertion.subject
        else []
    )
    if not confirmed:
        raise refused("invalid_response", "The SAML assertion has no bearer subject confirmation.", 400)
    for confirmation in confirmed:
        data = confirmation.subject_confirmation_data
        if data is None or not data.not_on_or_after:
            raise refused("invalid_response", "The SAML subject confirmation has no NotOnOrAfter.", 400)
        if data.recipient != sp.endpoints.acs_url:
            raise refused("wrong_recipient", "The SAML assertion is for another URL (Recipient).")
        if data.in_response_to != request_id:
            raise refused(
                "in_response_to_mismatch", "The SAML response does not answer this sign-in's request."
            )
        limit = _required_time(data.not_on_or_after)
        _check_window(_time(data.not_before), limit, now, skew)
        limits.append(limit)
    name_id = assertion.subject.name_id
    subject = _text(name_id)
    if not subject or not assertion.id:
        raise refused("invalid_response", "The SAML assertion names no subject.", 400)
    return SamlAssertion(
        assertion_id=str(assertion.id),
        subject=subject,
        name_id_format=name_id.format,
        attributes=_attributes(assertion.attribute_statement),
        remember_until=min(limits) + skew,
    )


def _check_window(
    not_before: datetime | None, not_on_or_after: datetime | None, now: datetime, skew: timedelta
) -> None:
    if not_before is not None and now + skew < not_before:
        raise refused("assertion_not_yet_valid", "The SAML assertion is not valid yet.")
    if not_on_or_after is not None and now - skew >= not_on_or_after:
        raise refused("assertion_expired", "The SAML assertion has expired.")


def _strong(signature: Any) -> bool:
    info = signature.signed_info
    if info is None or info.signature_method is None:
        return False
    digests = [r.digest_method.algorithm if r.digest_method else None for r in info.reference]
    return info.signature_method.algorithm in _SIGNATURE_ALGORITHMS and all(
        d in _DIGEST_ALGORITHMS for d in digests
    )


def _attributes(statements: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Attribute values by Name and by FriendlyName (IdPs differ in which one they set)."""
    found: dict[str, list[str]] = {}
    for statement in statements:
        for attribute in statement.attribute:
            values = [v.text.strip() for v in attribute.attribute_value if v.text and v.text.strip()]
            for key in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(key, []).extend(values)
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}


def email_from_name_id(assertion: SamlAssertion) -> str | None:
    """The NameID when it is an e-mail address by format."""
    return assertion.subject if assertion.name_id_format == NAMEID_FORMAT_EMAILADDRESS else None


def _text(element: Any) -> str | None:
    text = getattr(element, "text", None)
    return text.strip() or None if isinstance(text, str) else None


def _time(value: str | None) -> datetime | None:
    return _required_time(value) if value else None


def _required_time(value: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except ValueError as exc:
        raise refused("invalid_response", "The SAML assertion has a malformed time.", 400) from exc
