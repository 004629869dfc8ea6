"""The metadata limits, as pure checks (the service's answers are in test_hostile_input.py)."""

from __future__ import annotations

import pytest

from producers.uploads.metadata import InvalidMetadataError, VideoMetadata, Visibility, check_metadata


def test_what_is_kept_is_trimmed_and_survives_storage() -> None:
    metadata = check_metadata(
        {"title": "  My trip  ", "description": "Day 1\r\n\tthe sea\n", "tags": [" sea ", "été", "🎬"]}
    )
    assert metadata == VideoMetadata(
        title="My trip", description="Day 1\r\n\tthe sea\n", tags=("sea", "été", "🎬")
    )
    assert VideoMetadata.from_json(metadata.to_json()) == metadata
    assert check_metadata({"title": "t"}) == VideoMetadata(title="t", description="", tags=())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": "a\ud800b"}, "title contains a lone surrogate (U+D800) at character 2"),
        (
            {"title": "t", "description": "tab\tok, bell\x07 not"},
            "description contains a control character (U+0007)",
        ),
        ({"title": "new\nline"}, "title contains a control character (U+000A)"),
        ({"title": "gnp.\u202eexe"}, "title contains a bidirectional override (U+202E)"),
        ({"title": "t", "tags": ["ok", "\u2069"]}, "tag 2 contains a bidirectional override (U+2069)"),
        ({"title": "t", "tags": ["x" * 41]}, "tag 1 must be a string of 1 to 40 characters"),
        ({"title": "t", "tags": ["t"] * 31}, "tags must be a list of at most 30 strings"),
        (
            {"title": "t", "description": "d" * 5001},
            "description must be a string of at most 5000 characters",
        ),
        ({"title": "x" * 201}, "title must be a string of 1 to 200 characters"),
    ],
)
def test_each_refusal_names_the_field_and_the_character(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidMetadataError) as refused:
        check_metadata(body)
    assert str(refused.value).startswith(message)


def test_exactly_at_the_limits_is_fine() -> None:
    metadata = check_metadata({"title": "x" * 200, "description": "d" * 5000, "tags": ["t" * 40] * 30})
    assert (len(metadata.title), len(metadata.description), len(metadata.tags)) == (200, 5000, 30)


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private"])
def test_a_visibility_is_kept_and_survives_storage(visibility: str) -> None:
    metadata = check_metadata({"title": "t", "visibility": visibility})
    assert metadata.visibility is Visibility(visibility)
    assert VideoMetadata.from_json(metadata.to_json()) == metadata


def test_no_visibility_is_public_and_metadata_stored_before_visibility_reads_as_public() -> None:
    assert check_metadata({"title": "t"}).visibility is Visibility.PUBLIC
    assert (
        VideoMetadata.from_json(b'{"title": "t", "description": "", "tags": []}').visibility
        is Visibility.PUBLIC
    )


@pytest.mark.parametrize("visibility", ["Public", "hidden", "", None, 1, ["private"]])
def test_any_other_visibility_is_refused_by_name(visibility: object) -> None:
    with pytest.raises(InvalidMetadataError, match="visibility must be one of public, unlisted, private"):
        check_metadata({"title": "t", "visibility": visibility})
