"""The song's long-term timbre kept through the render, whatever its channels share and wherever it
plays its notes: a static equaliser, for the songs that need it.

Both sources reach an ear at the same instant (``render``), so the power a band comes out with
goes as ``1 + rho`` (``rho``: twice the channels' cross-power over the sum of their powers, the
share they have in common), while the render's gains are set for one ``rho`` for all bands
(``loudness_weighting.correlated_mix_gain``). A song whose channels correlate differently from
band to band comes out coloured by their differences: the freezingpoint track (README, "On real
music") correlates at -0.1 at 160-200 Hz and at 0.3-0.7 elsewhere, and lost 2.4-2.7 dB at
200 Hz (the issue's measure: the long-term 1/3-octave spectrum, 100 Hz - 12.5 kHz, both
channels' power, after level normalisation); pink noise sharing -0.2 of its power below 400 Hz,
all of it to 2 kHz and 0.2 above departs by 2.6 dB dry.

Pass 1 reads the song and its render at the same segments (``RenderColour``:
``SEGMENT_FRAMES``-point Hann windows every ``segment_hop`` frames), in 1/3-octave bands: what the
dry render made of the song's long-term spectrum, and the design's part of it, the render's gain
over what the channels' share predicts (``|L + R|^2``) averaged over the segments with equal
weight, every direction of the path counting alike. Their difference is what depends on the song:
the share (where the render follows the model, the two give ``10 log10(1 + rho)``), and where the
song plays what as the source moves: a partial held while the head shadows it (credits in HRTF
mode with the slow preset lost 2.2 dB at 1.26 kHz, which the share alone did not predict). Between
the passes ``timbre_correction`` adds what the room added to each band and what the limiter will
take, and takes each band's departure less its mean over the measure's bands; when one departs by
more than ``CORRECT_OVER_DB``, the rendered song is filtered in pass 2, before the limiter, by a
minimum-phase FIR of the opposite magnitude (within ``MAX_CORRECTION_DB``; 0 dB where the song has
no content; where it has less than ``LEAST_EVIDENCE`` to read, that share of what it reads, and
for the rest only the limiter's and the room's part), scaled to keep its K-weighted power, so its
loudness. Mostly what depends on the song is corrected: the head's and the path's own colour is
the render's design, kept up to ``DESIGN_COLOUR_KEPT_DB`` about its mean. The spherical arc, which
never goes behind, is 2.55 dB bright at 12.5 kHz (the front's cues never even out); matching the
result's spectrum to the input's, as a first version of this did, made pink noise on it heard
behind 47 % of the time instead of 19 % (21 % instead of 0 % through diffuse-field headphones), and
trimmed to 1.2 dB it reads 1.33 dB and 18 % (1 %). A steady song whose channels relate alike in
every band (mono, L = R, independent) on any other path is left as rendered. A loud
song is coloured by the limiter too: it pulls the whole song down under the bass notes and drums
that make the peaks, taking bass with them (a real song raised to -8 LUFS lost 2.5 dB at 158 Hz).
``LimitingForecast.band_change_db`` forecasts that at pass 2's gain. The room hears the song above
250 Hz only (``room``), so it adds to the upper bands alone (the concert preset's hall took real
songs' bass up to 2.3 dB under the rest, at its loudest a music-like mix's 4.2 dB). The filter
costs 0.4-0.5 s of CPU per 5-minute song where it runs. ``CORRECT_OVER_DB`` is 1 dB: at 0.75 dB a
loud master's limiter-made bass loss deepened by the cut (2.5 -> 2.9 dB).
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
# the head's and the path's own colour is kept up to this far from its mean; past it, it is corrected
DESIGN_COLOUR_KEPT_DB = 1.2
MAX_CORRECTION_DB = 6.0
CORRECTED_HZ = (25.0, 12500.0)  # and past them, the end bands' gains
# a band this far under the song's loudest one has no content to correct (in a segment: no gain to read)
CONTENT_FLOOR_DB = -60.0
LEAST_SHARED = -0.5  # the model's reach: further out of phase, the sources' shadows keep them apart
DESIGN_ROUNDS = 3
LIMITER_SPREAD = (0.25, 0.5, 0.25)  # the limiter's forecast colour, smoothed over 3 thirds
FILTER_TAPS = 2048  # 46 ms: resolves the bands from 100 Hz on, and rings no longer
# a band is read (its share, the render's gain in it) from its bins times the song's effective segments: at least this many
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


def third_octave_bands(
    freqs_hz: np.ndarray, sample_rate: int, band_hz: tuple[float, float] = COLORATION_BAND_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres_hz, matrix)``: 1/3-octave bands, IEC 61260 base-10 centres ``1000 * 10^(k/10)``,
    edges ``fc * 10^(+-1/20)``, from ``band_hz[0]`` to ``band_hz[1]`` (at low rates only the bands
    under ``usable_top_hz``), and the ``(bins, bands)`` float32 matrix that sums a spectrum into them."""
    k = np.arange(round(10 * np.log10(band_hz[0] / 1000)), round(10 * np.log10(band_hz[1] / 1000)) + 1)
    centres_hz = 1000.0 * 10 ** (k / 10)
    centres_hz = centres_hz[centres_hz * 10**0.05 <= usable_top_hz(np.inf, sample_rate)]
    lows, highs = centres_hz * 10**-0.05, centres_hz * 10**0.05
    matrix = (freqs_hz[:, np.newaxis] >= lows) & (freqs_hz[:, np.newaxis] < highs)
    return centres_hz, matrix.astype(np.float32)


def third_octave_levels_db(
    power: np.ndarray, freqs_hz: np.ndarray, sample_rate: int, band_hz: tuple[float, float] = COLORATION_BAND_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres_hz, level_db)`` of a power spectrum (last axis) in ``third_octave_bands``."""
    centres_hz, matrix = third_octave_bands(freqs_hz, sample_rate, band_hz)
    return centres_hz, 10 * np.log10(power @ matrix.astype(power.dtype) + _TINY)


def segment_hop(total_frames: int) -> int:
    """Frames between the starts of two measured segments of a ``total_frames`` song."""
    return int(np.clip(total_frames // SEGMENTS_AT_LEAST, SEGMENT_FRAMES // 2, LONGEST_HOP))


class RenderColour:
    """Pass 1's evidence of what the render does to a song's timbre, from the segments at multiples
    of ``segment_hop`` (one that straddles two blocks included), in ``CORRECTED_HZ`` thirds: the song's power (both
    channels), the dry render's (both ears) and the render's with the room, and the render's gain
    over what the channels' share predicts, ``|L + R|^2`` (``LEAST_SHARED`` at most out of phase),
    averaged over the segments with equal weight: the design's colour, where every direction of
    the path counts alike whatever the song plays there (module docstring)."""

    def __init__(self, sample_rate: int, total_frames: int):
        self.sample_rate = int(sample_rate)
        self.hop = segment_hop(total_frames)
        self.window = np.hanning(SEGMENT_FRAMES).astype(np.float32)
        freqs_hz = np.fft.rfftfreq(SEGMENT_FRAMES, 1 / self.sample_rate)
        self.centres_hz, self._band_matrix = third_octave_bands(freqs_hz, self.sample_rate, CORRECTED_HZ)
        # the thirds of the measure, among the corrected ones
        self.measured = (self.centres_hz > COLORATION_BAND_HZ[0] * 10**-0.05) & (
            self.centres_hz < COLORATION_BAND_HZ[1] * 10**0.05
        )
        self.bins = self._band_matrix.sum(axis=0)
        self.song, self.dry, self.with_room, self.design_gain, self.design_segments = np.zeros((5, self.bins.size))
        self.rendered = np.zeros(freqs_hz.size)  # the render's long-term power spectrum, room and all
        self.energy = np.zeros(2)  # the song segments' energies, summed and squared (effective_segments)
        self.frames_done = 0
        self._held: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None  # song, dry, room

    @property
    def effective_segments(self) -> float:
        """How many equally loud segments the power-weighted estimates are worth: a song of one loud
        second and a minute of near-silence is worth its loud second."""
        return float(self.energy[0] ** 2 / self.energy[1]) if self.energy[1] > 0 else 0.0

    def add(self, song: np.ndarray, dry: np.ndarray, room: np.ndarray | None = None) -> None:
        """The next blocks of the song (``(channels, frames)``; a mono one counts as two identical
        channels), of its dry render and of the room's part as added to it (``(2, frames)``)."""
        if song.shape[0] not in (1, 2):
            self.frames_done += song.shape[-1]
            return
        # the last block's end, where the next segment may start (a segment that straddled two
        # blocks went unmeasured: 12 % of a minute's segments, and with them a loud note)
        first = self.frames_done
        if self._held is not None:
            held_song, held_dry, held_room = self._held
            first -= held_song.shape[-1]
            song, dry = np.concatenate([held_song, song], axis=-1), np.concatenate([held_dry, dry], axis=-1)
            if room is not None and held_room is not None:
                room = np.concatenate([held_room, room], axis=-1)
        self.frames_done = first + song.shape[-1]
        held = min(SEGMENT_FRAMES - 1, song.shape[-1])
        # copies (astype): the caller adds the room to its dry render in place
        self._held = (
            song[:, -held:].astype(np.float32),
            dry[:, -held:].astype(np.float32),
            None if room is None else room[:, -held:].astype(np.float32),
        )
        starts = np.arange(-(-first // self.hop) * self.hop, first + song.shape[-1] - SEGMENT_FRAMES + 1, self.hop)
        if not starts.size:
            return
        picks = starts[:, np.newaxis] - first + np.arange(SEGMENT_FRAMES)
        spectra = self._spectra(song, picks)
        left, right = spectra[0], spectra[-1]
        power = left.real**2 + left.imag**2 + right.real**2 + right.imag**2
        cross = 2 * (left.real * right.real + left.imag * right.imag)
        energies = power.sum(axis=-1, dtype=np.float64)
        self.energy += (energies.sum(), (energies**2).sum())
        song_bands = power @ self._band_matrix
        shared_bands = np.maximum((power + cross) @ self._band_matrix, (1 + LEAST_SHARED) * song_bands)
        dry_spectra = self._spectra(dry, picks)
        dry_bands = (dry_spectra.real**2 + dry_spectra.imag**2).sum(axis=0) @ self._band_matrix
        with_room = dry_spectra if room is None else dry_spectra + self._spectra(room, picks)
        rendered = (with_room.real**2 + with_room.imag**2).sum(axis=0)
        # a band counts in a segment where it has content (its gain there is read, not its noise)
        heard = shared_bands > np.maximum(
            shared_bands.max(axis=1, keepdims=True) * 10 ** (CONTENT_FLOOR_DB / 10), _TINY
        )
        self.design_gain += np.where(heard, dry_bands / np.where(heard, shared_bands, 1.0), 0.0).sum(axis=0)
        self.design_segments += heard.sum(axis=0)
        self.song += song_bands.sum(axis=0)
        self.dry += dry_bands.sum(axis=0)
        self.with_room += (rendered @ self._band_matrix).sum(axis=0)
        self.rendered += rendered.sum(axis=0)

    def band_powers(self, block: np.ndarray) -> np.ndarray:
        """The power (both channels) in the thirds of ``block``'s segments from its frames 0, hop,
        2 hop ..., summed: the same read of another stage's input and output."""
        starts = np.arange(0, block.shape[-1] - SEGMENT_FRAMES + 1, self.hop)
        if not starts.size:
            return np.zeros(self.bins.size)
        spectra = self._spectra(block, starts[:, np.newaxis] + np.arange(SEGMENT_FRAMES))
        return ((spectra.real**2 + spectra.imag**2).sum(axis=0) @ self._band_matrix).sum(axis=0)

    def _spectra(self, block: np.ndarray, picks: np.ndarray) -> np.ndarray:
        """``(channels, segments, bins)``: the spectra of ``block``'s segments (``picks``: their frames)."""
        return scipy.fft.rfft(np.asarray(block, dtype=np.float32)[:, picks] * self.window, axis=-1)

    def room_change_db(self) -> np.ndarray:
        """``10 log10(with room / dry)`` in each third; 0 where the dry render is silent, and
        everywhere when there is no room (nothing added)."""
        return np.where(self.dry > _TINY, 10 * np.log10((self.with_room + _TINY) / (self.dry + _TINY)), 0.0)

    def song_change_db(self) -> np.ndarray:
        """What the dry render did to each third of the song's long-term spectrum beyond the design's
        colour, as far as that is kept (``DESIGN_COLOUR_KEPT_DB`` about its mean over the measure's
        bands), up to a constant; 0 where the song has no segment with content in it."""
        read = (self.song > _TINY) & (self.design_segments > 0)
        made_db = 10 * np.log10((self.dry + _TINY) / (self.song + _TINY))
        design_db = 10 * np.log10((self.design_gain + _TINY) / np.maximum(self.design_segments, 1))
        if (read & self.measured).any():
            level_db = design_db[read & self.measured].mean()
            design_db = level_db + np.clip(design_db - level_db, -DESIGN_COLOUR_KEPT_DB, DESIGN_COLOUR_KEPT_DB)
        return np.where(read, made_db - design_db, 0.0)


@dataclass(frozen=True)
class TimbreCorrection:
    """``departure_db``: the largest band's predicted departure from the song's timbre (module
    docstring); ``response``: the ``(1, FILTER_TAPS)`` minimum-phase FIR that corrects it,
    ``None`` when it is within ``CORRECT_OVER_DB``."""

    departure_db: float
    response: np.ndarray | None


def timbre_correction(colour: RenderColour, limiter_change_db: np.ndarray | None = None) -> TimbreCorrection:
    """What pass 2 does to the rendered song's timbre (module docstring): what the render and its
    room did to it (``colour``) and what the limiter will take from each ``CORRECTED_HZ`` third
    at pass 2's gain (``limiter_change_db``, ``LimitingForecast.band_change_db``)."""
    if colour.effective_segments == 0:  # silence, or a song shorter than a segment
        return TimbreCorrection(0.0, None)
    centres_hz, measured = colour.centres_hz, colour.measured
    song_db = 10 * np.log10(colour.song + _TINY)
    content = song_db > song_db.max() + CONTENT_FLOOR_DB
    trust = np.where(
        content & (colour.design_segments > 0),
        np.minimum(1.0, colour.bins * colour.effective_segments / LEAST_EVIDENCE),
        0.0,
    )
    readable = trust == 1.0
    if not (measured & readable).any():
        return TimbreCorrection(0.0, None)
    # a band with no evidence departs by what the limiter and the room do to it; one with some, by
    # that share of what it reads (all or nothing left a 20 s song's 100 Hz third, 7 % short of
    # the evidence, uncorrected at 2.1 dB)
    song_change_db = colour.song_change_db()
    heard_db = trust * song_change_db + (1 - trust) * song_change_db[measured & readable].mean()
    if limiter_change_db is not None:
        # over neighbouring thirds: the limiter's fast-moving gain spreads what it takes from a band
        # into the next ones (a real song's 1.26 / 1.58 kHz thirds: -0.24 / -1.61 dB forecast,
        # -0.94 / -0.91 dB measured)
        padded = np.r_[limiter_change_db[0], limiter_change_db, limiter_change_db[-1]]
        heard_db = heard_db + np.convolve(padded, LIMITER_SPREAD, mode="valid")
    heard_db = heard_db + colour.room_change_db()
    departure = np.where(content, heard_db - heard_db[measured & content].mean(), 0.0)
    largest_db = float(np.max(np.abs(departure[measured])))
    if largest_db <= CORRECT_OVER_DB:
        return TimbreCorrection(largest_db, None)
    wanted_db = np.clip(-departure, -MAX_CORRECTION_DB, MAX_CORRECTION_DB)
    freqs_hz = np.fft.rfftfreq(SEGMENT_FRAMES, 1 / colour.sample_rate)
    weighting = k_weighting_power(freqs_hz, colour.sample_rate) * colour.rendered
    rendered_db = third_octave_levels_db(colour.rendered, freqs_hz, colour.sample_rate, CORRECTED_HZ)[1]
    gains_db = wanted_db.copy()
    for design_round in range(DESIGN_ROUNDS):
        gain_db = np.interp(np.log(np.maximum(freqs_hz, 1.0)), np.log(centres_hz), gains_db)
        gain_db -= 10 * np.log10((weighting @ 10 ** (gain_db / 10)) / weighting.sum())  # the loudness kept
        response = minimum_phase(10 ** (gain_db / 20), FILTER_TAPS)
        if design_round == DESIGN_ROUNDS - 1:
            break
        # the next round corrects what interpolating between the bands' centres missed
        filtered = colour.rendered * np.abs(np.fft.rfft(response, SEGMENT_FRAMES)) ** 2
        got_db = third_octave_levels_db(filtered, freqs_hz, colour.sample_rate, CORRECTED_HZ)[1] - rendered_db
        got_db -= got_db[measured & content].mean()
        gains_db += np.where(content, wanted_db - got_db, 0.0)
    return TimbreCorrection(largest_db, response[np.newaxis])
