from __future__ import annotations

from services.runtime.client_ip import client_ip, forwarded_host, parse_networks

PROXIES = parse_networks(("10.0.0.0/8", "127.0.0.1", "fd00::/8"))


def test_socket_peer_without_trusted_proxies() -> None:
    assert client_ip("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"


def test_header_ignored_from_an_untrusted_peer() -> None:
    assert client_ip("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"


def test_header_used_from_a_trusted_peer() -> None:
    assert client_ip("10.1.2.3", "198.51.100.1", PROXIES) == "198.51.100.1"


def test_rightmost_untrusted_hop_wins_over_spoofed_left_parts() -> None:
    header = "1.1.1.1, 198.51.100.1, 10.0.0.5"
    assert client_ip("127.0.0.1", header, PROXIES) == "198.51.100.1"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert client_ip("127.0.0.1", "10.0.0.9, 10.0.0.5", PROXIES) == "10.0.0.9"


def test_garbage_stops_the_walk() -> None:
    assert client_ip("10.1.2.3", "198.51.100.1, not-an-ip", PROXIES) == "10.1.2.3"
    assert client_ip("10.1.2.3", "", PROXIES) == "10.1.2.3"


def test_ipv6() -> None:
    assert client_ip("fd00::1", "2001:db8::1", PROXIES) == "2001:db8::1"
    assert client_ip(None, None, PROXIES) == ""


def test_forwarded_host_only_from_a_trusted_proxy() -> None:
    assert forwarded_host("10.1.2.3", "go.brand.example", PROXIES) == "go.brand.example"
    assert forwarded_host("203.0.113.7", "go.brand.example", PROXIES) is None
    assert forwarded_host("10.1.2.3", "go.brand.example", ()) is None
    assert forwarded_host("10.1.2.3", None, PROXIES) is None


def test_forwarded_host_takes_the_value_the_proxy_wrote() -> None:
    # A client may send its own header; the trusted proxy appends the host it was asked for.
    assert forwarded_host("10.1.2.3", "evil.example, go.brand.example", PROXIES) == (
        "go.brand.example"
    )
