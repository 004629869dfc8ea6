"""The embedded playback store keeps one trending board per window, replaced on each write."""

from __future__ import annotations

from pathlib import Path

from views.playback import BoardRow
from views.sqlite_playback import SqlitePlaybackStore


async def test_a_board_is_replaced_per_window_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "playback.db"
    store = SqlitePlaybackStore(path)
    try:
        assert await store.board("1h") is None
        await store.write_board(BoardRow("1h", '{"v":1}'))
        await store.write_board(BoardRow("24h", '{"v":2}'))
        await store.write_board(BoardRow("1h", '{"v":3}'))
    finally:
        await store.close()

    reopened = SqlitePlaybackStore(path)
    try:
        assert await reopened.board("1h") == BoardRow("1h", '{"v":3}')
        assert await reopened.board("24h") == BoardRow("24h", '{"v":2}')
        assert await reopened.board("7d") is None
    finally:
        await reopened.close()
