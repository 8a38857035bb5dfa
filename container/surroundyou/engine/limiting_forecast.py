"""How much loudness the true-peak limiter will take from a song, known before it runs.

A loud master (-10 to -7 LUFS, peaks at full scale) rendered and matched to its own loudness
has peaks over the limiter's ceiling (-1.4 dBTP lossless, -2.7 dBTP for MP3 320 kbps) much of
the time; the limiter pulls them down and with them the song's loudness: 1.2-2.4 LU quieter than
the original, which is heard at once when the page's player switches between the two. The
static gain before the limiter must therefore be the one whose *limited* result matches the
input, which depends on how the limiter will act at that gain.

That is known from the rendered song alone. In dB, the limiter's reduction at frame n for a
static gain G is ``max(0, E[n] + G - ceiling)`` (``limiter.TruePeakLimiter``: the look-ahead and
hold minima and the release at a constant rate in dB commute with a constant gain), where ``E``
is the peak envelope ``P`` (dB) released at the limiter's rate ``s`` per frame:
``E[n] = max over k <= n of (P[k] - s (n - k)) = cummax(P[k] + s k) - s n``. So one pass keeps a
histogram of ``E`` weighted by the K-weighted energy, per 1 ms tile: the tile's sample peak,
raised to the loudest tile within the look-ahead around it (where the limiter's gain glides
down before a peak and back after it) and, where the limiter holds between two peaks, to the
lesser of the loudest within the look-ahead and hold before it and the loudest within the
look-ahead before it and the next-peak reach after it; and the tile's energy. Any gain's
loudness loss is read from it:
``10 log10(sum H 10^(-max(0, E + G - ceiling) / 10) / sum H)``. The sample peak stands in for
the true peak; the gating is left out (the limited blocks are the loud ones, which the gates
keep). Measured against the limiter: within 0.1 LU on rendered loud masters, 0.2 LU on raw
clipped ones, whose peaks between samples the sample peak misses
(tests/unit/test_limiting_forecast.py).

The limiter also colours a loud song: it pulls the whole signal down under the bass notes and
drums that make its peaks, so the long-term spectrum loses bass (a real song raised to -8 LUFS:
its 125-200 Hz thirds 2.1-2.8 dB against the rest, measured on the limiter's input and output). A
second histogram keeps, over the same envelope bins, the 1/3-octave band powers of the
``band_hop_frames`` window (about 45 ms, Hann) centred nearest to each tile (they step by a
quarter of their length); any gain's band-by-band loss is read from it like the loudness loss
(``band_change_db``), and the timbre match (``timbre_match``) corrects it before the limiter.
Weighting each tile by its own power instead forecast 3.7 dB more loss at 100 Hz than measured on
a music-like mix whose clipped kicks make its peaks (the loud onsets are not where their bass
is). Counting for each tile the hop it lay in (hops end to end) spread a kick's bass over tiles
the limiter hardly touches: on a real song at -8 LUFS (calmrace) it forecast -1.55 / -1.47 /
-0.73 dB at 126 / 158 / 200 Hz against the rest, where the limiter took -2.03 / -2.68 / -2.13;
centred, -1.90 / -2.26 / -1.27. Where the gain moves fast it still puts in one third what spreads
over two, and on that music-like mix it over-reads 100 Hz by 1.8-2.9 dB (hops: 1.1-1.7), where
the limiter hardly colours it at all (the timbre match leaves that mix within 1.2 dB either way).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .limiter import HOLD_MS, LOOKAHEAD_MS, NEXT_PEAK_MS, RELEASE_DB_PER_S, sliding_extreme
from .timbre_match import CORRECTED_HZ, third_octave_bands

TILE_S = 0.001
# the envelope's histogram: BIN_DB wide bins from LOWEST_DB (everything quieter is never limited
# at a gain the forecast allows) to HIGHEST_DB
BIN_DB = 0.05
LOWEST_DB = -60.0
HIGHEST_DB = 40.0
# the make-up over the plain loudness match is raised in MAKEUP_STEP_DB steps while a dB of it
# still brings MIN_LU_PER_DB of loudness (beyond, the limiter would mostly flatten the music), and
# never past MAX_MAKEUP_DB
MAKEUP_STEP_DB = 0.1
MIN_LU_PER_DB = 0.15
MAX_MAKEUP_DB = 4.0
SILENT_DB = -300.0  # the peak of a silent tile, in dB
# the hops whose band powers the tiles in them count: long enough to resolve the thirds from
# 100 Hz, short enough to follow a drum
BAND_HOP_S = 0.045
# and stepped by a quarter of their length, so a tile counts the window centred within 6 ms of it
WINDOWS_PER_HOP = 4


def band_hop_frames(sample_rate: int) -> int:
    """The power of two nearest ``BAND_HOP_S`` at ``sample_rate`` (2048 at 44.1 and 48 kHz)."""
    return 2 ** round(math.log2(BAND_HOP_S * sample_rate))


class LimitingForecast:
    """Fed the rendered song block by block (and its K-weighted energy per frame, as the
    loudness meter computes it); then :meth:`gain_db` gives the static gain whose limited result
    has the input's loudness, and :meth:`band_change_db` the colour the limiter gives it there.
    Constant memory: two histograms. ``bands=False`` keeps the loudness histogram alone, for a
    forecast wanted only for its gain (the band powers are most of the work)."""

    def __init__(self, sample_rate: int, bands: bool = True):
        self._bands = bands
        self._tile = max(1, round(TILE_S * sample_rate))
        self._release_db = RELEASE_DB_PER_S * self._tile / sample_rate  # per tile
        # the limiter's gain glides down over its look-ahead before a peak and back over as many
        # frames after it, and holds between peaks (see add)
        self._ahead = max(1, round(LOOKAHEAD_MS / 1000 / TILE_S))
        self._hold = round(HOLD_MS / 1000 / TILE_S)
        self._next_peak = max(self._ahead, round(NEXT_PEAK_MS / 1000 / TILE_S))
        self._behind = self._ahead + self._hold
        self._levels_db = LOWEST_DB + BIN_DB * np.arange(round((HIGHEST_DB - LOWEST_DB) / BIN_DB) + 1)  # bin centres
        self._histogram = np.zeros(self._levels_db.size)
        self._envelope_db = SILENT_DB  # E of the last tile counted
        self._pending_peaks = np.zeros(0, dtype=np.float32)  # frames of an unfinished tile
        self._pending_energies = np.zeros(0)
        # the last tiles seen: their reach is not complete yet (peak dB, energy)
        self._recent_peak_db = np.full(self._behind + self._next_peak, SILENT_DB)
        self._recent_energies = np.zeros(self._behind + self._next_peak)
        # the band histogram (envelope bins x bands): each hop's bins summed into its bands
        self._hop = band_hop_frames(sample_rate)
        freqs_hz = np.fft.rfftfreq(self._hop, 1 / sample_rate)
        self.centres_hz, self._band_matrix = third_octave_bands(freqs_hz, sample_rate, CORRECTED_HZ)
        self._hop_window = np.hanning(self._hop).astype(np.float32)
        self._step = self._hop // WINDOWS_PER_HOP
        self._last_frames: np.ndarray | None = None  # the last block's last half hop
        self._band_histogram = np.zeros((self._levels_db.size, self.centres_hz.size))
        self._recent_bands = np.zeros((self._behind + self._next_peak, self.centres_hz.size))

    def add(self, block: np.ndarray, energies: np.ndarray) -> None:
        """``block`` (channels, frames) and ``energies`` (frames: the K-weighted squares summed
        over the channels)."""
        pending = self._pending_peaks.size
        peaks = np.concatenate([self._pending_peaks, np.max(np.abs(block), axis=0)])
        energies = np.concatenate([self._pending_energies, energies])
        tiles = peaks.size // self._tile
        whole = tiles * self._tile
        self._pending_peaks, self._pending_energies = peaks[whole:], energies[whole:]
        if tiles == 0:
            return
        tile_peaks = peaks[:whole].reshape(tiles, self._tile).max(axis=1)
        peak_db = np.r_[
            self._recent_peak_db, 20 * np.log10(np.maximum(tile_peaks, 10 ** (SILENT_DB / 20)), dtype=np.float64)
        ]
        tile_energies = np.r_[self._recent_energies, energies[:whole].reshape(tiles, self._tile).sum(axis=1)]
        ahead, hold, next_peak = self._ahead, self._hold, self._next_peak
        kept = self._behind + next_peak
        self._recent_peak_db, self._recent_energies = peak_db[-kept:], tile_energies[-kept:]
        # tiles c = behind .. len - next_peak - 1 of these are counted now: c is reduced as much
        # as the loudest tile within the look-ahead around it, and where the limiter holds (a
        # peak within the look-ahead and hold before c, another within the look-ahead before c
        # and the next-peak reach after it), as the lesser of the two
        near = sliding_extreme(peak_db[hold : hold + tiles + 2 * ahead], 2 * ahead + 1, np.maximum)
        held_from = sliding_extreme(peak_db[: tiles + ahead + hold], ahead + hold + 1, np.maximum)
        next_one = sliding_extreme(peak_db[hold : hold + tiles + ahead + next_peak], ahead + next_peak + 1, np.maximum)
        reached = np.maximum(near, np.minimum(held_from, next_one))
        ramp = self._release_db * np.arange(tiles)
        released = np.maximum.accumulate(reached + ramp) - ramp
        envelope = np.maximum(released, self._envelope_db - self._release_db * np.arange(1, tiles + 1))
        self._envelope_db = float(envelope[-1])
        bins = np.clip(np.rint((envelope - LOWEST_DB) / BIN_DB), 0, self._histogram.size - 1).astype(np.intp)
        counted = tile_energies[self._behind : self._behind + tiles]
        self._histogram += np.bincount(bins, weights=counted, minlength=self._histogram.size)
        if self._bands:
            self._add_bands(block, bins, pending)

    def _add_bands(self, block: np.ndarray, bins: np.ndarray, pending: int) -> None:
        """Counts the band powers of ``block``'s tiles (each that of the window centred nearest to
        where it starts) in the envelope ``bins`` of the tiles counted now, one a tile (``pending``
        frames of the first tile came before ``block``)."""
        window_of_tile = np.maximum(self._tile * np.arange(bins.size) - pending, 0) // self._step
        tile_bands = np.concatenate([self._recent_bands, self._centred_band_powers(block)[window_of_tile]])
        self._recent_bands = tile_bands[-(self._behind + self._next_peak) :]
        bands = self.centres_hz.size
        self._band_histogram += np.bincount(
            (bins[:, np.newaxis] * bands + np.arange(bands)).ravel(),
            weights=tile_bands[self._behind : self._behind + bins.size].ravel(),
            minlength=self._band_histogram.size,
        ).reshape(self._band_histogram.shape)

    def _centred_band_powers(self, block: np.ndarray) -> np.ndarray:
        """``(windows, bands)``: the band powers of ``_hop``-long Hann windows centred every ``_step``
        frames of ``block`` (on its frames ``_step // 2``, ``_step * 3 // 2``...), the last block's
        end before it and silence after it (the next block's start is not known yet)."""
        half, frames = self._hop // 2, block.shape[1]
        count = -(-frames // self._step)
        padded = np.zeros((block.shape[0], count * self._step + self._hop), dtype=np.float32)
        if self._last_frames is not None:
            padded[:, :half] = self._last_frames
        padded[:, half : half + frames] = block
        self._last_frames = padded[:, frames : frames + half].copy()
        starts = self._step // 2 + self._step * np.arange(count)
        windows = np.lib.stride_tricks.sliding_window_view(padded, self._hop, axis=1)[:, starts]
        spectra = scipy.fft.rfft(windows * self._hop_window, axis=-1)
        return (spectra.real**2 + spectra.imag**2).sum(axis=0) @ self._band_matrix

    def loss_db(self, gain_db: float, ceiling_dbtp: float) -> float:
        """The loudness (dB, <= 0) the limiter takes at a static gain ``gain_db``: exactly 0 where
        no moment reaches the ceiling."""
        total = self._histogram.sum()
        reduction = self._levels_db + gain_db - ceiling_dbtp
        reduced = reduction > 0
        if total <= 0 or not np.any(self._histogram[reduced]):
            return 0.0
        taken = float(np.dot(self._histogram[reduced], 1 - 10 ** (-reduction[reduced] / 10)))
        return 10 * math.log10(1 - taken / total)

    def band_change_db(self, gain_db: float, ceiling_dbtp: float) -> np.ndarray:
        """How much each band (``centres_hz``) of the song's long-term spectrum the limiter takes
        at a static gain ``gain_db`` (dB, <= 0), as :meth:`loss_db` does the loudness; a band the
        hops cannot resolve (under ~50 Hz at 44.1 kHz) is read between its neighbours."""
        if not self._bands:
            raise ValueError("this forecast was made without the band powers (bands=False)")
        total = self._band_histogram.sum(axis=0)
        reduction = self._levels_db + gain_db - ceiling_dbtp
        reduced = reduction > 0
        if not np.any(self._band_histogram[reduced]):
            return np.zeros(self.centres_hz.size)
        read = total > 0
        taken = (1 - 10 ** (-reduction[reduced] / 10)) @ self._band_histogram[reduced]
        change_db = 10 * np.log10(1 - taken[read] / total[read])
        return np.interp(np.log(self.centres_hz), np.log(self.centres_hz[read]), change_db)

    def gain_db(self, matched_gain_db: float, ceiling_dbtp: float) -> float:
        """The static gain whose limited result has the input's loudness: the least ``G`` at or
        above ``matched_gain_db`` (input loudness - rendered loudness) with
        ``G + loss(G) >= matched_gain_db``. ``G + loss(G)`` never falls as ``G`` grows, but it
        flattens once most of the energy is limited (each dB more mostly deepens the limiting):
        the gain stops rising where a dB more would bring less than ``MIN_LU_PER_DB``, and at
        ``MAX_MAKEUP_DB`` over the match."""
        if self.loss_db(matched_gain_db, ceiling_dbtp) == 0.0:
            return matched_gain_db  # the limiter will not touch it
        gain = matched_gain_db
        heard = gain + self.loss_db(gain, ceiling_dbtp)
        while gain < matched_gain_db + MAX_MAKEUP_DB - 1e-9:
            louder = gain + MAKEUP_STEP_DB
            heard_louder = louder + self.loss_db(louder, ceiling_dbtp)
            if heard_louder >= matched_gain_db:
                return self._reaching(gain, louder, matched_gain_db, ceiling_dbtp)
            if heard_louder - heard < MIN_LU_PER_DB * MAKEUP_STEP_DB:
                return gain
            gain, heard = louder, heard_louder
        return gain

    def _reaching(self, low: float, high: float, heard_db: float, ceiling_dbtp: float) -> float:
        """The least gain in ``[low, high]`` with ``G + loss(G) >= heard_db`` (bisection; the
        bound holds at ``high``)."""
        for _ in range(30):
            middle = (low + high) / 2
            if middle + self.loss_db(middle, ceiling_dbtp) >= heard_db:
                high = middle
            else:
                low = middle
        return high
