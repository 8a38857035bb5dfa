"""The streaming true-peak limiter: the ceiling holds on the band-limited reconstruction of its output
(measured by the tests' own 8x meter), and nothing but the guard band above 0.44 fs changes elsewhere.
(Every output format, decoded, on clipped masters, square waves and noise: tests/integration/test_true_peak.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
from instruments import true_peak_8x_dbtp

from surroundyou.engine.limiter import (
    CONTEXT_FRAMES,
    DETECTOR_ERROR_DB,
    EDGE_FADE_MS,
    HOLD_MS,
    LEFT_TAPS,
    NEXT_PEAK_MS,
    OVERSAMPLING,
    RELEASE_DB_PER_S,
    RIGHT_TAPS,
    WINDOW_TAPS,
    TruePeakLimiter,
    interpolation_matrix,
    midpoint_remainder,
    overlap_save_spectra,
    phase_spectra,
    prototype_filter,
    sliding_extreme,
)

SR = 44100


def _limit(audio, block_frames, ceiling_dbtp=-1.0):
    limiter = TruePeakLimiter(SR, audio.shape[0], ceiling_dbtp=ceiling_dbtp)
    pieces = [
        limiter.process(audio[:, start : start + block_frames]) for start in range(0, audio.shape[1], block_frames)
    ]
    return np.concatenate(pieces + [limiter.flush()], axis=1), limiter


@pytest.fixture(scope="module")
def clipped_noise():
    """Broadband noise clipped hard: inter-sample peaks ~6 dB over the samples, the worst case.
    Faded in and out over 10 ms: a stream that starts or stops at full scale rings (Gibbs) around
    its first and last samples, which the limiter does not see (it limits the band-limited signal)."""
    noise = np.clip(np.random.default_rng(1).standard_normal((2, 2 * SR)), -1, 1)
    fade = np.clip(np.minimum(np.arange(2 * SR), np.arange(2 * SR)[::-1]) / (0.01 * SR), 0, 1)
    return (noise * fade).astype(np.float32)


@pytest.mark.parametrize("block_frames", [65536, 1000, 37])
def test_ceiling_holds_and_length_is_kept(clipped_noise, block_frames):
    assert true_peak_8x_dbtp(clipped_noise) > 5.0
    noise = clipped_noise
    if block_frames < 100:  # tiny blocks: the last quarter second, faded in too
        noise = clipped_noise[:, -SR // 4 :] * np.clip(np.arange(SR // 4) / (0.01 * SR), 0, 1).astype(np.float32)
    out, limiter = _limit(noise, block_frames)
    assert out.shape == noise.shape
    assert true_peak_8x_dbtp(out) <= -1.0 + DETECTOR_ERROR_DB
    assert limiter.peak_out <= 10 ** (-1.0 / 20) + 1e-6


def test_ceiling_holds_from_the_very_first_sample():
    loud_start = np.full((2, 2000), 0.99, dtype=np.float32)
    out, _ = _limit(loud_start, 512)
    assert np.abs(out).max() <= 10 ** (-1.0 / 20) + 1e-6


def band_limited(audio):
    """What the limiter passes where it does not limit: its band-limiting filter (phase 0), aligned,
    with the stream's edges faded (EDGE_FADE_MS, raised cosine)."""
    taps = interpolation_matrix()[:, 0]
    padded = np.pad(audio.astype(np.float64), ((0, 0), (LEFT_TAPS, RIGHT_TAPS)))
    return faded(np.stack([np.convolve(channel, taps[::-1], mode="valid") for channel in padded]))


def faded(audio):
    """``audio`` with its first and last EDGE_FADE_MS faded in and out (sin^2 ramps)."""
    frames = round(EDGE_FADE_MS * SR / 1000)
    ramp = np.sin(np.pi / 2 * np.arange(1, frames + 1) / (frames + 1)) ** 2
    audio = audio.copy()
    audio[:, :frames] *= ramp
    audio[:, -frames:] *= ramp[::-1]
    return audio


def test_signals_under_the_ceiling_pass_through_the_band_limit_only_and_aligned(signals):
    quiet = signals.music_like(3.0, SR) * 0.2
    assert true_peak_8x_dbtp(quiet) < -3.0
    out, _ = _limit(quiet, 4096)
    np.testing.assert_allclose(out, band_limited(quiet), rtol=0, atol=2e-6)
    # below 0.43 fs (19 kHz at 44.1 kHz) nothing changes: noise band-limited to 18 kHz comes out as it went in
    noise = signals.band_noise(2.0, 20.0, 18000.0, seed=3, channels=2).astype(np.float32)
    out, _ = _limit(noise, 4096)
    assert np.abs(out - noise)[:, 1000:-1000].max() < 1e-3 * np.abs(noise).max()


@pytest.mark.parametrize("frequency_hz", [997.0, 19000.0])
def test_tones_are_held_at_the_ceiling_between_their_samples(frequency_hz):
    """A 0 dBFS tone, any phase: its peaks between samples are found (within DETECTOR_ERROR_DB)."""
    t = np.arange(SR // 4) / SR
    fade = np.clip(np.minimum(t, t[::-1]) / 0.01, 0, 1)
    tone = np.stack([fade * np.sin(2 * np.pi * frequency_hz * t + phase) for phase in (0.3, 1.9)])
    out, _ = _limit(tone.astype(np.float32), 8192)
    assert -1.0 - 0.1 <= true_peak_8x_dbtp(out) <= -1.0 + DETECTOR_ERROR_DB


def test_a_peak_is_caught_ahead_and_released_at_the_set_rate():
    level = np.full((1, SR), 0.5, dtype=np.float32)
    burst = slice(SR // 2, SR // 2 + 400)
    level[0, burst] = 1.0  # a 0 dBFS burst on a -6 dBFS level
    out, _ = _limit(level, 65536, ceiling_dbtp=-3.0)
    gain = out[0] / band_limited(level)[0]  # the filter here and the limiter's FFT differ by ~1e-7
    lookahead = round(0.002 * SR)
    edge = LEFT_TAPS  # the band limit rings this far around the burst's edges
    start, stop = burst.start - edge, burst.stop + edge
    assert gain[burst].max() <= 10 ** (-3.0 / 20) / 0.99
    assert np.allclose(gain[: start - lookahead], 1.0, rtol=0, atol=1e-5), "nothing changes before the look-ahead"
    assert np.all(np.diff(gain[start - lookahead : start]) <= 1e-5), "a glide down, no jump"
    # the release at its rate, smoothly: 1 dB back in 1 / RELEASE_DB_PER_S s, all of it (3 dB and
    # the edges' ringing) in time
    assert np.all(np.diff(gain[stop:]) >= -1e-5)
    gain_db = 20 * np.log10(gain)
    # the gain holds its lowest over the burst (equal to float rounding): the release starts after
    bottom = int(np.flatnonzero(gain_db <= gain_db.min() + 1e-3)[-1])
    rising = bottom + lookahead
    assert gain_db[rising + round(SR / RELEASE_DB_PER_S)] - gain_db[rising] == pytest.approx(1.0, abs=0.05)
    back = bottom + round(-gain_db.min() / RELEASE_DB_PER_S * SR) + lookahead + 2
    assert np.allclose(gain[back:], 1.0, rtol=0, atol=1e-5)  # band_limited fades the end as the limiter does


def test_the_gain_holds_between_peaks_and_lets_go_after_the_last():
    """Two bursts 8 ms apart: the gain stays down between them (released, it would ripple at the
    bursts' rate, as under a bass note's peaks). A burst with none after it within NEXT_PEAK_MS:
    the release starts at once, not a hold later."""
    level = np.full((1, SR // 2), 0.5, dtype=np.float32)
    first, second, lone = SR // 8, SR // 8 + round(0.008 * SR), SR // 4
    for start in (first, second, lone):
        level[0, start : start + 100] = 1.0  # 0 dBFS bursts on a -6 dBFS level
    out, _ = _limit(level, 65536, ceiling_dbtp=-3.0)
    gain_db = 20 * np.log10(out[0] / band_limited(level)[0])
    lowest = gain_db[first : second + 100].min()
    assert lowest <= -2.9
    assert gain_db[first : second + 100].max() <= lowest + 0.05, "held between the two"
    # after the lone burst: back to 1 once its 3 dB are released, well before a hold would end
    edge, lookahead = LEFT_TAPS, round(0.002 * SR)
    released = lone + 100 + edge + 2 * lookahead + round(3.0 / RELEASE_DB_PER_S * SR)
    assert released < lone + 100 + round(HOLD_MS / 1000 * SR) + round(3.0 / RELEASE_DB_PER_S * SR)
    assert np.allclose(gain_db[released : released + SR // 20], 0.0, atol=1e-3)


def test_interpolator_and_sliding_extremes():
    taps = interpolation_matrix()
    assert taps.shape == (LEFT_TAPS + RIGHT_TAPS + 1, OVERSAMPLING)
    np.testing.assert_allclose(taps.sum(axis=0), 1.0, atol=1e-4)  # unity gain at DC per phase
    values = np.random.default_rng(2).standard_normal(500)
    for size in (1, 2, 20, 89):
        expected = np.lib.stride_tricks.sliding_window_view(values, size)
        np.testing.assert_array_equal(sliding_extreme(values, size, np.maximum), expected.max(axis=1))
        np.testing.assert_array_equal(sliding_extreme(values, size, np.minimum), expected.min(axis=1))


def _reference_limited(audio, ceiling_dbtp, lookahead, release_db_per_s):
    """The gain computer of ``TruePeakLimiter``'s docstring, frame by frame over the whole signal."""
    hold, next_peak = round(HOLD_MS / 1000 * SR), round(NEXT_PEAK_MS / 1000 * SR)
    limiter = TruePeakLimiter(SR, audio.shape[0], ceiling_dbtp=ceiling_dbtp)
    padded = np.concatenate(
        [
            np.zeros((audio.shape[0], CONTEXT_FRAMES), np.float32),
            audio,
            np.zeros((audio.shape[0], max(lookahead, next_peak) + RIGHT_TAPS + 1), np.float32),
        ],
        axis=1,
    )
    limiter._frames = padded
    band, peaks = limiter._peaks(audio.shape[1] + max(lookahead, next_peak))
    required = np.minimum(1.0, 10 ** (ceiling_dbtp / 20) / np.maximum(peaks.astype(np.float64), 1e-30))
    rho = 10 ** (release_db_per_s / SR / 20)
    held = np.empty(audio.shape[1])
    previous = 1.0
    for n in range(audio.shape[1]):
        between = max(required[max(0, n - hold) : n + 1].min(), required[n : n + next_peak + 1].min())
        previous = held[n] = min(required[n : n + lookahead + 1].min(), between, rho * previous)
    # frames before the stream: silence that already looked ahead into it
    history = np.minimum.accumulate(required[:lookahead])
    held_all = np.concatenate([history, held])
    first = lookahead // 2 + 1  # the glide: a triangular mean of h[n-L .. n]
    weights = np.convolve(np.ones(first) / first, np.ones(lookahead + 2 - first) / (lookahead + 2 - first))
    gain = np.convolve(held_all, weights, mode="valid")
    return faded(band[:, : audio.shape[1]] * np.minimum(gain, 1.0).astype(np.float32))


@pytest.mark.parametrize("block_frames", [65536, 3000, 500])
def test_gain_is_computed_only_where_needed_and_agrees_with_the_frame_by_frame_definition(block_frames):
    """Peaks far apart, close together and one at the very start: the spans of work merge right,
    also across blocks shorter than the hold."""
    rng = np.random.default_rng(5)
    audio = (0.3 * rng.standard_normal((2, SR // 2))).clip(-1, 1).astype(np.float32)
    for position, level in ((0, 0.99), (5000, 1.0), (5300, 2.0), (9000, 1.5), (16000, 0.95), (21000, 3.0)):
        audio[:, position : position + 40] = level
    out, _ = _limit(audio, block_frames, ceiling_dbtp=-1.0)
    expected = _reference_limited(audio, -1.0, round(0.002 * SR), RELEASE_DB_PER_S)
    np.testing.assert_allclose(out, expected, rtol=0, atol=2e-6)
    assert not np.array_equal(out, audio)


def test_interpolator_gives_the_points_of_resample_poly_with_the_prototype():
    """Column k is the band-limited signal at n + k/4: what ``resample_poly`` makes with the same filter."""
    import scipy.signal

    signal = np.random.default_rng(3).standard_normal(400)
    reference = scipy.signal.resample_poly(signal, OVERSAMPLING, 1, window=prototype_filter())
    frames = np.arange(LEFT_TAPS, len(signal) - RIGHT_TAPS)
    windows = signal[frames[:, np.newaxis] + np.arange(-LEFT_TAPS, RIGHT_TAPS + 1)]
    points = windows @ interpolation_matrix()  # (frames, phases 0..3)
    np.testing.assert_allclose(
        points, reference[OVERSAMPLING * frames[:, np.newaxis] + np.arange(OVERSAMPLING)], rtol=0, atol=1e-12
    )


def test_the_parabolas_found_in_one_pass_are_those_gathered_frame_by_frame():
    """Loud blocks take ``_stream_vertex_peaks``, sparse ones ``_points_around``: the same peaks."""
    from surroundyou.engine.limiter import _parabolic_peaks, _points_around, _stream_vertex_peaks

    rng = np.random.default_rng(7)
    audio = np.clip(rng.standard_normal((2, 5000)), -1.5, 1.5).astype(np.float32)
    limiter = TruePeakLimiter(SR, 2, ceiling_dbtp=100.0)  # nothing is near: the points' peaks alone
    limiter._frames = audio
    count = audio.shape[1] - CONTEXT_FRAMES - RIGHT_TAPS
    spectra, _, size = overlap_save_spectra(audio, WINDOW_TAPS)
    raw = scipy.fft.irfft(spectra[:, np.newaxis] * phase_spectra(size)[:, np.newaxis], size, axis=-1)
    _, points = limiter._peaks(count)
    every = np.arange(count)
    gathered = np.maximum(points, _parabolic_peaks(_points_around(raw, every, count)))
    np.testing.assert_array_equal(np.maximum(points, _stream_vertex_peaks(raw, count)), gathered)
    assert np.mean(gathered > points) > 0.1  # the parabolas do rise above the points


@pytest.mark.parametrize("frequency_hz", [5512.5, 1000.0])
def test_a_stream_that_starts_and_stops_at_full_scale_is_faded_under_the_ceiling(frequency_hz):
    """Cut at full scale, the output would ring over the ceiling in its first and last samples
    (a decoder reconstructs it between silences); its faded edges do not."""
    t = np.arange(SR // 2) / SR
    square = np.where(np.sin(2 * np.pi * frequency_hz * t + 0.1) >= 0, 1.0, -1.0)
    out, _ = _limit(np.tile(square, (2, 1)).astype(np.float32), 65536)
    assert true_peak_8x_dbtp(out) <= -1.0 + DETECTOR_ERROR_DB


def test_the_odd_phases_stay_within_the_midpoint_bound():
    """Phase 1 is within ``midpoint_remainder() max |x|`` of the mean of phases 0 and 2, phase 3 of
    the mean of phase 2 and the next phase 0: the bound that lets quiet chunks skip the odd phases.
    The points here come from the interpolator's definition (a dot product per point), not the FFT."""
    rng = np.random.default_rng(11)
    remainder = midpoint_remainder()
    assert 0.3 < remainder < 0.45
    for signal in (rng.choice([-1.0, 1.0], 3000), np.clip(3 * rng.standard_normal(3000), -1, 1)):
        frames = np.arange(LEFT_TAPS, len(signal) - RIGHT_TAPS - 1)
        windows = signal[frames[:, np.newaxis] + np.arange(-LEFT_TAPS, RIGHT_TAPS + 1)]
        points = windows @ interpolation_matrix()  # (frames, phases 0..3)
        odd_1 = points[:, 1] - (points[:, 0] + points[:, 2]) / 2
        odd_3 = points[:-1, 3] - (points[:-1, 2] + points[1:, 0]) / 2
        assert max(np.abs(odd_1).max(), np.abs(odd_3).max()) <= remainder * np.abs(signal).max()


@pytest.mark.parametrize("block_frames", [65536, 5000])
def test_chunks_cleared_by_the_bound_change_nothing(signals, monkeypatch, block_frames):
    """Quiet stretches between loud ones skip the odd phases: the same output, bit for bit, and
    the same peak as the full search everywhere."""
    music = signals.music_like(8.0, SR, seed=4)
    swell = np.where((np.arange(music.shape[1]) // (SR // 2)) % 3 == 0, 3.0, 0.25).astype(np.float32)
    audio = music / np.abs(music).max() * swell
    cleared = []
    needed_chunks = TruePeakLimiter._needed_chunks

    def counting(self, *args):
        needed = needed_chunks(self, *args)
        cleared.append(int(np.count_nonzero(~needed)))
        return needed

    monkeypatch.setattr(TruePeakLimiter, "_needed_chunks", counting)
    out, limiter = _limit(audio, block_frames)
    assert sum(cleared) >= 10
    monkeypatch.setattr(TruePeakLimiter, "_needed_chunks", lambda self, even, *args: np.ones(even.shape[2], bool))
    full, full_limiter = _limit(audio, block_frames)
    np.testing.assert_array_equal(out, full)
    assert limiter.peak_out == full_limiter.peak_out
    assert true_peak_8x_dbtp(out) <= -1.0 + DETECTOR_ERROR_DB


@pytest.mark.parametrize("frequency_hz", [30.0, 40.0, 60.0])
def test_a_loud_bass_note_is_held_down_without_distortion(frequency_hz):
    """A sustained bass sine 2.7 dB over the ceiling: a gain released between its peaks would
    ripple at twice its frequency (no hold, 50 dB/s: THD -33.5 / -36.6 / -41.9 dB); held, the
    harmonics stay 40 dB under it (plain FFT of the settled output, Blackman window)."""
    t = np.arange(2 * SR) / SR
    tone = np.tile(np.sin(2 * np.pi * frequency_hz * t), (2, 1)).astype(np.float32)
    out, _ = _limit(tone, 65536, ceiling_dbtp=-2.7)
    settled = out[0, SR // 2 : SR // 2 + SR]  # one second: 1 Hz bins
    power = np.abs(np.fft.rfft(settled * np.blackman(SR))) ** 2
    f0 = round(frequency_hz)

    def around(hz: int) -> float:
        return float(power[hz - 3 : hz + 4].sum())

    harmonics = sum(around(k * f0) for k in range(2, 40))
    assert 10 * np.log10(harmonics / around(f0)) <= -40.0
    assert true_peak_8x_dbtp(out) <= -2.7 + DETECTOR_ERROR_DB
