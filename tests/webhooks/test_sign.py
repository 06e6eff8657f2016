"""Standard Webhooks signing and verification."""

from __future__ import annotations

import base64

import pytest

from sekisho.webhooks.sign import VerificationError, decode_secret, new_secret, sign, signed_headers, verify

# The published test vector of the Standard Webhooks specification (also Svix's).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(signature: str = SPEC_SIGNATURE, ts: int = SPEC_TS) -> dict[str, str]:
    return {"webhook-id": SPEC_ID, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_sign_reproduces_the_specification_vector() -> None:
    assert sign(decode_secret(SPEC_SECRET), SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_verify_accepts_the_specification_vector() -> None:
    assert verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS) == SPEC_ID
    assert verify(SPEC_SECRET, spec_headers(), SPEC_BODY.decode(), now=SPEC_TS + 299) == SPEC_ID


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (spec_headers(), b'{"test": 2432232315}'),  # body changed
        (spec_headers(), SPEC_BODY + b" "),  # re-serialised
        ({**spec_headers(), "webhook-id": "msg_other"}, SPEC_BODY),  # id swapped
        (spec_headers(SPEC_SIGNATURE.replace("g0hM", "g0hN")), SPEC_BODY),  # signature altered
        (spec_headers("v1a," + SPEC_SIGNATURE[3:]), SPEC_BODY),  # another scheme's label
        (spec_headers(SPEC_SIGNATURE[3:]), SPEC_BODY),  # no version label
    ],
)
def test_tampering_is_rejected(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(VerificationError, match="no matching signature"):
        verify(SPEC_SECRET, headers, body, now=SPEC_TS)


def test_timestamp_is_part_of_the_signature() -> None:
    # A replay with a fresh timestamp but the old signature must fail.
    with pytest.raises(VerificationError, match="no matching signature"):
        verify(SPEC_SECRET, spec_headers(ts=SPEC_TS + 10), SPEC_BODY, now=SPEC_TS + 10)


@pytest.mark.parametrize("skew", [-301, 301, 10_000])
def test_stale_or_future_timestamps_are_rejected(skew: int) -> None:
    with pytest.raises(VerificationError, match="tolerance"):
        verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS + skew)
    assert verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS + skew, tolerance_seconds=20_000)


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(VerificationError):
        verify(new_secret(), spec_headers(), SPEC_BODY, now=SPEC_TS)


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIGNATURE},
        {"webhook-id": SPEC_ID, "webhook-signature": SPEC_SIGNATURE},
        {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS)},
        spec_headers(ts=0) | {"webhook-timestamp": "yesterday"},
    ],
)
def test_missing_or_malformed_headers_are_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(VerificationError):
        verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS)


def test_any_one_of_several_signatures_suffices() -> None:
    other = sign(decode_secret(new_secret()), SPEC_ID, SPEC_TS, SPEC_BODY)
    for header in (f"{other} {SPEC_SIGNATURE}", f"{SPEC_SIGNATURE} {other}", f"v1a,abc {SPEC_SIGNATURE}"):
        assert verify(SPEC_SECRET, spec_headers(header), SPEC_BODY, now=SPEC_TS) == SPEC_ID


def test_several_secrets_during_a_rotation() -> None:
    assert verify([new_secret(), SPEC_SECRET], spec_headers(), SPEC_BODY, now=SPEC_TS) == SPEC_ID
    assert verify(decode_secret(SPEC_SECRET), spec_headers(), SPEC_BODY, now=SPEC_TS) == SPEC_ID


def test_header_names_are_case_insensitive() -> None:
    headers = {name.title(): value for name, value in spec_headers().items()}
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS) == SPEC_ID


def test_raw_text_secret_uses_its_utf8_bytes() -> None:
    raw = "関所のウェブフック用の秘密の文字列です"  # 57 bytes of UTF-8
    key = decode_secret(raw)
    assert key == raw.encode("utf-8")
    headers = signed_headers(key, "msg_1", 1_700_000_000, b"{}")
    assert verify(raw, headers, b"{}", now=1_700_000_000) == "msg_1"
    # A Standard Webhooks library would be given the same key in whsec_ form.
    whsec = "whsec_" + base64.b64encode(key).decode()
    assert verify(whsec, headers, b"{}", now=1_700_000_000) == "msg_1"


@pytest.mark.parametrize("secret", ["whsec_c2hvcnQ=", "short", "whsec_not base64!"])
def test_weak_or_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        decode_secret(secret)


def test_new_secret_is_standard_and_random() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(decode_secret(first)) == 32
