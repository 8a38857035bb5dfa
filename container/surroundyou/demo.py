"""A synthetic demo song, and ``python -m surroundyou.demo OUT_DIR`` to hear SurroundYou at once.

The song is made in code (no audio file ships with the project): 120 bpm, an Am-F-C-G pad with
a slow stereo chorus, bass, kick, snare, hi-hats and a pentatonic lead; about -15 LUFS with
true peaks near -1.4 dBTP. Every sample is a function of its index, so the song can be made
block by block in constant memory (the benchmarks make an hour of it) and any block size gives
the same samples.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

BEAT_S = 0.5
BAR_S = 4 * BEAT_S
# chord roots (Hz) and whether the third is minor: Am F C G
CHORDS = ((220.0, True), (174.61, False), (261.63, False), (196.0, False))
PENTATONIC = (440.0, 523.25, 587.33, 659.26, 783.99, 880.0)
DEMO_SECONDS = 20.0


def song_blocks(
    duration_s: float, sample_rate: int = 44100, block_frames: int = 65536, seed: int = 8
) -> Iterator[np.ndarray]:
    """The demo song as float32 ``(2, frames)`` blocks; deterministic for a given seed."""
    noise = np.random.default_rng(seed).standard_normal(int(BEAT_S * sample_rate)).astype(np.float64)
    total = int(round(duration_s * sample_rate))
    for start in range(0, total, block_frames):
        index = np.arange(start, min(start + block_frames, total))
        yield _mix(index / sample_rate, noise, sample_rate).astype(np.float32)


def _mix(t: np.ndarray, noise: np.ndarray, sample_rate: int) -> np.ndarray:
    bar = (t // BAR_S).astype(int)
    in_bar = t - bar * BAR_S
    beat = (t // BEAT_S).astype(int)
    in_beat = t - beat * BEAT_S
    root = np.array([chord[0] for chord in CHORDS])[bar % 4]
    minor = np.array([chord[1] for chord in CHORDS])[bar % 4]
    left, right = np.zeros_like(t), np.zeros_like(t)

    # pad: root, third, fifth with 3 harmonics; the right channel detuned 0.4 Hz (slow chorus)
    pad_envelope = _fades(in_bar, BAR_S, 0.08) * np.exp(-in_bar / 4.0)
    for ratio in (np.ones_like(t), np.where(minor, 2 ** (3 / 12), 2 ** (4 / 12)), np.full_like(t, 1.5)):
        for harmonic, weight in ((1, 1.0), (2, 0.35), (3, 0.15)):
            frequency = root * ratio * harmonic
            left += 0.06 * weight * pad_envelope * np.sin(2 * np.pi * frequency * t)
            right += 0.06 * weight * pad_envelope * np.sin(2 * np.pi * (frequency + 0.4) * t)

    # bass: the chord root two octaves down, one note a beat
    bass = (
        0.22
        * _fades(in_beat, BEAT_S, 0.01)
        * np.exp(-in_beat / 0.4)
        * (np.sin(2 * np.pi * root / 4 * t) + 0.3 * np.sin(2 * np.pi * root / 2 * t))
    )
    # kick: a 130 -> 50 Hz chirp each beat, phase = 2 pi (50 t + 80 tau (1 - e^(-t/tau)))
    kick = (
        0.5 * np.exp(-in_beat / 0.12) * np.sin(2 * np.pi * (50 * in_beat + 80 * 0.03 * (1 - np.exp(-in_beat / 0.03))))
    )
    left += bass + kick
    right += bass + kick

    # snare on beats 2 and 4 (a little left), hi-hats on every eighth (right)
    hit = noise[np.minimum((in_beat * sample_rate).astype(int), noise.size - 1)]
    snare = (beat % 2 == 1) * np.exp(-in_beat / 0.09) * (0.12 * hit + 0.1 * np.sin(2 * np.pi * 185 * in_beat))
    eighth = in_beat % (BEAT_S / 2)
    hat_noise = (
        noise[np.minimum((eighth * sample_rate).astype(int) + 1, noise.size - 1)]
        - noise[np.minimum((eighth * sample_rate).astype(int), noise.size - 1)]
    )
    hat = 0.05 * np.exp(-eighth / 0.025) * hat_noise
    left += 0.6 * snare + 0.3 * hat
    right += 0.4 * snare + 0.7 * hat

    # lead: a pentatonic note per beat (a fixed pseudo-random walk), odd harmonics, 5 Hz vibrato
    note = np.array(PENTATONIC)[(beat * 7 + (beat // 8) * 3) % len(PENTATONIC)]
    phase = 2 * np.pi * note * t + 0.3 * np.sin(2 * np.pi * 5 * t)
    lead = 0.07 * _fades(in_beat, BEAT_S, 0.02) * (np.sin(phase) + np.sin(3 * phase) / 3 + np.sin(5 * phase) / 5)
    left += 0.65 * lead
    right += 0.35 * lead
    return np.stack([left, right])


def _fades(position_s: np.ndarray, length_s: float, fade_s: float) -> np.ndarray:
    """1 inside a note, linear fades of ``fade_s`` at both ends (no clicks at note changes)."""
    return np.clip(np.minimum(position_s, length_s - position_s) / fade_s, 0.0, 1.0)


def write_song(
    path: str | Path, duration_s: float, sample_rate: int = 44100, *, quality: str | int | None = None
) -> Path:
    """Write the demo song to ``path`` (format from the extension) block by block."""
    path = Path(path)
    with AudioFile(str(path), "w", sample_rate, 2, quality=quality) as out:
        for block in song_blocks(duration_s, sample_rate):
            out.write(block)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m surroundyou.demo", description="Synthesise a 20 s demo song and convert it to 8D audio."
    )
    parser.add_argument("out_dir", type=Path, help="folder for demo-song.wav and demo-song.8d.mp3")
    args = parser.parse_args(argv)
    from surroundyou.allocator import keep_freed_memory
    from surroundyou.engine.convert import convert_file
    from surroundyou.job_options import render_options_for

    keep_freed_memory()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    song = write_song(args.out_dir / "demo-song.wav", DEMO_SECONDS)
    result = args.out_dir / "demo-song.8d.mp3"
    report = convert_file(song, result, render_options_for({}))
    print(f"demo song:  {song.resolve()}")
    print(
        f"8D version: {result.resolve()}  ({report.duration_s:.0f} s, {report.output_lufs:.1f} LUFS, "
        f"true peak {report.true_peak_text}) - listen on headphones"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
