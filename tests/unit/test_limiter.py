"""The streaming true-peak limiter: the ceiling holds at every 4x-interpolated point, nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest

from surroundyou.engine.analysis import true_peak_dbtp
from surroundyou.engine.limiter import TruePeakLimiter, interpolation_matrix, sliding_extreme

SR = 44100


def _limit(audio, block_frames, ceiling_dbtp=-1.0):
    limiter = TruePeakLimiter(SR, audio.shape[0], ceiling_dbtp=ceiling_dbtp)
    pieces = [
        limiter.process(audio[:, start : start + block_frames]) for start in range(0, audio.shape[1], block_frames)
    ]
    return np.concatenate(pieces + [limiter.flush()], axis=1), limiter


@pytest.fixture(scope="module")
def clipped_noise():
    """Broadband noise clipped hard: inter-sample peaks ~6 dB over the samples, the worst case."""
    return np.clip(np.random.default_rng(1).standard_normal((2, 4 * SR)), -1, 1).astype(np.float32)


@pytest.mark.parametrize("block_frames", [65536, 1000, 37])
def test_ceiling_holds_and_length_is_kept(clipped_noise, block_frames):
    assert true_peak_dbtp(clipped_noise) > 5.0
    out, limiter = _limit(clipped_noise, block_frames)
    assert out.shape == clipped_noise.shape
    assert true_peak_dbtp(out) <= -0.99
    assert limiter.peak_out <= 10 ** (-1.0 / 20) + 1e-6


def test_ceiling_holds_from_the_very_first_sample():
    loud_start = np.full((2, 2000), 0.99, dtype=np.float32)
    out, _ = _limit(loud_start, 512)
    assert np.abs(out).max() <= 10 ** (-1.0 / 20) + 1e-6


def test_signals_under_the_ceiling_pass_unchanged_and_aligned(signals):
    quiet = signals.music_like(3.0, SR) * 0.2
    assert true_peak_dbtp(quiet) < -3.0
    out, _ = _limit(quiet, 4096)
    assert np.array_equal(out, quiet)


def test_a_peak_is_caught_ahead_and_released_at_the_set_rate():
    level = np.full((1, SR), 0.5, dtype=np.float32)
    level[0, SR // 2] = 1.0  # one 0 dBFS spike on a -6 dBFS level
    out, _ = _limit(level, 65536, ceiling_dbtp=-3.0)
    gain = out[0] / level[0]
    assert gain[SR // 2] <= 10 ** (-3.0 / 20) + 1e-6
    lookahead = round(0.002 * SR)
    assert np.all(gain[: SR // 2 - 2 * lookahead] == 1.0), "nothing changes before the look-ahead"
    assert np.all(np.diff(gain[SR // 2 - 2 * lookahead : SR // 2]) <= 1e-7), "a glide down, no jump"
    # 50 dB/s release: the 3 dB come back within 60 ms (+ the look-ahead), smoothly
    assert np.all(np.diff(gain[SR // 2 :]) >= -1e-7)
    assert np.all(gain[SR // 2 + round(0.06 * SR) + lookahead :] == 1.0)
    assert gain[SR // 2 + round(0.03 * SR)] == pytest.approx(10 ** (-1.5 / 20), abs=0.02)


def test_interpolator_and_sliding_extremes():
    taps = interpolation_matrix()
    assert taps.shape == (20, 3)
    np.testing.assert_allclose(taps.sum(axis=0), 1.0, atol=2e-3)  # unity gain at DC per phase
    values = np.random.default_rng(2).standard_normal(500)
    for size in (1, 2, 20, 89):
        expected = np.lib.stride_tricks.sliding_window_view(values, size)
        np.testing.assert_array_equal(sliding_extreme(values, size, np.maximum), expected.max(axis=1))
        np.testing.assert_array_equal(sliding_extreme(values, size, np.minimum), expected.min(axis=1))


def _reference_limited(audio, ceiling_dbtp, lookahead, release_db_per_s):
    """The gain computer of ``TruePeakLimiter``'s docstring, frame by frame over the whole signal."""
    from surroundyou.engine.limiter import CONTEXT_FRAMES, RIGHT_TAPS

    limiter = TruePeakLimiter(SR, audio.shape[0], ceiling_dbtp=ceiling_dbtp)
    padded = np.concatenate(
        [
            np.zeros((audio.shape[0], CONTEXT_FRAMES), np.float32),
            audio,
            np.zeros((audio.shape[0], lookahead + RIGHT_TAPS + 1), np.float32),
        ],
        axis=1,
    )
    limiter._frames = padded
    peaks = limiter._peaks(audio.shape[1] + lookahead).astype(np.float64)
    required = np.minimum(1.0, 10 ** (ceiling_dbtp / 20) / np.maximum(peaks, 1e-30))
    rho = 10 ** (release_db_per_s / SR / 20)
    held = np.empty(audio.shape[1])
    previous = 1.0
    for n in range(audio.shape[1]):
        previous = held[n] = min(required[n : n + lookahead + 1].min(), rho * previous)
    # frames before the stream: silence that already looked ahead into it
    history = np.minimum.accumulate(required[:lookahead])
    held_all = np.concatenate([history, held])
    gain = np.array([held_all[n : n + lookahead + 1].mean() for n in range(audio.shape[1])])
    return audio * np.minimum(gain, 1.0).astype(np.float32)


@pytest.mark.parametrize("block_frames", [65536, 3000])
def test_gain_is_computed_only_where_needed_and_agrees_with_the_frame_by_frame_definition(block_frames):
    """Peaks far apart, close together and one at the very start: the spans of work merge right."""
    rng = np.random.default_rng(5)
    audio = (0.3 * rng.standard_normal((2, SR // 2))).clip(-1, 1).astype(np.float32)
    for position, level in ((0, 0.99), (5000, 1.0), (5300, 2.0), (9000, 1.5), (16000, 0.95), (21000, 3.0)):
        audio[:, position : position + 40] = level
    out, _ = _limit(audio, block_frames, ceiling_dbtp=-1.0)
    expected = _reference_limited(audio, -1.0, round(0.002 * SR), 50.0)
    np.testing.assert_allclose(out, expected, rtol=0, atol=2e-6)
    assert not np.array_equal(out, audio)


def test_interpolator_gives_the_points_true_peak_dbtp_measures():
    """The limiter's 4x interpolation is resample_poly's (window ("kaiser", 8)): they agree on the peaks."""
    import scipy.signal

    from surroundyou.engine.limiter import LEFT_TAPS, OVERSAMPLING, RIGHT_TAPS

    signal = np.random.default_rng(3).standard_normal(400)
    reference = scipy.signal.resample_poly(signal, OVERSAMPLING, 1, window=("kaiser", 8.0))
    frames = np.arange(LEFT_TAPS, len(signal) - RIGHT_TAPS)
    windows = signal[frames[:, np.newaxis] + np.arange(-LEFT_TAPS, RIGHT_TAPS + 1)]
    between = windows @ interpolation_matrix()  # (frames, phases 1..3)
    np.testing.assert_allclose(
        between, reference[OVERSAMPLING * frames[:, np.newaxis] + np.arange(1, OVERSAMPLING)], rtol=0, atol=1e-12
    )
