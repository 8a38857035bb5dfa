"""Songs tagged through each tag system (ID3, Vorbis comments, MP4 atoms) by mutagen directly, and
the check that tags and cover art survive a copy between two of them (tag tests of both tiers)."""

from __future__ import annotations

import base64

import mutagen.flac
import mutagen.id3
import mutagen.mp4
import mutagen.oggopus
from audio_files import stereo_tone, tiny_png, write_audio

from surroundyou.engine.tags import Picture, Tags, copy_tags, read_tags, write_tags

SR = 44100
TEXT = {
    "title": ["Orbit Song"],
    "artist": ["The Ears", "Left & Right"],
    "album": ["Around"],
    "albumartist": ["The Ears"],
    "date": ["2024"],
    "genre": ["Electronic"],
    "composer": ["A. Head"],
    "tracknumber": ["3/12"],
    "discnumber": ["1/2"],
    "comment": ["rendered in code"],
    "lyrics": ["Round and round\nthe music goes"],
}
COVER = Picture(tiny_png(), "image/png", 3, "")


def tagged_song(directory, fmt):
    """A short song of format ``fmt`` tagged with TEXT and COVER through mutagen directly."""
    path = write_audio(directory / f"source.{fmt}", stereo_tone(0.5), SR)
    if fmt == "mp3":
        id3 = mutagen.id3.ID3()
        for frame in (
            mutagen.id3.TIT2(encoding=3, text=TEXT["title"]),
            mutagen.id3.TPE1(encoding=3, text=TEXT["artist"]),
            mutagen.id3.TALB(encoding=3, text=TEXT["album"]),
            mutagen.id3.TPE2(encoding=3, text=TEXT["albumartist"]),
            mutagen.id3.TDRC(encoding=3, text=TEXT["date"]),
            mutagen.id3.TCON(encoding=3, text=TEXT["genre"]),
            mutagen.id3.TCOM(encoding=3, text=TEXT["composer"]),
            mutagen.id3.TRCK(encoding=3, text=TEXT["tracknumber"]),
            mutagen.id3.TPOS(encoding=3, text=TEXT["discnumber"]),
            mutagen.id3.COMM(encoding=3, lang="eng", desc="", text=TEXT["comment"]),
            mutagen.id3.COMM(encoding=3, lang="eng", desc="iTunNORM", text=["00000001 00000002"]),
            mutagen.id3.USLT(encoding=3, lang="eng", desc="", text=TEXT["lyrics"][0]),
            mutagen.id3.APIC(encoding=3, mime=COVER.mime, type=3, desc="", data=COVER.data),
        ):
            id3.add(frame)
        id3.save(path)
    elif fmt == "m4a":
        audio = mutagen.mp4.MP4(path)
        audio.tags["\xa9nam"], audio.tags["\xa9ART"], audio.tags["\xa9alb"] = (
            TEXT["title"],
            TEXT["artist"],
            TEXT["album"],
        )
        audio.tags["aART"], audio.tags["\xa9day"], audio.tags["\xa9gen"] = (
            TEXT["albumartist"],
            TEXT["date"],
            TEXT["genre"],
        )
        audio.tags["\xa9wrt"], audio.tags["\xa9cmt"] = TEXT["composer"], TEXT["comment"]
        audio.tags["\xa9lyr"] = TEXT["lyrics"]
        audio.tags["trkn"], audio.tags["disk"] = [(3, 12)], [(1, 2)]
        audio.tags["covr"] = [mutagen.mp4.MP4Cover(COVER.data, mutagen.mp4.MP4Cover.FORMAT_PNG)]
        audio.save()
    elif fmt == "opus":
        audio = mutagen.oggopus.OggOpus(path)
        for name, values in TEXT.items():
            audio[name] = values
        picture = mutagen.flac.Picture()
        picture.data, picture.mime, picture.type = COVER.data, COVER.mime, 3
        audio["metadata_block_picture"] = [base64.b64encode(picture.write()).decode("ascii")]
        audio.save()
    else:  # flac, ogg, wav: through the module's writer (its read side is checked on the others)
        write_tags(path, Tags(dict(TEXT), [COVER]))
    return path


def assert_tags_survive(directory, src_fmt: str, dst_fmt: str) -> None:
    """TEXT and COVER, tagged on a ``src_fmt`` song, are all read back from a ``dst_fmt`` copy."""
    source = tagged_song(directory, src_fmt)
    target = write_audio(directory / f"target.{dst_fmt}", stereo_tone(0.5), SR)
    copied = copy_tags(source, target)
    assert copied.text == TEXT, "every field was read from the source (and nothing else)"
    result = read_tags(target)
    assert result.text == TEXT
    assert [(picture.data, picture.mime, picture.kind) for picture in result.pictures] == [(COVER.data, COVER.mime, 3)]
