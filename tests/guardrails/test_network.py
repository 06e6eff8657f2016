"""IPv4 and IPv6 addresses."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.network import IpAddressDetector
from sekisho.guardrails.text import Text

FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def spans(text: str) -> list[str]:
    return [text[f.start : f.end] for f in IpAddressDetector().detect(Text(text)) if f.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Login from 192.168.0.1.", ["192.168.0.1"]),
        ("IPアドレスは10.0.0.254です", ["10.0.0.254"]),
        ("host=8.8.8.8:53", ["8.8.8.8"]),
        ("subnet 10.1.0.0/16", ["10.1.0.0"]),
        ("::1", ["::1"]),
        ("server 2001:db8::8a2e:370:7334 is down", ["2001:db8::8a2e:370:7334"]),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", ["2001:0db8:0000:0000:0000:ff00:0042:8329"]),
        ("mapped ::ffff:192.0.2.128 here", ["::ffff:192.0.2.128"]),
        ("fe80::1%eth0", ["fe80::1%eth0"]),
        ("[2001:db8::1]:443", ["2001:db8::1"]),
        ("a 1.2.3.4 and b 5.6.7.8", ["1.2.3.4", "5.6.7.8"]),
    ],
)
def test_ip_positive(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3.4",
        "v1.2.3.4",
        "1.2.3.4.5",
        "999.1.1.1",
        "256.256.256.256",
        "2024.01.15",
        "std::vector<int>",
        "10:30:45",
        "00:1A:2B:3C:4D:5E",
        "dead::beef",
        "3.14159",
        "section 1.2.3",
    ],
)
def test_ip_negative(text: str) -> None:
    assert spans(text) == []


def test_ip_full_width_offsets_point_into_the_original() -> None:
    ip = "192.168.1.10".translate(FULL)
    text = "接続元：" + ip + "から"
    found = IpAddressDetector().detect(Text(text))
    assert [(f.start, f.end) for f in found] == [(4, 4 + len(ip))]


def test_ip_long_input_is_linear() -> None:
    text = "1." * 200_000 + " " + ":" * 100_000
    assert IpAddressDetector().detect(Text(text)) == []
