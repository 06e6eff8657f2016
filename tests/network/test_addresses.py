"""Parsing networks people type, and the fast membership test against ``ipaddress``'s own."""

from __future__ import annotations

import ipaddress
import random

import pytest

from sekisho.network import Networks, parse_address, parse_network


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("203.0.113.0/24", "203.0.113.0/24"),
        (" 10.0.0.0/8 ", "10.0.0.0/8"),
        ("198.51.100.7", "198.51.100.7/32"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::/0", "::/0"),
    ],
)
def test_networks_people_type(text: str, network: str) -> None:
    assert str(parse_network(text)) == network


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10.0.0.1/8", "host bits set; write 10.0.0.0/8"),
        ("2001:db8::1/32", "host bits set"),
        ("300.1.1.1", "not an IP address"),
        ("10.0.0.0/33", "not an IP address"),
        ("example.com", "not an IP address"),
        ("", "empty"),
        ("::ffff:10.0.0.0/104", "IPv4-mapped"),
    ],
)
def test_bad_networks_are_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_network(text)


def test_addresses_from_headers_and_sockets() -> None:
    assert parse_address("203.0.113.9:443") == ipaddress.ip_address("203.0.113.9")
    assert parse_address("[2001:db8::9]:443") == ipaddress.ip_address("2001:db8::9")
    assert parse_address("::ffff:192.0.2.1") == ipaddress.ip_address("192.0.2.1")
    assert parse_address("_hidden") is None
    assert parse_address("") is None


def test_membership_agrees_with_ipaddress_on_random_networks_and_addresses() -> None:
    rng = random.Random(5)
    for _ in range(200):
        networks = []
        for _ in range(rng.randint(0, 6)):
            if rng.random() < 0.5:
                networks.append(ipaddress.ip_network((rng.getrandbits(32), rng.randint(0, 32)), strict=False))
            else:
                networks.append(
                    ipaddress.ip_network((rng.getrandbits(128), rng.randint(0, 128)), strict=False)
                )
        fast = Networks(networks)
        for _ in range(20):
            # Half the probes come from inside one of the networks, so both answers are exercised.
            if networks and rng.random() < 0.5:
                net = rng.choice(networks)
                probe = net.network_address + rng.randrange(net.num_addresses)
            elif rng.random() < 0.5:
                probe = ipaddress.IPv4Address(rng.getrandbits(32))
            else:
                probe = ipaddress.IPv6Address(rng.getrandbits(128))
            assert (probe in fast) == any(probe in n for n in networks), (probe, networks)


def test_an_ipv4_address_never_matches_an_ipv6_network_of_the_same_bits() -> None:
    assert ipaddress.ip_address("0.0.0.1") not in Networks([ipaddress.ip_network("::1/128")])
    assert ipaddress.ip_address("::1") not in Networks([ipaddress.ip_network("0.0.0.1/32")])
    assert "10.0.0.1" not in Networks([ipaddress.ip_network("10.0.0.0/8")])  # strings are not addresses
