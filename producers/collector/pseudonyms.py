"""Keyed pseudonyms: the collector's way of keeping PII off the log.

HMAC-SHA256 under a secret key, so a pseudonym is stable (unique viewers
can be counted, sessions joined) but cannot be reversed by hashing every
IPv4 address, which a plain hash would allow. Rotating the key unlinks old
and new pseudonyms. Different inputs are domain-separated, so a user id
that looks like an IP never shares a pseudonym with that IP.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

__all__ = ["Pseudonymizer"]

MIN_KEY_BYTES = 16


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def _mac(self, domain: str, value: str) -> str:
        digest = hmac.new(self._key, f"{domain}\0{value}".encode(), hashlib.sha256).digest()
        return digest[:16].hex()

    def ip(self, address: str) -> str:
        """IPv4-mapped IPv6 is the same client as its IPv4 address."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return self._mac("ip", address)
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        return self._mac("ip", parsed.compressed)

    def user(self, user_id: str) -> str:
        return self._mac("user", user_id)
