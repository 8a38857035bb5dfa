"""Streaming integrated loudness (ITU-R BS.1770-4), fed block by block in constant memory.

The conversion measures the input and the rendered song while it streams, then matches their
loudness with one static gain. ``analysis.integrated_lufs`` (pyloudnorm, whole signal in memory)
is the reference this meter agrees with; the K-weighting biquads are pyloudnorm's own, designed
here by the same formulas (pyloudnorm itself is not imported: it loads scipy.signal, ~0.9 s).
"""

from __future__ import annotations

import math

import numpy as np

from .streaming_sos import StreamingSos

BLOCK_S = 0.4  # gating block, BS.1770-4 section 2.8
HOP_S = 0.1  # 75 % overlap between gating blocks
HOPS_PER_BLOCK = round(BLOCK_S / HOP_S)
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
# the two K-weighting stages as pyloudnorm.Meter builds them: (gain dB, Q, corner Hz, RBJ biquad type)
SHELF = (4.0, 1 / math.sqrt(2), 1500.0, "high_shelf")  # +4 dB above ~1.5 kHz (the head's acoustic effect)
HIGH_PASS = (0.0, 0.5, 38.0, "high_pass")  # the RLB weighting: a 38 Hz high-pass


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """The two K-weighting stages (high shelf +4 dB above ~1.5 kHz, 38 Hz high-pass) as SOS.

    RBJ Audio EQ Cookbook biquads (R. Bristow-Johnson), as ``pyloudnorm.IIRfilter`` designs them
    at any sample rate, each normalised by ``a0``.
    """
    return np.array([_rbj_biquad(*stage, sample_rate) for stage in (SHELF, HIGH_PASS)])


def _rbj_biquad(gain_db: float, q: float, corner_hz: float, kind: str, sample_rate: int) -> np.ndarray:
    """``(b0, b1, b2, 1, a1, a2)`` of RBJ's high shelf or high-pass: ``A = 10^(G/40)``,
    ``w0 = 2 pi f0 / fs``, ``alpha = sin(w0) / (2 Q)``, divided by ``a0``."""
    a = 10 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * (corner_hz / sample_rate)
    alpha, cos_w0 = math.sin(w0) / (2.0 * q), math.cos(w0)
    if kind == "high_shelf":
        shelf = 2 * math.sqrt(a) * alpha
        b = [
            a * ((a + 1) + (a - 1) * cos_w0 + shelf),
            -2 * a * ((a - 1) + (a + 1) * cos_w0),
            a * ((a + 1) + (a - 1) * cos_w0 - shelf),
        ]
        den = [(a + 1) - (a - 1) * cos_w0 + shelf, 2 * ((a - 1) - (a + 1) * cos_w0), (a + 1) - (a - 1) * cos_w0 - shelf]
    elif kind == "high_pass":
        b = [(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2]
        den = [1 + alpha, -2 * cos_w0, 1 - alpha]
    else:
        raise ValueError(f"unknown biquad kind {kind!r}")
    return np.array(b + den) / den[0]


def _lufs(mean_square: float) -> float:
    """BS.1770-4 eq. 2: L = -0.691 + 10 log10(sum over channels of the mean square)."""
    return -0.691 + 10 * math.log10(mean_square) if mean_square > 0 else -math.inf


class LoudnessMeter:
    """Gated integrated loudness of a stream of ``(channels, frames)`` blocks.

    Per 100 ms hop it keeps one number (the K-weighted energy summed over channels: 36 000
    floats for an hour), so memory does not grow with the audio. 400 ms gating blocks are the
    means of 4 consecutive hops; the absolute (-70 LUFS) and relative (-10 LU) gates of
    BS.1770-4 section 2.8 are applied when :meth:`integrated_lufs` is asked.
    """

    def __init__(self, sample_rate: int, channels: int):
        self._k_weighting = StreamingSos(k_weighting_sos(sample_rate), channels)
        self._hop_frames = max(1, round(HOP_S * sample_rate))
        self._hop_energy = 0.0  # energy of the unfinished hop so far
        self._hop_filled = 0  # frames in the unfinished hop
        self._hop_mean_squares: list[float] = []

    def add(self, block: np.ndarray) -> np.ndarray:
        """Measures ``block`` (channels, frames); returns its K-weighted squares summed over the
        channels, per frame."""
        weighted = self._k_weighting(block)
        squares = np.einsum("cn,cn->n", weighted, weighted)  # sum over channels, per frame
        start = 0
        while start < squares.size:
            take = min(self._hop_frames - self._hop_filled, squares.size - start)
            self._hop_energy += float(squares[start : start + take].sum())
            self._hop_filled += take
            start += take
            if self._hop_filled == self._hop_frames:
                self._hop_mean_squares.append(self._hop_energy / self._hop_frames)
                self._hop_energy, self._hop_filled = 0.0, 0
        return squares

    def integrated_lufs(self) -> float:
        """Integrated loudness in LUFS (-inf for silence or less than one 400 ms block)."""
        hops = np.asarray(self._hop_mean_squares)
        if hops.size < HOPS_PER_BLOCK:
            return -math.inf
        blocks = np.lib.stride_tricks.sliding_window_view(hops, HOPS_PER_BLOCK).mean(axis=-1)
        above_absolute = blocks[blocks > 10 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10)]
        if above_absolute.size == 0:
            return -math.inf
        relative_gate = _lufs(float(above_absolute.mean())) + RELATIVE_GATE_LU
        gated = above_absolute[above_absolute > 10 ** ((relative_gate + 0.691) / 10)]
        return _lufs(float(gated.mean()))
