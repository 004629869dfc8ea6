from __future__ import annotations

import time

import jwt
import pytest

from producers.collector.tokens import MAX_LIFETIME_S, PLAYER_AUDIENCE, InvalidPlayerTokenError, PlayerTokens

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


SECRET = "a-secret-of-at-least-32-characters"


def _signed(**claims: object) -> str:
    return jwt.encode({"aud": PLAYER_AUDIENCE, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize("subject", ["", "   "])
def test_a_token_without_a_viewer_is_refused(subject: str) -> None:
    with pytest.raises(InvalidPlayerTokenError, match="sub"):
        TOKENS.verify(_signed(sub=subject, exp=int(time.time()) + 60))
    with pytest.raises(ValueError, match="empty"):
        TOKENS.issue(subject)


def test_a_token_without_an_expiry_is_refused() -> None:
    with pytest.raises(InvalidPlayerTokenError, match="exp"):
        TOKENS.verify(_signed(sub="v"))


def test_a_token_living_longer_than_a_day_is_refused() -> None:
    now = time.time()
    assert TOKENS.verify(_signed(sub="v", exp=int(now) + MAX_LIFETIME_S), now=now).viewer_id == "v"
    with pytest.raises(InvalidPlayerTokenError, match="more than the 24 h"):
        TOKENS.verify(_signed(sub="v", exp=int(now) + MAX_LIFETIME_S + 3600), now=now)
    with pytest.raises(InvalidPlayerTokenError, match="more than the 24 h"):
        TOKENS.verify(_signed(sub="v", exp=2**40))
    with pytest.raises(ValueError, match="at most 86400 s"):
        TOKENS.issue("v", ttl_s=MAX_LIFETIME_S + 1)
