from __future__ import annotations

from services.gateway.account.auth_failures import address_source, failure_window
from services.runtime.client_ip import parse_networks

LOOPBACK = parse_networks(("127.0.0.1",))


def test_ipv4_addresses_count_alone() -> None:
    assert address_source("203.0.113.7") == "203.0.113.7"
    assert address_source("::ffff:203.0.113.7") == "203.0.113.7"


def test_ipv6_addresses_count_by_their_64() -> None:
    assert address_source("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_source("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_source("2001:db8:1:3::1") == "2001:db8:1:3::/64"


def test_the_window_follows_forwarded_for_only_from_a_trusted_proxy() -> None:
    assert failure_window("127.0.0.1", "198.51.100.4", LOOPBACK, 30).name.endswith(":198.51.100.4")
    assert failure_window("192.0.2.9", "198.51.100.4", LOOPBACK, 30).name.endswith(":192.0.2.9")
    assert failure_window("192.0.2.9", None, (), 30).limit == 30
