"""The DESIGN's sound promises measured on real music: loudness, true peak and timbre of conversions.

    .venv/bin/python bench/bench_real_songs.py   (or `make bench`; ~5 minutes, the first run
                                                  also downloads ~60 MB of Debian packages)

Input: 60-second excerpts (from 15 s in, 44.1 kHz stereo) of six game-music tracks that Debian
ships (GPL): extremetuxracer-data's calmrace-ks, credits1-cp, freezingpoint and spunkyrace-ks
(the last already mastered loud, about -8.5 LUFS), frozen-bubble-data's frozen-mainzik-1p and
introzik; fetched with ``apt-get download`` and ``dpkg-deb -x`` (as the tests fetch libmysofa's
KEMAR file) and cached in bench/.cache/real-songs. Three of them are also mastered loud, as most
released music is: raised to -8 LUFS and clipped at full scale.

Each is converted with the default preset to MP3 (320 kbps), to MP3 in HRTF mode, and to FLAC,
then decoded and measured with instruments independent of the engine, the tests' own:
- loudness: integrated, pyloudnorm (BS.1770), the result against the input (promise: within 1 LU);
- true peak: 8x with a long interpolator, ``tests/instruments.true_peak_8x_dbtp`` (<= -1 dBTP);
- timbre: the long-term 1/3-octave spectrum, 100 Hz - 12.5 kHz, both channels' power, each
  normalised to its mean, the result's against the input's; the largest difference and its band
  (within 2 dB; ``tests/integration/test_timbre.py``'s definition).
Figures are printed, never asserted: they show where the promises hold on music the tests never
render, and where a trade-off gives (README, "How quality is measured").
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404: apt-get and dpkg-deb with fixed arguments
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyloudnorm
import scipy.signal
from pedalboard.io import AudioFile

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]  # bench_convert.Figure; the tests' instruments
from bench_convert import Figure  # noqa: E402
from instruments import third_octave_levels_db, true_peak_8x_dbtp  # noqa: E402

from surroundyou.engine.convert import convert_file  # noqa: E402
from surroundyou.job_options import render_options_for  # noqa: E402

CACHE = BENCH / ".cache" / "real-songs"
SAMPLE_RATE = 44100
START_S, SECONDS = 15.0, 60.0
# (name, Debian package, file in it)
TRACKS = (
    ("calmrace", "extremetuxracer-data", "usr/share/games/etr/music/calmrace-ks.ogg"),
    ("credits", "extremetuxracer-data", "usr/share/games/etr/music/credits1-cp.ogg"),
    ("freezing", "extremetuxracer-data", "usr/share/games/etr/music/freezingpoint.ogg"),
    ("spunky", "extremetuxracer-data", "usr/share/games/etr/music/spunkyrace-ks.ogg"),
    ("fbmain", "frozen-bubble-data", "usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg"),
    ("fbintro", "frozen-bubble-data", "usr/share/games/frozen-bubble/snd/introzik.ogg"),
)
LOUD = ("calmrace", "credits", "fbmain")
LOUD_LUFS = -8.0
CONVERSIONS = (("MP3", "mp3", "spherical"), ("HRTF MP3", "mp3", "hrtf"), ("FLAC", "flac", "spherical"))


def unpacked(package: str) -> Path:
    """The files of Debian's ``package``, downloaded and unpacked once into the cache."""
    target = CACHE / package
    if target.is_dir():
        return target
    with tempfile.TemporaryDirectory() as work:
        download = ["apt-get", "download", package]
        if subprocess.run(download, cwd=work, capture_output=True).returncode != 0:  # nosec B603 B607
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)  # nosec B603 B607
            subprocess.run(download, cwd=work, check=True, capture_output=True)  # nosec B603 B607
        deb = next(Path(work).glob(f"{package}_*.deb"))
        partial = Path(work) / "x"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)  # nosec B603 B607
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.move(partial, target)
    return target


def read(path: Path) -> tuple[np.ndarray, int]:
    """``(channels, frames)`` float64 and the sample rate."""
    with AudioFile(str(path)) as source:
        return source.read(source.frames).astype(np.float64), int(source.samplerate)


def write_wav(path: Path, audio: np.ndarray) -> Path:
    with AudioFile(str(path), "w", SAMPLE_RATE, len(audio), bit_depth=32) as target:
        target.write(audio.astype(np.float32))
    return path


def excerpt(name: str, package: str, member: str) -> Path:
    """The track's cached excerpt: ``SECONDS`` from ``START_S``, at 44.1 kHz (32-bit float WAV)."""
    path = CACHE / f"{name}.wav"
    if not path.exists():
        audio, rate = read(unpacked(package) / member)
        audio = audio[:, round(START_S * rate) :]
        if rate != SAMPLE_RATE:
            audio = scipy.signal.resample_poly(audio, SAMPLE_RATE, rate, axis=-1)
        write_wav(path, audio[:, : round(SECONDS * SAMPLE_RATE)])
    return path


def mastered_loud(source: Path) -> Path:
    """``source`` raised until, clipped at full scale, it reads ``LOUD_LUFS``."""
    path = source.with_name(f"{source.stem}-loud.wav")
    if not path.exists():
        audio, _ = read(source)
        gain_db = LOUD_LUFS - lufs(audio)
        for _ in range(6):  # clipping takes loudness: raise again by what is missing
            gain_db += LOUD_LUFS - lufs(np.clip(audio * 10 ** (gain_db / 20), -1, 1))
        write_wav(path, np.clip(audio * 10 ** (gain_db / 20), -1, 1))
    return path


def lufs(audio: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(audio.T))


def long_term_db(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(centres_hz, levels)``: long-term 1/3-octave levels, both channels' power, less their mean."""
    centres_hz, levels = third_octave_levels_db(audio, SAMPLE_RATE, window_s=0.5, low_hz=100.0, high_hz=12500.0)
    level_db = 10 * np.log10((10 ** (levels / 10)).sum(axis=0).mean(axis=0))
    return centres_hz, level_db - level_db.mean()


def measured(original: np.ndarray, result: Path) -> str:
    """The result against its input: loudness difference, true peak, largest timbre difference."""
    converted, rate = read(result)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{result.name}: {rate} Hz, expected {SAMPLE_RATE}")
    centres_hz, before = long_term_db(original)
    _, after = long_term_db(converted)
    worst = int(np.argmax(np.abs(after - before)))
    return (
        f"{lufs(converted) - lufs(original):+.2f} LU, {true_peak_8x_dbtp(converted):.2f} dBTP, "
        f"timbre {abs(after[worst] - before[worst]):.2f} dB at {centres_hz[worst]:.0f} Hz"
    )


def figures() -> list[Figure]:
    sources = [excerpt(*track) for track in TRACKS]
    sources += [mastered_loud(CACHE / f"{name}.wav") for name in LOUD]
    out = CACHE / "out"
    out.mkdir(exist_ok=True)
    rows = []
    for source in sources:
        audio, _ = read(source)
        rows.append(Figure(f"{source.stem}: input", f"{lufs(audio):.2f} LUFS, {true_peak_8x_dbtp(audio):+.2f} dBTP"))
        for label, fmt, mode in CONVERSIONS:
            result = out / f"{source.stem}.{mode}.{fmt}"
            convert_file(source, result, render_options_for({"preset": "classic", "mode": mode}))
            rows.append(Figure(f"{source.stem}: {label}", measured(audio, result), "1 LU, -1 dBTP, 2 dB"))
    return rows


def main() -> int:
    for figure in figures():
        print(f"{figure.name:<24} {figure.value:<58} {figure.target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
