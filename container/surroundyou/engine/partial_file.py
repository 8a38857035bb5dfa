"""The partial file a result is written into, beside it under a hidden name, until it is whole.

A conversion holds an advisory lock (``flock``) on its partial file while it writes it, and removes
it on any error or stop. One killed outright (SIGKILL, the out-of-memory killer, a power cut) cannot:
the next conversion of the same result removes every partial file of it that no process holds and
that has not changed for ``ORPHAN_AGE_S`` (a file just made, not yet locked, is left alone).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import time
from pathlib import Path

ORPHAN_AGE_S = 60.0
_TOKEN_HEX = 8


def partial_file_for(target: Path, fmt: str) -> Path:
    """A new name for ``target``'s partial file (the format's extension last: pedalboard and mutagen
    pick the format from it); orphans of ``target`` are removed first. Hold the name before the file
    is made (``create_locked``), so a stop that lands in between still knows what to remove."""
    remove_orphaned_partial_files(target, fmt)
    return target.parent / f".{target.stem}.{secrets.token_hex(_TOKEN_HEX // 2)}.part.{fmt}"


def create_locked(path: Path) -> int:
    """Makes the partial file ``path`` and locks it; the descriptor holding the lock: close it when done."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # a file system without flock (some network shares): no lock, and none is ever removed there
    return descriptor


def remove_orphaned_partial_files(target: Path, fmt: str) -> list[Path]:
    """Removes ``target``'s partial files left by conversions that died; returns them."""
    name = re.compile(rf"\.{re.escape(target.stem)}\.[0-9a-f]{{{_TOKEN_HEX}}}\.part\.{re.escape(fmt)}")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed  # no folder yet: nothing left in it
    for entry in entries:
        if not name.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime < ORPHAN_AGE_S:
                continue
            descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a live conversion's
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
        finally:
            os.close(descriptor)
    return removed
