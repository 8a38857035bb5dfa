"""Streaming audio decoding: blocks of float32 samples, memory flat however long the song.

- MP3, WAV, FLAC, OGG/Vorbis, AIFF: ``pedalboard.io.ReadableAudioFile``, read block by block.
- M4A/AAC, Opus, WebM, anything else ffmpeg reads, and files with more than two channels:
  the ffmpeg binary of the ``imageio-ffmpeg`` package (no system ffmpeg) as a subprocess that
  pipes 32-bit float PCM, after probing rate and channels. pydub is not used: it decodes the
  whole song into memory.
- pedalboard pads a damaged file with silence instead of failing, so a cut-off download would
  convert "successfully". The cheap checks the formats allow catch that: the declared size of a
  WAV/AIFF data chunk and the byte count in an MP3's Xing/Info header
  (``surroundyou_formats.cut_short``, which the upload check shares), a FLAC's MD5 signature.
- Which of those checks a file gets, and whether it is trimmed, follows what its first bytes say it
  holds (``surroundyou_formats.sniff``, as the upload check reads it), not its name.
- pedalboard's MP3 reader returns the encoder delay and padding as audio; the LAME/Info tag
  says how much there is, and it is trimmed so a decoded MP3 has exactly the encoded frames.
- A float file can hold NaN or infinite samples, which no filter survives (one NaN spreads
  through every recursive filter after it: a WAV of NaNs, or a near-silent MP3). They are
  repaired here, for the command line and the task alike: each is replaced by 0 (silence) and
  counted in :attr:`AudioSource.non_finite_samples`, which the conversion report carries.
  Repairing rather than refusing keeps the rest of the song, and the upload check need not
  decode samples to find them.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import imageio_ffmpeg
import mutagen.flac
import mutagen.mp3
import numpy as np
from pedalboard.io import ReadableAudioFile, StreamResampler, get_supported_read_formats

from surroundyou_formats import SHORTEST_SONG_S
from surroundyou_formats.cut_short import (
    MP3_SLACK_BYTES,
    OGG_CAPTURE,
    mp3_audio_bytes,
    ogg_stream_unfinished,
    read_xing,
    shortfall,
    streamed_wav_frames,
)
from surroundyou_formats.id3 import holds_only_a_tag
from surroundyou_formats.sniff import EXTENSION_FORMATS, sniff_format

BLOCK_FRAMES = 65536
# libmpg123 / minimp3 decoder delay: an MP3 decoder's output starts this many frames after the
# encoder's (LAME's documented 528 + 1); the LAME tag's encoder delay comes on top of it
MP3_DECODER_DELAY_FRAMES = 529
_NATIVE_FORMATS = frozenset(get_supported_read_formats())
_LOSSY_FORMATS = frozenset({"mp3", "aac", "ogg-vorbis", "ogg-opus", "mp4", "webm"})


class AudioInputError(ValueError):
    """An input that cannot be converted. The message reads ``"<file name>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    """What a decoder delivers.

    sample_format: the source's resolution, one of "int16", "int24", "int32", "float32"
    (lossy codecs decode to float32). frames: exact for pedalboard formats, estimated from the
    container's duration for ffmpeg inputs (progress only: the decoded blocks are the truth).
    """

    sample_rate: int
    channels: int
    frames: int
    sample_format: str
    decoder: str  # "pedalboard" or "ffmpeg"


class AudioSource:
    """A decoded stream: :attr:`info`, then :meth:`blocks` of float32 ``(channels, frames)``.

    Every block is finite: NaN and infinite samples are replaced by 0, and
    :attr:`non_finite_samples` counts them (channel samples, so far delivered).
    """

    info: AudioInfo
    non_finite_samples: int = 0

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the decoder (also done when :meth:`blocks` is exhausted or closed)."""

    def _finite(self, block: np.ndarray) -> np.ndarray:
        """``block`` with its NaN and infinite samples replaced by 0, counted in :attr:`non_finite_samples`."""
        bad = ~np.isfinite(block)
        count = int(np.count_nonzero(bad))
        if count == 0:
            return block
        self.non_finite_samples += count
        return np.where(bad, np.float32(0.0), block)

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_audio(path: str | Path) -> AudioSource:
    """Open ``path`` for block-wise decoding; :class:`AudioInputError` if it cannot be read."""
    path = Path(path)
    if path.is_dir():
        raise AudioInputError(path, f"a folder, not a file (give its songs: {path}/*.mp3)")
    if not path.is_file():
        raise AudioInputError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioInputError(path, "the file is empty")
    try:
        with path.open("rb") as file:
            cut_ogg = file.read(len(OGG_CAPTURE)) == OGG_CAPTURE and ogg_stream_unfinished(file)
            # what the file holds decides how it is checked and trimmed, whatever its name says
            named = EXTENSION_FORMATS.get(path.suffix.lower().lstrip("."), ())  # for bytes that name none
            fmt = sniff_format(file) or (named[0] if len(named) == 1 else None)
    except OSError as error:
        raise AudioInputError(path, f"cannot read it ({error.strerror})") from None
    if cut_ogg:  # decoders play what is there without a word: half a download came out as 1 s of it
        raise AudioInputError(path, "the file is cut short: its Ogg stream stops before its end")
    if path.suffix.lower() in _NATIVE_FORMATS and not (fmt == "mp3" and _mp3_runs_past_its_header(path)):
        try:
            native: ReadableAudioFile | None = ReadableAudioFile(str(path))
        except (ValueError, RuntimeError, OSError):
            native = None  # wrong extension or a variant pedalboard lacks: ffmpeg may know it
        if native is not None and native.num_channels <= 2:
            return _long_enough(_PedalboardSource(path, native, fmt), path)
        if native is not None:
            native.close()
    return _long_enough(_FfmpegSource(path), path)


def _long_enough(source: AudioSource, path: Path) -> AudioSource:
    """``source``, unless it declares a song shorter than ``SHORTEST_SONG_S``."""
    frames, rate = source.info.frames, source.info.sample_rate
    if 0 < frames < SHORTEST_SONG_S * rate:
        source.close()
        samples = f"{frames} sample" + ("s" if frames > 1 else "")
        raise AudioInputError(
            path,
            f"the song is too short to convert: {samples} ({1000 * frames / rate:.2g} ms), "
            f"under {SHORTEST_SONG_S * 1000:g} ms",
        )
    return source


class _PedalboardSource(AudioSource):
    def __init__(self, path: Path, native: ReadableAudioFile, fmt: str | None):
        """``fmt``: what the file holds (``sniff_format``, else what its name says)."""
        self._path = path
        self._file = native
        self._skip_frames, self._keep_frames = 0, None  # None: all the decoder delivers
        self._md5: tuple[int, int] | None = None  # (signature, bits) of a FLAC file
        try:
            _check_not_cut_short(path, native, fmt)
        except AudioInputError:
            native.close()
            raise
        if fmt == "mp3":
            self._skip_frames, self._keep_frames = _mp3_gapless_frames(path)
        elif fmt == "wav":
            with path.open("rb") as handle:
                self._keep_frames = streamed_wav_frames(handle)
        elif fmt == "flac":
            self._md5 = _flac_md5_signature(path)
        frames = self._keep_frames if self._keep_frames is not None else int(native.frames)
        sample_format = "float32" if fmt in _LOSSY_FORMATS else _sample_format(native.file_dtype)
        self.info = AudioInfo(int(round(native.samplerate)), native.num_channels, frames, sample_format, "pedalboard")

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        try:
            to_skip = self._skip_frames
            remaining = self._keep_frames if self._keep_frames is not None else sys.maxsize
            signature = self._md5
            digest = hashlib.md5(usedforsecurity=False)
            delivered = 0
            while remaining > 0:
                try:
                    block = self._file.read(min(block_frames, remaining + to_skip))
                except (RuntimeError, ValueError) as error:
                    raise AudioInputError(self._path, f"the audio data is damaged ({error})") from error
                if block.shape[1] == 0:
                    break
                if to_skip:
                    dropped = min(to_skip, block.shape[1])
                    block, to_skip = block[:, dropped:], to_skip - dropped
                    if block.shape[1] == 0:
                        continue
                remaining -= block.shape[1]
                delivered += block.shape[1]
                if signature is not None:
                    digest.update(_flac_md5_bytes(block, signature[1]))
                yield self._finite(block)
            if delivered == 0:
                raise AudioInputError(self._path, "the file contains no audio")
            if signature is not None and int.from_bytes(digest.digest(), "big") != signature[0]:
                raise AudioInputError(
                    self._path, "the FLAC data is damaged or cut short (its MD5 checksum does not match)"
                )
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()


class _FfmpegSource(AudioSource):
    """Decodes with the imageio-ffmpeg binary; more than two channels are downmixed to stereo."""

    def __init__(self, path: Path):
        self._path = path
        self._process: subprocess.Popen | None = None
        probe = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        )
        self.info = _parse_probe(path, probe.stderr)

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        channels = self.info.channels
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(self._path),
            "-map",
            "0:a:0",
            "-vn",
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "-ac",
            str(channels),
            "-ar",
            str(self.info.sample_rate),
            "-",
        ]
        with tempfile.TemporaryFile() as errors:
            process = self._process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
            )
            pcm = cast(IO[bytes], process.stdout)  # a pipe: stdout=PIPE
            try:
                delivered = 0
                frame_bytes = 4 * channels
                while True:
                    data = pcm.read(block_frames * frame_bytes)
                    usable = len(data) - len(data) % frame_bytes
                    if usable == 0:
                        break
                    block = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels).T
                    delivered += block.shape[1]
                    yield self._finite(np.ascontiguousarray(block, dtype=np.float32))
                if process.wait() != 0:
                    errors.seek(0)
                    lines = errors.read().decode("utf-8", "replace").strip().splitlines()
                    raise AudioInputError(
                        self._path, "ffmpeg could not decode it" + (f" ({lines[-1].strip()})" if lines else "")
                    )
                if delivered == 0:
                    raise AudioInputError(self._path, "the file contains no audio")
            finally:
                self.close()

    def close(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()
            cast(IO[bytes], process.stdout).close()


_STREAM = re.compile(r"Stream #\S+: Audio: (?P<codec>[^,]+), (?P<rate>\d+) Hz, (?P<layout>[^,]+), (?P<format>[^,\n]+)")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _unreadable_reason(path: Path, stderr: str) -> str:
    """Why ffmpeg found no audio stream in a file it could not open, as a listener would put it."""
    if "moov atom not found" in stderr:  # an MP4's index, written last: the download stopped early
        return "the M4A/MP4 file is cut short or damaged (its index is missing)"
    with path.open("rb") as file:
        if holds_only_a_tag(file, path.stat().st_size):
            return "it holds an MP3 tag (title, cover...) but no audio after it"
    return "not an audio file SurroundYou can read (MP3, WAV, FLAC, OGG, AIFF, M4A/AAC, Opus, WebM)"


def _parse_probe(path: Path, stderr: str) -> AudioInfo:
    """Rate, channels and resolution of the first audio stream from ``ffmpeg -i``'s report."""
    stream = _STREAM.search(stderr)
    if stream is None:
        if "Invalid data found" in stderr or "Error opening input" in stderr:
            raise AudioInputError(path, _unreadable_reason(path, stderr))
        raise AudioInputError(path, "the file contains no audio stream")
    sample_rate = int(stream["rate"])
    channels = 1 if stream["layout"].strip() in ("mono", "1 channels") else 2
    duration = _DURATION.search(stderr)
    seconds = (int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3])) if duration else 0.0
    fmt = stream["format"].strip()
    if fmt.startswith(("flt", "dbl")):
        sample_format = "float32"
    elif fmt.startswith("s32"):
        sample_format = "int24" if "24 bit" in fmt else "int32"
    else:
        sample_format = "int16"
    return AudioInfo(sample_rate, channels, int(round(seconds * sample_rate)), sample_format, "ffmpeg")


def _sample_format(file_dtype: str) -> str:
    return {"int8": "int16", "int16": "int16", "int24": "int24", "int32": "int32"}.get(file_dtype, "float32")


def read_span(path: str | Path, max_s: float, start_s: float = 0.0) -> tuple[np.ndarray, int, float]:
    """``(audio, sample_rate, duration_s)``: at most ``max_s`` seconds of a file from ``start_s`` on
    (frame ``round(start_s * sample_rate)``), decoded in blocks; ``duration_s`` is the whole file's."""
    with open_audio(path) as source:
        info = source.info
        skip, limit = round(start_s * info.sample_rate), int(max_s * info.sample_rate)
        blocks, frames, position = [np.zeros((info.channels, 0), dtype=np.float32)], 0, 0
        for block in source.blocks():
            kept = block[:, max(0, skip - position) :]
            position += block.shape[1]
            blocks.append(kept[:, : limit - frames])
            frames += blocks[-1].shape[1]
            if frames >= limit:
                break
    return np.concatenate(blocks, axis=1), info.sample_rate, info.frames / info.sample_rate


# ---------------------------------------------------------------- integrity checks


def _check_not_cut_short(path: Path, native: ReadableAudioFile, fmt: str | None) -> None:
    """Reject a WAV/AIFF/MP3 holding less audio than its header declares."""
    if fmt not in ("mp3", "wav", "aiff"):
        return
    with path.open("rb") as handle:
        missing = shortfall(handle, fmt)
    if missing is not None:
        expected_s = native.frames / native.samplerate
        raise AudioInputError(
            path,
            f"the file is cut short: it should hold {expected_s:.1f} s of audio but the "
            f"data stops after about {expected_s * missing.fraction_present:.1f} s",
        )


def _mp3_runs_past_its_header(path: Path) -> bool:
    """An MP3 whose Xing header counts fewer bytes than follow its first frame (by more than tags
    add): MP3s joined end to end (``cat a.mp3 b.mp3``), of which pedalboard reads the first alone
    (ffmpeg reads them all)."""
    with path.open("rb") as handle:
        counts = mp3_audio_bytes(handle)
    return counts is not None and counts[1] - counts[0] > MP3_SLACK_BYTES


def _mp3_gapless_frames(path: Path) -> tuple[int, int | None]:
    """(frames to skip, frames to keep or None for all) of an MP3, from its Xing/Info + LAME tag.

    Audio = Xing frame count x frames per MP3 frame - delay - padding, and it starts
    ``delay + 529`` frames into the decoder's output. Without a tag (or one mutagen cannot
    parse) nothing is trimmed.
    """
    try:
        info = mutagen.mp3.MP3(path).info
    except mutagen.MutagenError:
        return 0, None
    if not isinstance(info, mutagen.mp3.MPEGInfo):
        return 0, None
    with path.open("rb") as handle:
        header = read_xing(handle, info)
    if header is None or header.frames is None or header.encoder_delay_and_padding is None:
        return 0, None
    delay, padding = header.encoder_delay_and_padding
    frames_per_mp3_frame = 1152 if info.version == 1 else 576
    keep = header.frames * frames_per_mp3_frame - delay - padding
    if keep <= 0:
        return 0, None
    return delay + MP3_DECODER_DELAY_FRAMES, keep


# pedalboard reads n-bit FLAC as float32(int / (2^(n-1) - 1)): scaling back and rounding is exact
_FLAC_SCALES = {16: (32767.0, "<i2"), 24: (8388607.0, "<i4")}


def _flac_md5_signature(path: Path) -> tuple[int, int] | None:
    """(MD5 of the decoded samples, bits per sample) from STREAMINFO, if the encoder stored one."""
    try:
        info = mutagen.flac.FLAC(path).info
    except mutagen.MutagenError:
        return None
    if info.md5_signature and info.bits_per_sample in _FLAC_SCALES:
        return info.md5_signature, info.bits_per_sample
    return None


def _flac_md5_bytes(block: np.ndarray, bits: int) -> bytes:
    """The block as FLAC's MD5 covers it: interleaved little-endian signed samples of ``bits`` bits."""
    scale, dtype = _FLAC_SCALES[bits]
    samples = np.round(block.T.astype(np.float64) * scale).astype(dtype)
    if bits == 24:
        return samples.reshape(-1, 1).view(np.uint8)[:, :3].tobytes()
    return samples.tobytes()


# ---------------------------------------------------------------- resampling


def resampled(blocks: Iterator[np.ndarray], source_rate: int, target_rate: int, channels: int) -> Iterator[np.ndarray]:
    """``blocks`` at ``target_rate`` (pedalboard's StreamResampler: constant memory, aligned)."""
    if source_rate == target_rate:
        yield from blocks
        return
    resampler = StreamResampler(source_rate, target_rate, channels)
    for block in blocks:
        out = resampler.process(block)
        if out.shape[1]:
            yield out
    tail = resampler.process()
    if tail.shape[1]:
        yield tail
