"""Carry the tags and the cover art of a song over to its 8D version (mutagen), across tag systems.

Three systems cover every format SurroundYou reads or writes:
- ID3v2 frames (MP3; WAV and AIFF keep an ID3 chunk), cover art in APIC frames;
- Vorbis comments (FLAC, OGG/Vorbis, Opus), cover art as FLAC PICTURE blocks (in Ogg: base64
  ``METADATA_BLOCK_PICTURE`` comments, as the Xiph wiki's VorbisComment page specifies);
- MP4 atoms (M4A/AAC), cover art in ``covr``.
A neutral :class:`Tags` value sits between reading one and writing another. The fields are the
common ones all three can hold, lyrics among them; a picture keeps its MIME type, picture type
and description. ReplayGain's are left behind on purpose: the 8D version's loudness is its own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import mutagen
import mutagen.flac
import mutagen.id3
import mutagen.mp3
import mutagen.mp4
import mutagen.oggvorbis
import mutagen.wave

# neutral name -> (ID3 frame, MP4 atom); the Vorbis comment name is the neutral name itself
FIELDS: dict[str, tuple[str, str]] = {
    "title": ("TIT2", "\xa9nam"),
    "artist": ("TPE1", "\xa9ART"),
    "album": ("TALB", "\xa9alb"),
    "albumartist": ("TPE2", "aART"),
    "date": ("TDRC", "\xa9day"),
    "genre": ("TCON", "\xa9gen"),
    "composer": ("TCOM", "\xa9wrt"),
    "tracknumber": ("TRCK", "trkn"),
    "discnumber": ("TPOS", "disk"),
    "comment": ("COMM", "\xa9cmt"),
    "lyrics": ("USLT", "\xa9lyr"),  # unsynchronised lyrics; LYRICS as a Vorbis comment, as players read it
}
_MP4_NUMBER_PAIRS = ("trkn", "disk")
FRONT_COVER = 3  # picture type "Cover (front)" in ID3 APIC and FLAC PICTURE alike


@dataclass(frozen=True)
class Picture:
    data: bytes
    mime: str = "image/jpeg"
    kind: int = FRONT_COVER
    description: str = ""


@dataclass
class Tags:
    text: dict[str, list[str]] = field(default_factory=dict)
    pictures: list[Picture] = field(default_factory=list)


def copy_tags(src: str | Path, dst: str | Path) -> Tags:
    """Copy what :func:`read_tags` finds in ``src`` into ``dst``; returns it."""
    tags = read_tags(src)
    if tags.text or tags.pictures:
        write_tags(dst, tags)
    return tags


def read_tags(path: str | Path) -> Tags:
    """The tags of any file mutagen knows; empty :class:`Tags` when it has none or cannot parse them."""
    try:
        audio = mutagen.File(str(path))
    except (mutagen.MutagenError, OSError):
        return Tags()  # a damaged tag must not stop the conversion of the audio
    if audio is None or audio.tags is None:
        return Tags()
    if isinstance(audio.tags, mutagen.id3.ID3):
        return _from_id3(audio.tags)
    if isinstance(audio.tags, mutagen.mp4.MP4Tags):
        return _from_mp4(audio.tags)
    if isinstance(audio, mutagen.flac.FLAC):
        return Tags(_from_vorbis(audio.tags), [_picture_from_flac(picture) for picture in audio.pictures])
    if isinstance(audio.tags, mutagen.flac.VCommentDict):  # Ogg Vorbis, Opus, Speex
        pictures = [
            _picture_from_flac(mutagen.flac.Picture(base64.b64decode(encoded)))
            for encoded in audio.tags.get("metadata_block_picture", [])
        ]
        return Tags(_from_vorbis(audio.tags), pictures)
    return Tags()


def write_tags(path: str | Path, tags: Tags) -> None:
    """Write ``tags`` into the MP3, FLAC, WAV or OGG file at ``path`` (chosen by its extension)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".mp3":
        _write_id3(mutagen.mp3.MP3(str(path)), tags)
    elif suffix == ".wav":
        _write_id3(mutagen.wave.WAVE(str(path)), tags)
    elif suffix == ".flac":
        audio = mutagen.flac.FLAC(str(path))
        _write_vorbis(audio, tags)
        for picture in tags.pictures:
            audio.add_picture(_picture_to_flac(picture))
        audio.save()
    elif suffix == ".ogg":
        ogg = mutagen.oggvorbis.OggVorbis(str(path))
        _write_vorbis(ogg, tags)
        ogg["metadata_block_picture"] = [
            base64.b64encode(_picture_to_flac(picture).write()).decode("ascii") for picture in tags.pictures
        ]
        ogg.save()
    else:
        raise ValueError(f"cannot write tags into {suffix or 'a file without extension'}")


# ---------------------------------------------------------------- ID3


def _from_id3(id3: mutagen.id3.ID3) -> Tags:
    text: dict[str, list[str]] = {}
    for name, (frame_id, _) in FIELDS.items():
        # COMM frames with a description are players' private data (e.g. iTunNORM), not a comment
        frames = [frame for frame in id3.getall(frame_id) if frame_id != "COMM" or frame.desc == ""]
        # a USLT frame holds one text, the others a list
        values = [str(value) for frame in frames for value in _as_list(frame.text) if str(value)]
        if values:
            text[name] = values
    pictures = [
        Picture(frame.data, frame.mime or "image/jpeg", int(frame.type), frame.desc) for frame in id3.getall("APIC")
    ]
    return Tags(text, pictures)


def _as_list(text: str | list[str]) -> list[str]:
    return [text] if isinstance(text, str) else text


def _write_id3(audio: mutagen.FileType, tags: Tags) -> None:
    if audio.tags is None:
        audio.add_tags()
    id3 = cast(mutagen.id3.ID3, audio.tags)  # MP3 and WAV carry ID3
    for name, values in tags.text.items():
        frame_id = FIELDS[name][0]
        if frame_id == "COMM":
            id3.add(mutagen.id3.COMM(encoding=3, lang="eng", desc="", text=values))
        elif frame_id == "USLT":
            id3.add(mutagen.id3.USLT(encoding=3, lang="eng", desc="", text="\n".join(values)))
        else:
            id3.add(mutagen.id3.Frames[frame_id](encoding=3, text=values))
    for picture in tags.pictures:
        id3.add(
            mutagen.id3.APIC(
                encoding=3, mime=picture.mime, type=picture.kind, desc=picture.description, data=picture.data
            )
        )
    audio.save()


# ---------------------------------------------------------------- Vorbis comments


def _from_vorbis(comments: mutagen.flac.VCommentDict | None) -> dict[str, list[str]]:
    if comments is None:
        return {}
    return {name: list(comments[name]) for name in FIELDS if name in comments and comments[name]}


def _write_vorbis(audio: mutagen.FileType, tags: Tags) -> None:
    if audio.tags is None:
        audio.add_tags()
    for name, values in tags.text.items():
        audio[name] = values


def _picture_from_flac(picture: mutagen.flac.Picture) -> Picture:
    return Picture(picture.data, picture.mime or "image/jpeg", int(picture.type), picture.desc)


def _picture_to_flac(picture: Picture) -> mutagen.flac.Picture:
    flac_picture = mutagen.flac.Picture()
    flac_picture.data, flac_picture.mime = picture.data, picture.mime
    flac_picture.type, flac_picture.desc = picture.kind, picture.description
    return flac_picture


# ---------------------------------------------------------------- MP4 atoms


def _from_mp4(atoms: mutagen.mp4.MP4Tags) -> Tags:
    text: dict[str, list[str]] = {}
    for name, (_, atom) in FIELDS.items():
        if atom not in atoms:
            continue
        if atom in _MP4_NUMBER_PAIRS:  # [(number, total)] -> "number/total"
            text[name] = [f"{number}/{total}" if total else str(number) for number, total in atoms[atom]]
        else:
            text[name] = [str(value) for value in atoms[atom]]
    pictures = [
        Picture(bytes(cover), "image/png" if cover.imageformat == mutagen.mp4.MP4Cover.FORMAT_PNG else "image/jpeg")
        for cover in atoms.get("covr", [])
    ]
    return Tags(text, pictures)
