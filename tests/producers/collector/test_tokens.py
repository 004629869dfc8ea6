from __future__ import annotations

import time

import pytest

from producers.collector.tokens import InvalidPlayerTokenError, PlayerTokens

TOKENS = PlayerTokens("a-secret-of-at-least-32-characters")


def test_a_token_names_its_viewer() -> None:
    claims = TOKENS.verify(TOKENS.issue("viewer-9", ttl_s=60))
    assert claims.viewer_id == "viewer-9"
    assert claims.expires_at > time.time()


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(InvalidPlayerTokenError, match="expired"):
        TOKENS.verify(TOKENS.issue("v", ttl_s=60, now=time.time() - 3600))


def test_a_tampered_token_is_refused() -> None:
    header, payload, signature = TOKENS.issue("v").split(".")
    forged = f"{header}.{payload[:-2]}AA.{signature}"
    with pytest.raises(InvalidPlayerTokenError):
        TOKENS.verify(forged)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidPlayerTokenError, match=r"(?i)signature"):
        TOKENS.verify(PlayerTokens("some-other-secret-of-32-characters").issue("v"))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        PlayerTokens("short")
