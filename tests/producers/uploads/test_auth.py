from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from producers.uploads.auth import UPLOAD_AUDIENCE, InvalidUploaderTokenError, UploaderAuth

SECRET = "a-shared-secret-of-at-least-32-bytes"


def test_hs256_tokens_name_the_uploader_and_expire() -> None:
    auth = UploaderAuth(hs256_secret="a-shared-secret-of-at-least-32-bytes")
    assert auth.verify(auth.issue("alice")) == "alice"
    with pytest.raises(InvalidUploaderTokenError, match="expired"):
        auth.verify(auth.issue("alice", ttl_s=60, now=time.time() - 3600))


def test_rs256_tokens_from_the_identity_service_are_verified_with_its_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    auth = UploaderAuth(rs256_public_key=public_pem)
    claims = {"sub": "bob", "aud": UPLOAD_AUDIENCE, "exp": int(time.time()) + 60}
    assert auth.verify(jwt.encode(claims, private, algorithm="RS256")) == "bob"

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidUploaderTokenError, match="invalid token"):
        auth.verify(jwt.encode(claims, stranger, algorithm="RS256"))
    with pytest.raises(InvalidUploaderTokenError):  # an HS256 token signed with the public key text
        auth.verify(jwt.encode(claims, "x" * 40, algorithm="HS256"))
    with pytest.raises(ValueError, match="identity service"):
        auth.issue("bob")


def test_a_token_for_another_audience_is_refused() -> None:
    auth = UploaderAuth(hs256_secret="a-shared-secret-of-at-least-32-bytes")
    other = jwt.encode(
        {"sub": "a", "aud": "tubestream-player", "exp": int(time.time()) + 60},
        "a-shared-secret-of-at-least-32-bytes",
        algorithm="HS256",
    )
    with pytest.raises(InvalidUploaderTokenError, match=r"(?i)audience"):
        auth.verify(other)


def test_exactly_one_key_must_be_configured() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        UploaderAuth()


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"sub": ""}, "sub"),
        ({"sub": "   "}, "sub"),
        ({"exp": int(time.time()) + 30 * 24 * 3600}, "days from now"),
    ],
)
def test_a_token_with_an_empty_uploader_or_too_long_a_life_is_refused(
    claims: dict[str, object], says: str
) -> None:
    base = {"sub": "u1", "aud": UPLOAD_AUDIENCE, "exp": int(time.time()) + 60}
    token = jwt.encode(base | claims, SECRET, algorithm="HS256")
    with pytest.raises(InvalidUploaderTokenError, match=says):
        UploaderAuth(hs256_secret=SECRET).verify(token)
    with pytest.raises(ValueError):
        UploaderAuth(hs256_secret=SECRET).issue("", ttl_s=60)
