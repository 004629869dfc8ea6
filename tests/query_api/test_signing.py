"""Signed media URLs, as pure checks: sign and verify, expiry, tampering, another video, escapes."""

from __future__ import annotations

import pytest

from query_api.signing import MediaSigner, SignatureError, video_of_key

NOW = 1_800_000_123.0  # inside a rounding step, not on its edge
SIGNER = MediaSigner(secret=b"k" * 32, ttl_s=6 * 3600, granularity_s=600)


def _parts(signer: MediaSigner, video_id: str, now: float = NOW) -> tuple[str, str]:
    _, expires, signature, _ = signer.prefix(video_id, now=now).split("/")
    return expires, signature


def test_a_signature_opens_every_file_of_its_video() -> None:
    expires, signature = _parts(SIGNER, "vidA")
    for key in (
        "videos/vidA/j1/master.m3u8",
        "videos/vidA/j1/720p/seg-00001.m4s",
        "videos/vidA/j2/poster.jpg",
    ):
        assert SIGNER.verify(expires=expires, signature=signature, key=key, now=NOW + 60) == "vidA"


def test_a_signature_for_video_a_never_opens_video_b() -> None:
    expires, signature = _parts(SIGNER, "vidA")
    with pytest.raises(SignatureError, match="does not match"):
        SIGNER.verify(expires=expires, signature=signature, key="videos/vidB/j1/master.m3u8", now=NOW)
    with pytest.raises(SignatureError, match="does not match"):  # nor a video whose id only starts alike
        SIGNER.verify(expires=expires, signature=signature, key="videos/vidAB/j1/master.m3u8", now=NOW)


def test_the_expiry_is_at_least_the_ttl_ahead_rounded_up_so_urls_stay_stable_for_a_while() -> None:
    expires = SIGNER.expiry(NOW)
    assert NOW + 6 * 3600 <= expires < NOW + 6 * 3600 + 600 and expires % 600 == 0
    assert SIGNER.prefix("v", now=NOW) == SIGNER.prefix("v", now=NOW + 1)  # same rounding: same URL


def test_an_expired_signature_is_refused() -> None:
    expires, signature = _parts(SIGNER, "vidA")
    with pytest.raises(SignatureError, match="expired"):
        SIGNER.verify(expires=expires, signature=signature, key="videos/vidA/j1/a.m4s", now=int(expires))


@pytest.mark.parametrize("tamper", ["expiry", "signature", "secret", "not a number", "too far"])
def test_a_tampered_or_foreign_signature_is_refused(tamper: str) -> None:
    expires, signature = _parts(SIGNER, "vidA")
    key = "videos/vidA/j1/a.m4s"
    if tamper == "expiry":  # a later expiry with the old signature
        expires = str(int(expires) + 600)
    elif tamper == "signature":
        signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    elif tamper == "secret":
        expires, signature = _parts(MediaSigner(secret=b"x" * 32), "vidA")
    elif tamper == "not a number":
        expires = "1e99"
    else:  # well signed with this secret, but further ahead than the deployment ever signs
        far = int(NOW) + 30 * 86_400
        expires, signature = str(far), SIGNER.signature("vidA", far)
    with pytest.raises(SignatureError):
        SIGNER.verify(expires=expires, signature=signature, key=key, now=NOW)


@pytest.mark.parametrize(
    "key",
    [
        "videos/vidA/../vidB/j1/master.m3u8",
        "videos/vidA/j1/../../vidB/master.m3u8",
        "videos/vidA/./j1/a.m4s",
        "videos/vidA//j1/a.m4s",
        "videos/vidA/j1%2F..%2F..%2Fvid B/a.m4s",
        "videos/vidA/j1/..%2f..%2fvidB%2fa.m4s",
        "videos/vidA/j1\\..\\..\\vidB\\a.m4s",
        "videos/vidA/j1/a.m4s\x00.m3u8",
        "videos/vidA",
        "uploads/vidA/source",
        "/videos/vidA/j1/a.m4s",
    ],
)
def test_a_key_that_could_leave_its_video_folder_is_no_key_at_all(key: str) -> None:
    expires, signature = _parts(SIGNER, "vidA")
    with pytest.raises(ValueError, match=r"vidA|published"):
        video_of_key(key)
    with pytest.raises(ValueError):
        SIGNER.verify(expires=expires, signature=signature, key=key, now=NOW)


def test_a_short_secret_or_a_tiny_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MediaSigner(secret=b"short")
    with pytest.raises(ValueError, match="minute"):
        MediaSigner(secret=b"k" * 32, ttl_s=5)
