"""Where a preview is cut from: the song's loudest stretch of ``PREVIEW_S`` seconds.

The song's short-term loudness (ITU-R BS.1770-4 K-weighting, EBU Tech 3341's short-term
window of 3 s, computed every 100 ms) is followed while the song is decoded once for analysis;
the preview is the ``PREVIEW_S`` window whose mean short-term loudness (in LUFS) is highest,
so a window that is loud throughout beats one with a single loud moment. Its start is a whole
number of 100 ms hops into the song; a song shorter than the window is previewed whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .decode import BLOCK_FRAMES, open_audio
from .loudness import k_weighting_sos
from .streaming_sos import StreamingSos

PREVIEW_S = 30.0
SHORT_TERM_S = 3.0
HOP_S = 0.1
# the preview's own edges: it starts and ends mid-song, so its level rises and falls over this
EDGE_RAMP_S = 0.05


class LoudnessTrack:
    """K-weighted energy (summed over channels) per ``HOP_S`` of a stream of ``(channels, frames)`` blocks."""

    def __init__(self, sample_rate: int, channels: int):
        self.sample_rate = int(sample_rate)
        self._k_weighting = StreamingSos(k_weighting_sos(self.sample_rate), channels)
        self.hop_frames = max(1, round(HOP_S * self.sample_rate))
        self._pending = np.zeros(0)
        self._hops: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        weighted = self._k_weighting(np.asarray(block, dtype=np.float32))
        squares = np.concatenate([self._pending, np.einsum("cn,cn->n", weighted, weighted)])
        whole = squares.size // self.hop_frames * self.hop_frames
        self._hops.append(squares[:whole].reshape(-1, self.hop_frames).mean(axis=1))
        self._pending = squares[whole:]

    def hop_energies(self) -> np.ndarray:
        return np.concatenate(self._hops) if self._hops else np.zeros(0)


def loudest_window_s(hop_energies: np.ndarray, window_s: float = PREVIEW_S) -> float:
    """Start (seconds) of the ``window_s`` window of highest mean short-term loudness (module doc)."""
    window_hops = round(window_s / HOP_S)
    short_hops = round(SHORT_TERM_S / HOP_S)
    if hop_energies.size <= window_hops or hop_energies.size < short_hops:
        return 0.0
    short_term = np.convolve(hop_energies, np.ones(short_hops) / short_hops, mode="valid")  # starts at hop i
    short_term_lufs = -0.691 + 10 * np.log10(np.maximum(short_term, 1e-12))
    # a window of window_hops hops starting at hop i holds the short-term blocks starting at i .. i+W-S
    per_window = window_hops - short_hops + 1
    sums = np.convolve(short_term_lufs, np.ones(per_window), mode="valid")
    return float(np.argmax(sums)) * HOP_S


def preview_start_s(path: str | Path) -> float:
    """Where ``convert --preview`` cuts the song at ``path`` from (seconds): its loudest window,
    from a pass of its own over the song (``convert`` follows the loudness in its analysis pass)."""
    with open_audio(path) as source:
        track = LoudnessTrack(source.info.sample_rate, source.info.channels)
        for block in source.blocks(BLOCK_FRAMES):
            track.add(block)
    return loudest_window_s(track.hop_energies())


def edge_ramps(first: int, frames: int, window_start: int, window_frames: int, sample_rate: int) -> np.ndarray:
    """Gains (float32) of samples ``first .. first+frames`` (absolute) under the preview's edge ramps:
    a raised cosine up over ``EDGE_RAMP_S`` from the window's start, down to its end."""
    ramp = max(1, round(EDGE_RAMP_S * sample_rate))
    index = np.arange(first, first + frames, dtype=np.float64)
    into = np.clip((index - window_start + 0.5) / ramp, 0.0, 1.0)
    left = np.clip((window_start + window_frames - index - 0.5) / ramp, 0.0, 1.0)
    return ((0.5 - 0.5 * np.cos(np.pi * into)) * (0.5 - 0.5 * np.cos(np.pi * left))).astype(np.float32)
