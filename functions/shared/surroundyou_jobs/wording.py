"""Sizes and durations in the words the messages to people use (API errors, refused uploads)."""

from __future__ import annotations


def file_size(size_bytes: int) -> str:
    """A size in decimal units, as the template's MaxUploadMB (1 MB = 1,000,000 bytes):
    "80 KB", "7.0 MB", "200 MB", "4.2 GB", "over 1,000 TB" (a size no file has)."""
    if size_bytes < 1_000_000:
        return f"{max(1, round(size_bytes / 1000))} KB"
    for unit, scale in (("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        size = size_bytes / scale
        if size < 1000:
            return f"{size:.1f} {unit}" if size < 10 else f"{size:.0f} {unit}"
    return "over 1,000 TB"


def spoken_duration(seconds: float) -> str:
    """A duration in words: "2.5 s", "4 min 10 s", "60 min", "2 h 5 min" (zero parts left out)."""
    if seconds < 10:
        return f"{round(seconds, 1):g} s"
    total_s = int(round(seconds))
    hours, rest_s = divmod(total_s, 3600) if total_s > 3600 else (0, total_s)
    minutes, secs = divmod(rest_s, 60)
    parts = [(hours, "h"), (minutes, "min"), (secs, "s")]
    return " ".join(f"{value} {unit}" for value, unit in parts if value)


def clock(seconds: float) -> str:
    """A duration as a player shows it: 3:07, 1:02:05."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
