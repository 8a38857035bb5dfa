"""Streaming audio decoding and encoding: blocks in, blocks out, memory flat however long the song.

Reading
- MP3, WAV, FLAC, OGG/Vorbis, AIFF: ``pedalboard.io.AudioFile``, read block by block.
- M4A/AAC, Opus, WebM, anything else ffmpeg reads, and files with more than two channels:
  the ffmpeg binary of the ``imageio-ffmpeg`` package (no system ffmpeg) as a subprocess that
  pipes 32-bit float PCM, after probing rate and channels. pydub is not used: it decodes the
  whole song into memory.
- pedalboard pads a damaged file with silence instead of failing, so a cut-off download would
  convert "successfully". The cheap checks the formats allow catch that: the declared size of a
  WAV/AIFF data chunk, the byte count in an MP3's Xing/Info header, a FLAC's MD5 signature.
- pedalboard's MP3 reader returns the encoder delay and padding as audio; the LAME/Info tag
  says how much there is, and it is trimmed so a decoded MP3 has exactly the encoded frames.

Writing (pedalboard): MP3 (LAME, 320 kbps CBR by default, or VBR "V0"), FLAC, WAV, OGG/Vorbis.
Lossless outputs keep the source's resolution: 16-bit stays 16-bit (written with TPDF dither
from a fixed seed), 24-bit stays 24-bit, float stays float (32-bit float WAV; FLAC holds at most
24 bits). Lossy decoders deliver float, so a decoded MP3 becomes a float WAV or a 24-bit FLAC.
"""
from __future__ import annotations

import hashlib
import re
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import mutagen.flac
import mutagen.mp3
import numpy as np
from pedalboard.io import AudioFile, StreamResampler, get_supported_read_formats

BLOCK_FRAMES = 65536
OUTPUT_FORMATS = ("mp3", "flac", "wav", "ogg")
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_CBR_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_VBR_QUALITIES = tuple(f"V{level}" for level in range(10))
DEFAULT_MP3_QUALITY = "320"
OGG_KBPS = 320
# libmpg123 / minimp3 decoder delay: an MP3 decoder's output starts this many frames after the
# encoder's (LAME's documented 528 + 1); the LAME tag's encoder delay comes on top of it
MP3_DECODER_DELAY_FRAMES = 529
DITHER_SEED = 0x8D
_NATIVE_FORMATS = frozenset(get_supported_read_formats())
_LOSSY_NATIVE_FORMATS = frozenset({".mp3", ".ogg"})


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
    decoder: str          # "pedalboard" or "ffmpeg"


# ---------------------------------------------------------------- readers

class AudioSource:
    """A decoded stream: :attr:`info`, then :meth:`blocks` of float32 ``(channels, frames)``."""

    info: AudioInfo

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the decoder (also done when :meth:`blocks` is exhausted or closed)."""

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_audio(path: str | Path) -> AudioSource:
    """Open ``path`` for block-wise decoding; :class:`AudioInputError` if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise AudioInputError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioInputError(path, "the file is empty")
    if path.suffix.lower() in _NATIVE_FORMATS:
        try:
            native = AudioFile(str(path))
        except (ValueError, RuntimeError, OSError):
            native = None   # wrong extension or a variant pedalboard lacks: ffmpeg may know it
        if native is not None and native.num_channels <= 2:
            return _PedalboardSource(path, native)
        if native is not None:
            native.close()
    return _FfmpegSource(path)


class _PedalboardSource(AudioSource):
    def __init__(self, path: Path, native: AudioFile):
        self._path = path
        self._file = native
        suffix = path.suffix.lower()
        self._skip_frames, self._keep_frames = 0, None   # None: all the decoder delivers
        self._md5: tuple[int, int] | None = None          # (signature, bits) of a FLAC file
        try:
            if suffix == ".mp3":
                self._skip_frames, self._keep_frames = _mp3_gapless_frames(path)
            elif suffix in (".wav", ".aif", ".aiff", ".bwf"):
                _check_chunk_size(path)
            elif suffix == ".flac":
                self._md5 = _flac_md5_signature(path)
        except AudioInputError:
            native.close()
            raise
        frames = self._keep_frames if self._keep_frames is not None else int(native.frames)
        sample_format = "float32" if suffix in _LOSSY_NATIVE_FORMATS else _sample_format(native.file_dtype)
        self.info = AudioInfo(int(round(native.samplerate)), native.num_channels, frames, sample_format,
                              "pedalboard")

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        try:
            to_skip = self._skip_frames
            remaining = self._keep_frames if self._keep_frames is not None else sys.maxsize
            digest = hashlib.md5(usedforsecurity=False) if self._md5 else None
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
                if digest is not None:
                    digest.update(_flac_md5_bytes(block, self._md5[1]))
                yield block
            if delivered == 0:
                raise AudioInputError(self._path, "the file contains no audio")
            if digest is not None and int.from_bytes(digest.digest(), "big") != self._md5[0]:
                raise AudioInputError(self._path, "the FLAC data is damaged or cut short "
                                                  "(its MD5 checksum does not match)")
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()


class _FfmpegSource(AudioSource):
    """Decodes with the imageio-ffmpeg binary; more than two channels are downmixed to stereo."""

    def __init__(self, path: Path):
        self._path = path
        self._process: subprocess.Popen | None = None
        probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                               capture_output=True, text=True, errors="replace", timeout=120)
        self.info = _parse_probe(path, probe.stderr)

    def blocks(self, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        channels = self.info.channels
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(self._path),
                   "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le",
                   "-ac", str(channels), "-ar", str(self.info.sample_rate), "-"]
        with tempfile.TemporaryFile() as errors:
            self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors,
                                             stdin=subprocess.DEVNULL)
            try:
                delivered = 0
                frame_bytes = 4 * channels
                while True:
                    data = self._process.stdout.read(block_frames * frame_bytes)
                    usable = len(data) - len(data) % frame_bytes
                    if usable == 0:
                        break
                    block = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels).T
                    delivered += block.shape[1]
                    yield np.ascontiguousarray(block, dtype=np.float32)
                if self._process.wait() != 0:
                    errors.seek(0)
                    lines = errors.read().decode("utf-8", "replace").strip().splitlines()
                    raise AudioInputError(self._path, "ffmpeg could not decode it"
                                          + (f" ({lines[-1].strip()})" if lines else ""))
                if delivered == 0:
                    raise AudioInputError(self._path, "the file contains no audio")
            finally:
                self.close()

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._process is not None:
            self._process.wait()
            self._process.stdout.close()


_STREAM = re.compile(r"Stream #\S+: Audio: (?P<codec>[^,]+), (?P<rate>\d+) Hz, (?P<layout>[^,]+), (?P<format>[^,\n]+)")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _parse_probe(path: Path, stderr: str) -> AudioInfo:
    """Rate, channels and resolution of the first audio stream from ``ffmpeg -i``'s report."""
    stream = _STREAM.search(stderr)
    if stream is None:
        if "Invalid data found" in stderr or "Error opening input" in stderr:
            raise AudioInputError(path, "not an audio file SurroundYou can read "
                                        "(MP3, WAV, FLAC, OGG, AIFF, M4A/AAC, Opus, WebM)")
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


# ---------------------------------------------------------------- integrity checks

def _mp3_gapless_frames(path: Path) -> tuple[int, int | None]:
    """(frames to skip, frames to keep or None for all) of an MP3, from its Xing/Info + LAME tag.

    LAME tag layout (Gabriel Bouvigne, "Mp3 info tag rev 1 specifications"): after the Xing
    fields, 9 bytes of encoder name, then at byte 21 two 12-bit numbers: encoder delay and
    padding in frames. Audio = Xing frame count x frames per MP3 frame - delay - padding, and it
    starts ``delay + 529`` frames into the decoder's output. Also rejects a file whose Xing byte
    count says it was cut short. Without a tag (or one mutagen cannot parse) nothing is trimmed.
    """
    try:
        info = mutagen.mp3.MP3(path).info
    except mutagen.MutagenError:
        return 0, None
    header = _read_xing(path, info)
    if header is None:
        return 0, None
    xing_frames, xing_bytes, lame = header
    available = path.stat().st_size - info.frame_offset
    if xing_bytes and xing_bytes - available > 4096:
        expected_s = info.length
        raise AudioInputError(path, f"the file is cut short: it should hold {expected_s:.1f} s of audio but "
                                    f"the data stops after about {expected_s * available / xing_bytes:.1f} s")
    if lame is None or xing_frames is None:
        return 0, None
    delay, padding = lame
    frames_per_mp3_frame = 1152 if info.version == 1 else 576
    keep = xing_frames * frames_per_mp3_frame - delay - padding
    if keep <= 0:
        return 0, None
    return delay + MP3_DECODER_DELAY_FRAMES, keep


def _read_xing(path: Path, info: mutagen.mp3.MPEGInfo) -> tuple[int | None, int | None, tuple[int, int] | None] | None:
    """(frame count, byte count, (encoder delay, padding) or None) from the first frame's Xing header."""
    side_info = (32 if info.mode != mutagen.mp3.MONO else 17) if info.version == 1 else \
                (17 if info.mode != mutagen.mp3.MONO else 9)
    with path.open("rb") as handle:
        handle.seek(info.frame_offset + 4 + side_info)
        data = handle.read(8 + 4 + 4 + 100 + 4 + 24)
    if data[:4] not in (b"Xing", b"Info") or len(data) < 8:
        return None
    flags = struct.unpack(">I", data[4:8])[0]
    position, frames, size = 8, None, None
    if flags & 1:
        frames = struct.unpack(">I", data[position:position + 4])[0]
        position += 4
    if flags & 2:
        size = struct.unpack(">I", data[position:position + 4])[0]
        position += 4
    position += 100 if flags & 4 else 0
    position += 4 if flags & 8 else 0
    tag = data[position:position + 24]
    if len(tag) < 24 or not tag.startswith((b"LAME", b"Lavc", b"Lavf", b"L3.99")):
        return frames, size, None
    packed = int.from_bytes(tag[21:24], "big")
    return frames, size, (packed >> 12, packed & 0xFFF)


def _check_chunk_size(path: Path) -> None:
    """Reject a WAV/AIFF whose audio data chunk is shorter on disk than its header declares."""
    with path.open("rb") as handle:
        head = handle.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            endian, data_id = "<", b"data"
        elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            endian, data_id = ">", b"SSND"
        else:
            return
        file_size = path.stat().st_size
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return
            chunk_id, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if chunk_id == data_id:
                available = file_size - handle.tell()
                if size not in (0, 0xFFFFFFFF) and available < size:
                    raise AudioInputError(path, f"the file is cut short: its audio data should be {size} bytes "
                                                f"but only {available} are there")
                return
            handle.seek(size + (size & 1), 1)


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

def output_sample_rate(fmt: str, sample_rate: int) -> int:
    """The rate a format can carry: the input's, except MP3 beyond its nine rates.

    MP3 stops at 48 kHz: 88.2/176.4 kHz go to 44.1 kHz, other rates above 48 kHz to 48 kHz,
    an odd rate below to the next MP3 rate up (8 kHz at least).
    """
    if fmt != "mp3" or sample_rate in MP3_SAMPLE_RATES:
        return sample_rate
    if sample_rate > MP3_SAMPLE_RATES[-1]:
        return 44100 if sample_rate % 44100 == 0 else 48000
    return next(rate for rate in MP3_SAMPLE_RATES if rate >= sample_rate)


def resampled(blocks: Iterator[np.ndarray], source_rate: int, target_rate: int,
              channels: int) -> Iterator[np.ndarray]:
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


# ---------------------------------------------------------------- writers

def output_bit_depth(fmt: str, sample_format: str) -> int | None:
    """Bits per sample a lossless output keeps from a source of ``sample_format`` (None: lossy)."""
    if fmt not in ("wav", "flac"):
        return None
    if sample_format == "int16":
        return 16
    if fmt == "flac" or sample_format == "int24":
        return 24
    return 32   # float WAV


def check_mp3_quality(quality: str | int) -> str:
    """Normalise an MP3 quality: CBR kbps (``320``, ``"192"``) or LAME VBR (``"V0"``)."""
    text = str(quality).upper()
    if text in MP3_VBR_QUALITIES or (text.isdigit() and int(text) in MP3_CBR_KBPS):
        return text
    raise ValueError(f"MP3 quality must be a bitrate in kbps ({', '.join(map(str, MP3_CBR_KBPS))}) "
                     f"or a LAME VBR level V0-V9, got {quality!r}")


class AudioWriter:
    """Writes float32 ``(channels, frames)`` blocks to ``path`` in format ``fmt``."""

    def __init__(self, path: str | Path, fmt: str, sample_rate: int, channels: int, *,
                 bit_depth: int | None = None, mp3_quality: str | int = DEFAULT_MP3_QUALITY):
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
        quality: str | int | None = None
        if fmt == "mp3":
            quality = check_mp3_quality(mp3_quality)
            quality = int(quality) if quality.isdigit() else quality
        elif fmt == "ogg":
            quality = OGG_KBPS
        self.bit_depth = bit_depth or 16
        self._dither = np.random.default_rng(DITHER_SEED) if bit_depth == 16 else None
        self._file = AudioFile(str(path), "w", sample_rate, channels, bit_depth=self.bit_depth, quality=quality)

    def write(self, block: np.ndarray) -> None:
        if self._dither is not None:
            block = self._to_int16(block)
        self._file.write(block)

    def _to_int16(self, block: np.ndarray) -> np.ndarray:
        """TPDF dither (sum of two uniform +-0.5 LSB draws: +-1 LSB triangular), then round.

        Lipshitz, Wannamaker & Vanderkooy, "Quantization and Dither: A Theoretical Survey",
        JAES 40(5), 1992: TPDF makes the error's first two moments independent of the signal.
        Scale 32767 matches pedalboard's 16-bit reader; integers are written exactly.
        """
        noise = self._dither.random(block.shape) - self._dither.random(block.shape)
        scaled = np.round(block * 32767.0 + noise)
        return np.clip(scaled, -32768, 32767).astype(np.int16)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
