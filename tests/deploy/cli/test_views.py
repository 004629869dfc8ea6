"""What ``tubestream api`` tells the web app: where its other services are, and the sign-in's keys."""

from __future__ import annotations

from pathlib import Path

from deploy.cli.views import web_settings_for
from deploy.secrets import local_secret
from deploy.settings import Settings
from producers.collector.tokens import PlayerTokens


def test_the_embedded_setup_signs_in_with_the_secrets_the_services_verify_with(tmp_path: Path) -> None:
    settings = Settings.from_env({"TUBESTREAM_HOME": str(tmp_path), "TUBESTREAM_COLLECTOR_PORT": "9101"})
    web = web_settings_for(settings)
    assert web.collector_url == "http://127.0.0.1:9101" and web.upload_url == "http://127.0.0.1:8082"
    assert web.connect_origins == ("http://127.0.0.1:8082", "http://127.0.0.1:9101")
    assert web.sign_in is not None
    token = web.sign_in.player_tokens.issue("ada")
    collector_secret = local_secret(tmp_path, "player-token")  # what `tubestream collector` reads
    assert PlayerTokens(collector_secret).verify(token).viewer_id == "ada"


def test_a_production_setup_hands_out_no_tokens_and_names_its_cdn_and_storage(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "TUBESTREAM_HOME": str(tmp_path),
            "TUBESTREAM_PLAYER_TOKEN_SECRET": "p" * 40,
            "TUBESTREAM_COLLECTOR_URL": "https://play.example",
            "TUBESTREAM_UPLOAD_URL": "https://upload.example/",
            "TUBESTREAM_MEDIA_BASE_URL": "https://cdn.example/media/",
            "TUBESTREAM_BLOB_URL": "s3://videos?endpoint=http://minio:9000&public_endpoint=https://s3.example",
        }
    )
    web = web_settings_for(settings)
    assert web.sign_in is None
    assert web.connect_origins == (
        "https://cdn.example",
        "https://play.example",
        "https://s3.example",
        "https://upload.example",
    )
