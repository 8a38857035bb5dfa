"""Partial files: only a dead conversion's, of the same result, are removed."""

from __future__ import annotations

import os
import time

from surroundyou.engine.partial_file import ORPHAN_AGE_S, create_locked, partial_file_for, remove_orphaned_partial_files


def made(path, old=True):
    """``path`` as a file, last changed over a minute ago unless ``old`` is False."""
    path.write_bytes(b"half a song")
    if old:
        os.utime(path, (time.time() - ORPHAN_AGE_S - 5,) * 2)
    return path


def test_only_the_results_own_unlocked_partial_files_that_stood_a_minute_are_removed(tmp_path):
    target = tmp_path / "a+b (live) [1].8d.mp3"  # a name full of pattern characters
    stem = target.stem
    live = partial_file_for(target, "mp3")
    lock = create_locked(live)  # as a conversion running now holds it
    os.utime(live, (time.time() - ORPHAN_AGE_S - 5,) * 2)
    dead = [made(tmp_path / f".{stem}.0123abcd.part.mp3"), made(tmp_path / f".{stem}.ffff0000.part.mp3")]
    kept = [
        made(tmp_path / f".{stem}.0123abcd.part.flac"),  # the same song into another format
        made(tmp_path / ".other.8d.0123abcd.part.mp3"),  # another song
        made(tmp_path / f".{stem}.notatoken.part.mp3"),  # not a name a conversion gives
        made(tmp_path / f"{stem}.0123abcd.part.mp3"),  # not hidden
        made(tmp_path / f".{stem}.9999aaaa.part.mp3", old=False),  # just made: its conversion may not hold it yet
    ]
    (tmp_path / f".{stem}.bbbbcccc.part.mp3").mkdir()  # a folder so named
    kept.append(tmp_path / f".{stem}.bbbbcccc.part.mp3")
    try:
        assert sorted(remove_orphaned_partial_files(target, "mp3")) == sorted(dead)
        assert all(path.exists() for path in (*kept, live))
    finally:
        os.close(lock)
    assert remove_orphaned_partial_files(target, "mp3") == [live]  # its conversion gone, its lock with it


def test_a_folder_not_made_yet_has_nothing_to_remove(tmp_path):
    assert remove_orphaned_partial_files(tmp_path / "new" / "song.8d.mp3", "mp3") == []
