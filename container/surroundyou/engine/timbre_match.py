"""The song's long-term timbre kept through the render whatever its channels share: a static
equaliser, for the songs that need it.

Both sources reach an ear at the same instant (``render``), so the power a band comes out with
goes as ``1 + rho`` (``rho``: twice the channels' cross-power over the sum of their powers, the
share they have in common), while the render's gains are set for one ``rho`` for all bands
(``loudness_weighting.correlated_mix_gain``). A song whose channels correlate differently from
band to band comes out coloured by their differences: the freezingpoint track (README, "On real
music") correlates at -0.1 at 160-200 Hz and at 0.3-0.7 elsewhere, and lost 2.4-2.7 dB at
200 Hz (the issue's measure: the long-term 1/3-octave spectrum, 100 Hz - 12.5 kHz, both
channels' power, after level normalisation); pink noise sharing -0.2 of its power below 400 Hz,
all of it to 2 kHz and 0.2 above departs by 2.6 dB dry.

Pass 1 accumulates the song's long-term cross- and power spectra (``ChannelRelation``:
``SEGMENT_FRAMES``-point Hann windows every ``segment_hop`` frames). Between the passes
``timbre_correction`` predicts each band's departure, ``10 log10(1 + rho)`` less its mean over the
measure's bands; when one departs by more than ``CORRECT_OVER_DB``, the rendered song is filtered
in pass 2, before the limiter, by a minimum-phase FIR of the opposite magnitude (within
``MAX_CORRECTION_DB``; 0 dB where the song has no content; where it has too little to read
the channels' share, ``LEAST_EVIDENCE``, only the limiter's and the room's part below), scaled to
keep its K-weighted power, so its loudness. Only what depends on
the song is corrected: the head's and the path's own colour is the render's design (an arc that
never goes behind is brighter than a circle: matching the result's spectrum to the input's, as a
first version of this did, made it heard behind 21 % of the time instead of 0 %), and a song
whose channels relate alike in every band (mono, L = R, independent) is left exactly as
rendered, at no cost. A loud song is coloured by the limiter too: it pulls the whole song down
under the bass notes and drums that make the peaks, taking bass with them (a real song raised to
-8 LUFS lost 2.5 dB at 158 Hz). ``LimitingForecast.band_change_db`` forecasts that at pass 2's
gain, and it is corrected with the rest. So is the room's colour: it hears the song above 250 Hz
only (``room``), so it adds to the upper bands alone (the concert preset's hall took real songs'
bass up to 2.3 dB under the rest, at its loudest a music-like mix's 4.2 dB); pass 1 measures what
it adds to each band (``RoomColour``). The filter costs 0.4-0.5 s
of CPU per 5-minute song where it runs. Converted with it: freezingpoint 0.83-1.07 dB, the pink
noise above 0.77-0.94 dB (with the room). ``CORRECT_OVER_DB`` is 1 dB because the model is not the
whole render: tonal music departs by up to ~1 dB for other reasons (moving shadows on single
partials), and at 0.75 dB a loud master's limiter-made bass loss deepened by the cut (2.5 -> 2.9 dB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from .loudness_weighting import k_weighting_power
from .spectral_design import minimum_phase

COLORATION_BAND_HZ = (100.0, 12500.0)
SEGMENT_FRAMES = 8192
SEGMENTS_AT_LEAST = 256  # a short song's segments overlap (down to half a window) to get this many
LONGEST_HOP = 32768  # a long song is sampled: a quarter of it is plenty for a long-term spectrum
CORRECT_OVER_DB = 1.0
MAX_CORRECTION_DB = 6.0
CORRECTED_HZ = (25.0, 12500.0)  # and past them, the end bands' gains
CONTENT_FLOOR_DB = -60.0  # a band this far under the song's loudest one has no content to correct
LEAST_SHARED = -0.5  # the model's reach: further out of phase, the sources' shadows keep them apart
DESIGN_ROUNDS = 3
LIMITER_SPREAD = (0.25, 0.5, 0.25)  # the limiter's forecast colour, smoothed over 3 thirds
FILTER_TAPS = 2048  # 46 ms: resolves the bands from 100 Hz on, and rings no longer
# a band's share is read from its bins times the song's effective segments: at least this many
# (the estimate's spread, (1 - rho^2) / sqrt(n), is then 0.05 at most: 0.2 dB at rho = 0)
LEAST_EVIDENCE = 400
_TINY = 1e-20


def usable_top_hz(top_hz: float, sample_rate: int) -> float:
    """``top_hz``, or 95 % of the Nyquist frequency when that is lower: a band reaching past it
    measures the converter's anti-alias roll-off (a 16 kHz file's 8 kHz third-octave reads 5 dB
    down), not the music."""
    return min(top_hz, 0.95 * sample_rate / 2)


def band_energy(power: np.ndarray, freqs_hz: np.ndarray, band_hz: tuple[float, float]) -> np.ndarray:
    """Sum of ``power`` over the bins with ``band_hz[0] <= f < band_hz[1]`` (last axis)."""
    in_band = (freqs_hz >= band_hz[0]) & (freqs_hz < band_hz[1])
    return power[..., in_band].sum(axis=-1)


def third_octave_sums(
    power: np.ndarray, freqs_hz: np.ndarray, sample_rate: int, band_hz: tuple[float, float] = COLORATION_BAND_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres_hz, sums)`` of a spectrum (last axis) over 1/3-octave bands: IEC 61260 base-10
    centres ``1000 * 10^(k/10)``, edges ``fc * 10^(+-1/20)``, from ``band_hz[0]`` to ``band_hz[1]``
    (at low rates only the bands under ``usable_top_hz``)."""
    k = np.arange(round(10 * np.log10(band_hz[0] / 1000)), round(10 * np.log10(band_hz[1] / 1000)) + 1)
    centres_hz = 1000.0 * 10 ** (k / 10)
    centres_hz = centres_hz[centres_hz * 10**0.05 <= usable_top_hz(np.inf, sample_rate)]
    sums = [band_energy(power, freqs_hz, (fc * 10**-0.05, fc * 10**0.05)) for fc in centres_hz]
    return centres_hz, np.stack(sums, axis=-1)


def third_octave_levels_db(
    power: np.ndarray, freqs_hz: np.ndarray, sample_rate: int, band_hz: tuple[float, float] = COLORATION_BAND_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres_hz, level_db)`` of a power spectrum in ``third_octave_sums``' bands."""
    centres_hz, sums = third_octave_sums(power, freqs_hz, sample_rate, band_hz)
    return centres_hz, 10 * np.log10(sums + _TINY)


def segment_hop(total_frames: int) -> int:
    """Frames between the starts of two measured segments of a ``total_frames`` song."""
    return int(np.clip(total_frames // SEGMENTS_AT_LEAST, SEGMENT_FRAMES // 2, LONGEST_HOP))


class ChannelRelation:
    """A song's long-term power (both channels) and cross-power spectra, from the segments at
    multiples of ``segment_hop`` that lie within one block."""

    def __init__(self, sample_rate: int, total_frames: int):
        self.sample_rate = int(sample_rate)
        self.hop = segment_hop(total_frames)
        self.window = np.hanning(SEGMENT_FRAMES).astype(np.float32)
        self.power = np.zeros(SEGMENT_FRAMES // 2 + 1)
        self.cross = np.zeros(SEGMENT_FRAMES // 2 + 1)  # twice the real part of L R*
        self.energy = np.zeros(2)  # the segments' energies, summed and squared (effective_segments)
        self.frames_done = 0

    @property
    def effective_segments(self) -> float:
        """How many equally loud segments the power-weighted estimates are worth: a song of one loud
        second and a minute of near-silence is worth its loud second."""
        return float(self.energy[0] ** 2 / self.energy[1]) if self.energy[1] > 0 else 0.0

    def add(self, block: np.ndarray) -> None:
        """The next ``(channels, frames)`` block of the song (a mono one counts as two identical
        channels: its render depends on nothing channels share, but the limiter may colour it)."""
        first = self.frames_done
        self.frames_done += block.shape[-1]
        if block.shape[0] not in (1, 2):
            return
        spectra = segment_spectra(block, first, self.hop, self.window)
        if spectra is None:
            return
        left, right = spectra[0], spectra[-1]
        power = left.real**2 + left.imag**2 + right.real**2 + right.imag**2
        energies = power.sum(axis=-1, dtype=np.float64)
        self.energy += (energies.sum(), (energies**2).sum())
        self.power += power.sum(axis=0)
        self.cross += 2 * (left.real * right.real + left.imag * right.imag).sum(axis=0)


class RoomColour:
    """What the room adds to each band of the rendered song: the long-term power spectra (both ears)
    of the dry render and of the render with the room, at the segments ``ChannelRelation`` reads."""

    def __init__(self, sample_rate: int, total_frames: int):
        self.sample_rate = int(sample_rate)
        self.hop = segment_hop(total_frames)
        self.window = np.hanning(SEGMENT_FRAMES).astype(np.float32)
        self.dry = np.zeros(SEGMENT_FRAMES // 2 + 1)
        self.with_room = np.zeros(SEGMENT_FRAMES // 2 + 1)
        self.frames_done = 0

    def add(self, dry: np.ndarray, room: np.ndarray) -> None:
        """The next ``(2, frames)`` blocks of the dry render and of the room's part (as added to it)."""
        first = self.frames_done
        self.frames_done += dry.shape[-1]
        dry_spectra = segment_spectra(dry, first, self.hop, self.window)
        if dry_spectra is None:
            return
        with_room = dry_spectra + segment_spectra(room, first, self.hop, self.window)
        self.dry += (dry_spectra.real**2 + dry_spectra.imag**2).sum(axis=(0, 1))
        self.with_room += (with_room.real**2 + with_room.imag**2).sum(axis=(0, 1))

    def band_change_db(self) -> np.ndarray:
        """``10 log10(with room / dry)`` in each ``CORRECTED_HZ`` third; 0 where the dry render is
        silent, and everywhere when there is no room (nothing added)."""
        freqs_hz = np.fft.rfftfreq(SEGMENT_FRAMES, 1 / self.sample_rate)
        _, (dry, with_room) = third_octave_sums(
            np.stack([self.dry, self.with_room]), freqs_hz, self.sample_rate, CORRECTED_HZ
        )
        return np.where(dry > _TINY, 10 * np.log10((with_room + _TINY) / (dry + _TINY)), 0.0)


def segment_spectra(block: np.ndarray, first: int, hop: int, window: np.ndarray) -> np.ndarray | None:
    """``(channels, segments, bins)`` spectra of the ``window``-long segments starting at multiples
    of ``hop`` that lie within ``block`` (whose first frame is the song's ``first``); ``None``: none do."""
    frames = block.shape[-1]
    starts = np.arange(-(-first // hop) * hop, first + frames - len(window) + 1, hop) - first
    if not starts.size:
        return None
    picks = starts[:, np.newaxis] + np.arange(len(window))
    return scipy.fft.rfft(np.asarray(block, dtype=np.float32)[:, picks] * window, axis=-1)


@dataclass(frozen=True)
class TimbreCorrection:
    """``departure_db``: the largest band's predicted departure from the song's timbre (module
    docstring); ``response``: the ``(1, FILTER_TAPS)`` minimum-phase FIR that corrects it,
    ``None`` when it is within ``CORRECT_OVER_DB``."""

    departure_db: float
    response: np.ndarray | None


def timbre_correction(
    relation: ChannelRelation, limiter_change_db: np.ndarray | None = None, room_change_db: np.ndarray | None = None
) -> TimbreCorrection:
    """What pass 2 does to the rendered song's timbre (module docstring); ``limiter_change_db``: what
    the limiter will take from each ``CORRECTED_HZ`` third at pass 2's gain
    (``LimitingForecast.band_change_db``), ``room_change_db`` what the room added to each
    (``RoomColour.band_change_db``), corrected with the rest."""
    if relation.effective_segments == 0:  # silence, or a song shorter than a segment
        return TimbreCorrection(0.0, None)
    freqs_hz = np.fft.rfftfreq(SEGMENT_FRAMES, 1 / relation.sample_rate)
    centres_hz, (power, cross, bins) = third_octave_sums(
        np.stack([relation.power, relation.cross, np.ones_like(relation.power)]),
        freqs_hz,
        relation.sample_rate,
        CORRECTED_HZ,
    )
    power_db = 10 * np.log10(power + _TINY)
    shared = cross / np.maximum(power, _TINY)
    measured = (centres_hz > COLORATION_BAND_HZ[0] * 10**-0.05) & (centres_hz < COLORATION_BAND_HZ[1] * 10**0.05)
    content = power_db > power_db.max() + CONTENT_FLOOR_DB
    readable = content & (bins * relation.effective_segments >= LEAST_EVIDENCE)
    if not (measured & readable).any():
        return TimbreCorrection(0.0, None)
    heard_db = 10 * np.log10(1 + np.clip(shared, LEAST_SHARED, 1.0))
    # a band too thin to read what the channels share departs by what the limiter and the room do
    heard_db[~readable] = heard_db[measured & readable].mean()
    if limiter_change_db is not None:
        # over neighbouring thirds: the limiter's fast-moving gain spreads what it takes from a band
        # into the next ones (a real song's 1.26 / 1.58 kHz thirds: -0.24 / -1.61 dB forecast,
        # -0.94 / -0.91 dB measured)
        padded = np.r_[limiter_change_db[0], limiter_change_db, limiter_change_db[-1]]
        heard_db = heard_db + np.convolve(padded, LIMITER_SPREAD, mode="valid")
    if room_change_db is not None:
        heard_db = heard_db + room_change_db
    departure = np.where(content, heard_db - heard_db[measured & content].mean(), 0.0)
    largest_db = float(np.max(np.abs(departure[measured])))
    if largest_db <= CORRECT_OVER_DB:
        return TimbreCorrection(largest_db, None)
    wanted_db = np.clip(-departure, -MAX_CORRECTION_DB, MAX_CORRECTION_DB)
    # what the render makes of the song's spectrum, by the model: |L + R|^2
    rendered = np.maximum(relation.power + relation.cross, (1 + LEAST_SHARED) * relation.power)
    weighting = k_weighting_power(freqs_hz, relation.sample_rate) * rendered
    rendered_db = third_octave_levels_db(rendered, freqs_hz, relation.sample_rate, CORRECTED_HZ)[1]
    gains_db = wanted_db.copy()
    for design_round in range(DESIGN_ROUNDS):
        gain_db = np.interp(np.log(np.maximum(freqs_hz, 1.0)), np.log(centres_hz), gains_db)
        gain_db -= 10 * np.log10((weighting @ 10 ** (gain_db / 10)) / weighting.sum())  # the loudness kept
        response = minimum_phase(10 ** (gain_db / 20), FILTER_TAPS)
        if design_round == DESIGN_ROUNDS - 1:
            break
        # the next round corrects what interpolating between the bands' centres missed
        filtered = rendered * np.abs(np.fft.rfft(response, SEGMENT_FRAMES)) ** 2
        got_db = third_octave_levels_db(filtered, freqs_hz, relation.sample_rate, CORRECTED_HZ)[1] - rendered_db
        got_db -= got_db[measured & content].mean()
        gains_db += np.where(content, wanted_db - got_db, 0.0)
    return TimbreCorrection(largest_db, response[np.newaxis])
