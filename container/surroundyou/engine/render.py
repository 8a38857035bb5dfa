"""The dry spatial render: the music orbits the head (no reverb, no limiter, no loudness match).

Signal flow per block (``(channels, frames)`` in, ``(2, frames)`` out)::

    input ─┬─ LR4 low-pass of the channel mean ─────────────── delay 1 ─────────┐
           │  (bass: centred, untouched)                                          ├─ + ─> ears
           └─ head model: sources, shadow/HRTF, ─── per-ear fractional delay ────┘
              LR4 high-pass (the orbiting band)    (interaural time difference
                                                    of the orbit centre)

- Bass below ``crossover_hz`` stays centred (Linkwitz-Riley, ``crossover``): the same signal
  in both ears, the channels' mean times ``loudness_weighting.channel_mean_gain``, so it sits
  level with the orbiting band as the input's bass did with its mids.
- Each input channel is its own source on the orbit, ``width_deg`` apart (``orbit``). The head
  model gives each source its own direction-dependent shadow per ear and sums them per ear:
  the spherical head (``spherical_head``: Brown & Duda shadow, rear cut, equal-loudness gain)
  or the measured KEMAR head at the orbit centre with the sources' shadows relative to each
  other (``hrtf``).
- The interaural time difference is applied once per ear, after the sources are summed, with
  the delay of the orbit *centre* (Woodworth). Sharing the delay is what keeps correlated
  content (L = R) free of comb filtering as the sources move: both copies reach an ear at the
  same instant, so they add like one source instead of interfering at a moving delay.
- The near ear is (almost) not delayed and the far ear gets the whole ITD (in front, where the
  ITD passes from one ear to the other, both wait 0.07 ms: ``ear_delays_s``), so the only fixed
  latency is the interpolator's one sample, matched on the bass path: output sample ``n``
  follows input sample ``n - 1``; the output has as many frames as the input.

Every time-varying quantity is a function of the absolute sample index (``control_rate``), and
all filters carry their state, so processing in blocks of any size gives the same output as
one call (bit for bit in spherical mode) and the same input always gives the same output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .control_rate import control_indices
from .crossover import linkwitz_riley4_sos
from .curves import EffectEnvelope, SpeedCurvePhase
from .fractional_delay import MINIMUM_DELAY_SAMPLES, FractionalDelayLine
from .loudness_weighting import channel_mean_gain
from .options import RenderOptions
from .orbit import Orbit, PhaseLaw, rounded_lateral_angle_rad, source_offsets_rad
from .spherical_head import HEAD_RADIUS_M, ITD_HANDOVER_S, SphericalHeadShadow, ear_delays_s, woodworth_itd_s
from .streaming_sos import StreamingSos

if TYPE_CHECKING:
    from .hrtf import KemarHead  # imported when HRTF mode is asked for: it loads the KEMAR set

CONTROL_STEP = 64
# The ear delays' control grid is finer: a delay ramped linearly between control points changes
# its pace (its Doppler shift) at every point, a comb of tiny frequency steps; on the 64-sample
# grid a figure-eight of 1 s per turn spread a 1 kHz sine to -83 dB outside +-50 Hz (the delays
# alone), on this one to -103 dB. The delays cost little to compute, the shadows' gains more.
DELAY_CONTROL_STEP = 16
LATENCY_SAMPLES = MINIMUM_DELAY_SAMPLES  # the ear delays' least: the whole render is this late
# Blocks are rendered in pieces of at most this many frames, which bounds the temporaries
# (~20 MB) whatever block size the caller uses; larger pieces gain nothing measurable.
PIECE_FRAMES = 65536
# the original's crossover filters start this long before a span where the effect is partial:
# their state (milliseconds of memory at 120 Hz) has settled long before the mix begins
ORIGINAL_WARMUP_S = 0.25


def orbit_for(options: RenderOptions, sample_rate: int, timing: PhaseLaw | None = None) -> Orbit:
    """The orbit of ``options``: its path, direction and wobble, at a fixed period, under a period
    curve (``curves.SpeedCurvePhase``), or under ``timing`` (a beat grid) when given."""
    if timing is None and not isinstance(options.period_s, (int, float)):
        timing = SpeedCurvePhase(options.period_s, sample_rate)
    nominal_s = getattr(timing, "mean_period_s", options.nominal_period_s)
    return Orbit(
        nominal_s,
        sample_rate,
        options.direction == "clockwise",
        options.elevation_wobble_deg,
        options.path,
        timing,
    )


class OrbitRenderer:
    """Streaming dry 8D renderer: ``process(block)`` repeatedly, state carried between calls.

    ``timing``: the orbit's phase law when it follows the song's beats (``curves.BeatGridPhase``);
    ``first_sample``: the absolute index of the first frame it is given (a preview starts mid-song
    and moves as the whole song does there).

    ``envelope`` (``curves.EffectEnvelope``, at most two input channels): how much of the effect
    is heard, ``m``; the rest is the original. The mix is made in each ear *before* its delay:
    ``m * head + (1 - m) * X(x_E)`` (``X`` the crossover's high-pass, ``x_E`` the ear's own input
    channel) through the ear's delay line, whose time difference is scaled by ``m`` too, and
    ``m * bass + (1 - m) * L(x_E)`` (``L`` its low-pass). The original and the effect thus reach
    an ear at the same instant, through filters that differ only smoothly (the head's shadow), so
    a partial mix is one smooth filter, not a comb. At ``m = 0`` an ear hears its own channel
    (through the crossover's all-pass and the same one-sample latency); where ``m = 1`` the
    output is the effect, bit for bit. The original's filters run only over the envelope's
    partial spans, each from ``ORIGINAL_WARMUP_S`` before it (from silence, at a fixed sample:
    the output does not depend on the blocks), so a song pays for them only while it fades.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        options: RenderOptions,
        timing: PhaseLaw | None = None,
        first_sample: int = 0,
        envelope: EffectEnvelope | None = None,
    ):
        if channels < 1:
            raise ValueError(f"need at least one input channel, got {channels}")
        if envelope is not None and channels > 2:
            raise ValueError(f"the effect's envelope mixes in the original of one or two channels, got {channels}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.options = options
        bass_sos, band_sos = linkwitz_riley4_sos(options.crossover_hz, self.sample_rate)
        centred_bass_sos = bass_sos.copy()
        centred_bass_sos[0, :3] *= channel_mean_gain(self.channels)  # in the first section: no extra pass
        self._bass_filter = StreamingSos(centred_bass_sos, 1)
        self._bass_history = np.zeros((2, LATENCY_SAMPLES))
        self.envelope = envelope
        self._crossover_sos = (bass_sos, band_sos)
        self._original_filters: tuple[int, StreamingSos, StreamingSos] | None = None  # (span, band, bass)
        self._original_spans = _warmed_spans(
            envelope.partial_spans() if envelope else [], round(ORIGINAL_WARMUP_S * self.sample_rate)
        )
        self.orbit = orbit_for(options, self.sample_rate, timing)
        self.intensity = options.intensity
        offsets = source_offsets_rad(self.channels, options.width_deg)
        self.head: SphericalHeadShadow | KemarHead
        # both heads take the same arguments (hrtf.KemarHead's docstring: "same contract")
        head_args = (
            self.sample_rate,
            self.channels,
            self.orbit,
            offsets,
            self.intensity,
            options.crossover_hz,
            CONTROL_STEP,
        )
        if options.mode == "hrtf":
            from .hrtf import KemarHead

            self.head = KemarHead(*head_args, options.hrtf_path)
            self.head_radius_m = self.head.radius_m
        else:
            self.head = SphericalHeadShadow(*head_args)
            self.head_radius_m = HEAD_RADIUS_M
        max_delay = float(
            LATENCY_SAMPLES
            + 1
            + 1.2 * (woodworth_itd_s(np.pi / 2, self.head_radius_m) + ITD_HANDOVER_S) * self.sample_rate
        )
        self._ear_delays = [FractionalDelayLine(max_delay, DELAY_CONTROL_STEP) for _ in range(2)]
        self.frames_done = int(first_sample)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Render ``block`` (``(channels, frames)`` float32) to ``(2, frames)`` float32 ear signals."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected a ({self.channels}, frames) block, got shape {block.shape}")
        pieces = [
            self._render_piece(block[:, start : start + PIECE_FRAMES])
            for start in range(0, block.shape[1], PIECE_FRAMES)
        ]
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces, axis=1) if pieces else np.zeros((2, 0), dtype=np.float32)

    def _render_piece(self, block: np.ndarray) -> np.ndarray:
        first, frames = self.frames_done, block.shape[1]
        ears = self.head.ear_signals(block, first).astype(np.float32, copy=False)
        # (1, frames) float64: both ears' bass, until the original is mixed in (each ear its own)
        bass = self._bass_filter(block.mean(axis=0, keepdims=True))
        for span, (start, stop, mixed_from) in enumerate(self._original_spans):
            low, high = max(first, start), min(first + frames, stop if stop is not None else first + frames)
            if high <= low:
                continue
            if self._original_filters is None or self._original_filters[0] != span:
                # the span's first sample (or, in a preview, the first one rendered): from silence
                self._original_filters = (
                    span,
                    StreamingSos(self._crossover_sos[1], 2),
                    StreamingSos(self._crossover_sos[0], 2),
                )
            assert self.envelope is not None
            part = block[:, low - first : high - first]
            original = part if self.channels == 2 else np.repeat(part, 2, axis=0)
            _, band_filter, bass_filter = self._original_filters
            original_band, original_bass = band_filter(original), bass_filter(original)
            mixed = max(low, mixed_from)
            if mixed >= high:
                continue  # still warming up
            amount = self.envelope.amount(np.arange(mixed, high))
            m, skip = amount.astype(np.float32), mixed - low
            here = slice(mixed - first, high - first)
            ears[:, here] = ears[:, here] * m + original_band[:, skip:].astype(np.float32) * (np.float32(1) - m)
            bass = np.repeat(bass, 2 // len(bass), axis=0)
            bass[:, here] = bass[:, here] * amount + original_bass[:, skip:] * (1 - amount)
        output = np.empty((2, frames), dtype=np.float32)
        for ear, delay in enumerate(self._ear_delays_samples(first, frames)):
            self._ear_delays[ear].process(ears[ear], delay, first, out=output[ear])
        # the bass, LATENCY_SAMPLES late
        lag = min(LATENCY_SAMPLES, frames)
        output[:, :lag] += self._bass_history[:, :lag].astype(np.float32)
        output[:, lag:] += bass[:, : frames - lag].astype(np.float32)
        latest = np.broadcast_to(bass[:, frames - lag :], (2, lag))
        self._bass_history = np.concatenate([self._bass_history[:, lag:], latest], axis=1)
        self.frames_done += frames
        return output

    def _ear_delays_samples(self, first_sample: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-ear delays (samples) of the orbit centre on the delays' control grid: Woodworth ITD (times the
        envelope's ``m``: exactly 1 leaves it as it is) + latency.

        ``ear_delays_s`` hands the ITD from one ear to the other; the envelope's ``m`` scales the
        hand-over with the ITD (the same hand-over in time, and at ``m = 0`` neither ear waits).
        """
        sample_index = control_indices(first_sample, frames, DELAY_CONTROL_STEP) * DELAY_CONTROL_STEP
        lateral = rounded_lateral_angle_rad(*self.orbit.direction_rad(sample_index))
        itd_s = self.intensity * woodworth_itd_s(lateral, self.head_radius_m)
        handover_s: float | np.ndarray = ITD_HANDOVER_S
        if self.envelope is not None and not self.envelope.full_between(sample_index[0], sample_index[-1] + 1):
            amount = self.envelope.amount(sample_index)
            itd_s, handover_s = itd_s * amount, handover_s * amount  # at m = 0 neither ear waits
        left_s, right_s = ear_delays_s(itd_s, handover_s)
        return (LATENCY_SAMPLES + left_s * self.sample_rate, LATENCY_SAMPLES + right_s * self.sample_rate)


def _warmed_spans(spans: list[tuple[int, int | None]], warmup: int) -> list[tuple[int, int | None, int]]:
    """``(run from, stop, mixed from)`` of the original's filters for the envelope's partial spans:
    each run starts ``warmup`` samples early; spans that meet are one (a short song's fades)."""
    merged: list[tuple[int, int | None, int]] = []
    for start, stop in sorted(spans, key=lambda span: span[0]):
        run_from = max(0, start - warmup)
        if merged and (merged[-1][1] is None or run_from <= merged[-1][1]):
            previous_from, previous_stop, previous_mixed = merged[-1]
            later = None if stop is None or previous_stop is None else max(stop, previous_stop)
            merged[-1] = (previous_from, later, min(previous_mixed, start))
        else:
            merged.append((run_from, stop, start))
    return merged


def render(audio: np.ndarray, sample_rate: int, options: RenderOptions, block_frames: int = 65536) -> np.ndarray:
    """Render a whole ``(channels, frames)`` signal through an ``OrbitRenderer`` in blocks -> ``(2, frames)``."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[np.newaxis]
    renderer = OrbitRenderer(sample_rate, audio.shape[0], options)
    blocks = [
        renderer.process(audio[:, start : start + block_frames]) for start in range(0, audio.shape[1], block_frames)
    ]
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0), dtype=np.float32)
