from __future__ import annotations

import pytest

from producers.collector.pseudonyms import Pseudonymizer


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    a, b = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    assert a.ip("198.51.100.7") == a.ip("198.51.100.7")
    assert a.ip("198.51.100.7") != b.ip("198.51.100.7")
    assert a.ip("198.51.100.7") != a.ip("198.51.100.8")


def test_an_ipv4_mapped_ipv6_address_is_the_same_client() -> None:
    p = Pseudonymizer(b"k" * 32)
    assert p.ip("::ffff:198.51.100.7") == p.ip("198.51.100.7")
    assert p.ip("2001:db8::1") == p.ip("2001:0db8:0000::0001")


def test_a_user_id_and_an_ip_never_share_a_pseudonym() -> None:
    p = Pseudonymizer(b"k" * 32)
    assert p.user("198.51.100.7") != p.ip("198.51.100.7")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(b"short")
