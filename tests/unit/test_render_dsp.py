"""The renderer's DSP pieces, each against its formula (crossover, head model, delay, control grid)."""

import numpy as np
import pytest
import scipy.signal

from surroundyou.engine.control_rate import control_indices, segment_ramps
from surroundyou.engine.crossover import linkwitz_riley4_sos
from surroundyou.engine.fractional_delay import (
    HALF_SAMPLE_TAPS,
    MINIMUM_DELAY_SAMPLES,
    TAP_OFFSETS,
    FractionalDelayLine,
    half_sample_taps,
    lagrange3_weights,
    mean_power,
)
from surroundyou.engine.loudness_weighting import correlated_mix_gain, k_weighting_power
from surroundyou.engine.orbit import Orbit, rounded_lateral_angle_rad, source_offsets_rad
from surroundyou.engine.spherical_head import (
    BELOW_FULL_DEG,
    HEAD_LOW_ILD_DB,
    PINNA_CUES,
    PINNA_HIGHEST,
    TORSO_SHADOW_DB,
    PinnaFilter,
    ShadowLoudness,
    below_horizon,
    brown_duda_alpha,
    ear_delays_s,
    low_row_gains,
    pinna_band_sos,
    pinna_response,
    rear_treble_gain,
    shadow_lowpass_ba,
    shadow_power,
    treble_weights,
    woodworth_itd_s,
)
from surroundyou.engine.streaming_sos import StreamingSos

SR = 44100


def test_linkwitz_riley_bands_sum_flat_and_cross_at_minus_6_db():
    lowpass, highpass = linkwitz_riley4_sos(120.0, SR)
    freqs_hz = np.geomspace(10, 20000, 400)
    _, low = scipy.signal.sosfreqz(lowpass, worN=freqs_hz, fs=SR)
    _, high = scipy.signal.sosfreqz(highpass, worN=freqs_hz, fs=SR)
    assert np.max(np.abs(np.abs(low + high) - 1)) < 1e-9  # an all-pass: flat magnitude
    for band in (lowpass, highpass):
        _, at_crossover = scipy.signal.sosfreqz(band, worN=[120.0], fs=SR)
        assert 20 * np.log10(abs(at_crossover[0])) == pytest.approx(-6.02, abs=0.01)
    _, one_octave_up = scipy.signal.sosfreqz(lowpass, worN=[240.0], fs=SR)
    _, two_octaves_up = scipy.signal.sosfreqz(lowpass, worN=[480.0], fs=SR)
    assert 20 * np.log10(abs(one_octave_up[0] / two_octaves_up[0])) == pytest.approx(24, abs=1.5)  # 24 dB/octave


def test_crossover_rejects_a_corner_above_nyquist():
    with pytest.raises(ValueError, match="crossover_hz"):
        linkwitz_riley4_sos(30000.0, SR)


def test_streaming_filter_in_blocks_equals_one_call_bit_for_bit():
    _, highpass = linkwitz_riley4_sos(120.0, SR)
    signal = np.random.default_rng(1).standard_normal((2, 10000)).astype(np.float32)
    whole = StreamingSos(highpass, 2)(signal)
    streaming = StreamingSos(highpass, 2)
    pieces = [streaming(signal[:, start:stop]) for start, stop in ((0, 1), (1, 700), (700, 701), (701, 10000))]
    assert np.array_equal(np.concatenate(pieces, axis=1), whole)


def test_woodworth_itd_is_0_656_ms_at_the_side_and_odd():
    assert woodworth_itd_s(np.pi / 2) * 1e3 == pytest.approx(0.656, abs=0.001)
    assert woodworth_itd_s(0.0) == 0.0
    lateral = np.linspace(-np.pi / 2, np.pi / 2, 11)
    assert np.allclose(woodworth_itd_s(-lateral), -woodworth_itd_s(lateral))


def test_ear_delays_carry_the_itd_with_the_near_ear_almost_undelayed():
    itd_s = np.linspace(-0.7e-3, 0.7e-3, 141)
    left_s, right_s = ear_delays_s(itd_s)
    assert np.allclose(left_s - right_s, itd_s, rtol=0, atol=1e-15)
    assert np.all(left_s >= 0) and np.all(right_s >= 0)
    assert right_s[-1] < 1e-6 and left_s[0] < 1e-6  # the near ear: < 1 microsecond at the side


def test_brown_duda_alpha_follows_the_paper():
    assert brown_duda_alpha(0.0) == pytest.approx(2.0)  # facing the ear: +6 dB of treble
    assert brown_duda_alpha(np.radians(150)) == pytest.approx(0.1)  # alpha_min at theta_min
    assert brown_duda_alpha(np.radians(90)) == pytest.approx(1.05 + 0.95 * np.cos(np.radians(108)))


def test_shadow_filters_are_complementary_with_the_corner_at_2_w0():
    b, a = shadow_lowpass_ba(SR)
    freqs_hz = np.array([0.0, 2 * 343 / 0.0875 / (2 * np.pi), 20000.0])
    _, lowpass = scipy.signal.freqz(b, a, worN=freqs_hz, fs=SR)
    _, highpass = scipy.signal.freqz(np.subtract(a, b), a, worN=freqs_hz, fs=SR)
    assert np.allclose(lowpass + highpass, 1.0)
    assert abs(lowpass[0]) == pytest.approx(1.0)
    assert 20 * np.log10(abs(lowpass[1])) == pytest.approx(-3.01, abs=0.01)  # 1.25 kHz


def test_treble_weights_keep_brown_duda_ild_and_constant_treble_power():
    lateral = np.radians(np.linspace(-90, 90, 19))
    front_back = np.cos(lateral)
    w_left, w_right = treble_weights(lateral, front_back, 1.0)
    assert np.allclose(w_left / w_right, brown_duda_alpha(np.pi / 2 + lateral) / brown_duda_alpha(np.pi / 2 - lateral))
    assert np.allclose((w_left**2 + w_right**2) / 2, rear_treble_gain(front_back, 1.0) ** 2)
    # the rear cut: 6 dB from front to back, its power over a turn 1 (the long-term treble is kept)
    assert 20 * np.log10(rear_treble_gain(1.0, 1.0) / rear_treble_gain(-1.0, 1.0)) == pytest.approx(6.0)
    assert np.mean(rear_treble_gain(np.cos(np.radians(np.arange(360))), 1.0) ** 2) == pytest.approx(1.0, abs=1e-6)
    assert treble_weights(lateral, front_back, 0.0)[0] == pytest.approx(
        np.ones_like(lateral) * rear_treble_gain(front_back, 0.0)
    )  # intensity 0: no cues


def test_the_low_rows_level_difference_is_the_heads_plus_below_the_horizon_the_torsos():
    elevation = np.radians(np.linspace(-90, 90, 3601))
    below = below_horizon(elevation)
    assert np.all(below[elevation >= 0] == 0.0) and np.all(below[elevation <= -np.radians(BELOW_FULL_DEG)] == 1.0)
    assert np.all(np.diff(below) <= 0)  # deeper, never weaker
    assert np.max(np.abs(np.diff(below, 2))) < 1e-3  # no corner (no click where a path dips under)
    lateral = np.radians(np.linspace(-90, 90, 19))
    for elevation, level_difference_db in ((0.0, HEAD_LOW_ILD_DB), (-np.pi / 4, HEAD_LOW_ILD_DB + TORSO_SHADOW_DB)):
        left, right = low_row_gains(lateral, np.full_like(lateral, elevation), 1.0)
        assert 20 * np.log10(left / right) == pytest.approx(-level_difference_db * np.sin(lateral))  # far ear down
        assert left**2 + right**2 == pytest.approx(2 * np.ones_like(lateral))  # the low row's power kept
    assert low_row_gains(0.0, -np.pi / 4, 1.0) == (1.0, 1.0)  # the median plane: none


def test_loudness_gains_keep_a_source_below_as_loud_as_on_the_horizon():
    loudness = ShadowLoudness(SR, 120.0)
    lateral = np.radians(np.linspace(-90, 90, 19))
    w_left, w_right = (w[np.newaxis] for w in treble_weights(lateral, np.cos(lateral), 1.0, 1.5))
    low = low_row_gains(lateral, np.full_like(lateral, -np.pi / 4), 1.0)
    gains = loudness.source_gains(w_left, w_right, low_gains=low)[0]
    left, right = np.moveaxis(loudness.flat_ear_terms, 1, 0)
    power = shadow_power(left[:, :1], gains * low[0], gains * w_left[0])
    power += shadow_power(right[:, :1], gains * low[1], gains * w_right[0])
    assert power == pytest.approx(np.ones_like(lateral))


def test_rounded_lateral_angle_keeps_front_and_sides_and_has_no_corner():
    assert rounded_lateral_angle_rad(0.0, 0.0) == 0.0
    assert rounded_lateral_angle_rad(np.pi / 2, 0.0) == pytest.approx(np.pi / 2)
    assert rounded_lateral_angle_rad(-np.pi / 2, 0.0) == pytest.approx(-np.pi / 2)
    azimuth = np.pi / 2 + np.radians(np.linspace(-10, 10, 2001))
    slope = np.diff(rounded_lateral_angle_rad(azimuth, 0.0))
    assert np.max(np.abs(np.diff(slope))) < 0.05 * np.max(np.abs(slope))  # the slope turns smoothly


def test_loudness_gains_keep_one_source_as_loud_as_it_came_in():
    loudness = ShadowLoudness(SR, 120.0)
    unshadowed = loudness.source_gains(np.ones((1, 1)), np.ones((1, 1)))
    # power split evenly over two ears, raised by what the ear delays' interpolation takes from the
    # top few kHz (mean_power: 0.1 dB of a music-like spectrum's loudness)
    assert 1 / np.sqrt(2) * 10 ** (0.05 / 20) < unshadowed[0, 0] < 1 / np.sqrt(2) * 10 ** (0.15 / 20)
    assert correlated_mix_gain(np.array(1.0)) == 1.0


def test_k_weighting_is_bs1770s():
    power_db = 10 * np.log10(k_weighting_power(np.array([1000.0, 10000.0, 20.0]), 48000))
    assert power_db[0] == pytest.approx(0.7, abs=0.1)
    assert power_db[1] == pytest.approx(4.0, abs=0.1)
    assert power_db[2] < -10


def test_lagrange_weights_sum_to_one_and_hit_integer_delays():
    fractions = np.linspace(-0.2, 1.2, 57)
    assert np.allclose(lagrange3_weights(fractions).sum(axis=0), 1.0)
    assert np.allclose(lagrange3_weights(0.0), [0, 1, 0, 0]) and np.allclose(lagrange3_weights(1.0), [0, 0, 1, 0])


def sine(frames, frequency_hz=1000.0, start=0):
    return np.sin(2 * np.pi * frequency_hz * (start + np.arange(frames)) / SR).astype(np.float32)


def test_a_constant_fractional_delay_is_exact_to_1e_5_at_1_khz():
    line = FractionalDelayLine(40, 64)
    frames = 8192
    for delay in (MINIMUM_DELAY_SAMPLES + 0.5, 13.3):
        delays = np.full(len(control_indices(0, frames, 64)), delay)
        out = line.process(sine(frames), delays, 0)
        expected = np.sin(2 * np.pi * 1000 * (np.arange(frames) - delay) / SR)
        assert np.max(np.abs(out[100:] - expected[100:])) < 1e-5


def delay_taps(delay_samples: float) -> tuple[int, np.ndarray]:
    """The delay line at a fixed delay written out as one filter on the signal, from its parts:
    ``(first, taps)``, the output ``sum_k taps[k] x[n - first - k]``."""
    doubled = 2 * float(delay_samples)
    m = int(np.floor(doubled))
    half, reach = half_sample_taps(), HALF_SAMPLE_TAPS // 2
    first = (m - 1) // 2 - reach
    taps = np.zeros((m + 3) // 2 + reach - first + 1)
    for offset, weight in zip(TAP_OFFSETS, lagrange3_weights(np.array(doubled - m)), strict=True):
        position = m + int(offset)  # half-samples back
        if position % 2 == 0:
            taps[position // 2 - first] += weight
        else:  # x(k + 1/2), k = n - (position + 1) / 2, reads x[k - reach + 1 .. k + reach]
            newest = (position + 1) // 2 - reach
            taps[newest - first : newest - first + HALF_SAMPLE_TAPS] += weight * half[::-1]
    return first, taps


def test_the_delay_line_is_its_filter_and_a_whole_delay_passes_the_samples_unchanged():
    signal = np.random.default_rng(1).standard_normal(5000).astype(np.float32)
    frames = np.arange(100, 4900)
    for delay in (MINIMUM_DELAY_SAMPLES, 8.3, 9.75, 12.5):
        out = FractionalDelayLine(20, 16).process(signal, np.full(len(control_indices(0, 5000, 16)), delay), 0)
        first, taps = delay_taps(delay)
        expected = sum(tap * signal[frames - first - k].astype(np.float64) for k, tap in enumerate(taps))
        np.testing.assert_allclose(out[frames], expected, atol=2e-6)
    _, taps = delay_taps(11.0)
    assert np.count_nonzero(taps) == 1


def test_the_delays_mean_power_response_is_what_a_delay_gliding_through_every_fraction_passes():
    """``mean_power`` (the loudness model's account of the ear delays) against white noise through
    the delay line gliding over two samples: the spectrum loses what it says, and within 0.35 dB
    up to 16 kHz (4-point Lagrange at the signal's own rate: 2.3 dB at 16 kHz)."""
    noise = np.random.default_rng(5).standard_normal(2**18).astype(np.float32)
    step = 16
    delays = np.linspace(MINIMUM_DELAY_SAMPLES, MINIMUM_DELAY_SAMPLES + 2.0, len(control_indices(0, len(noise), step)))
    delayed = FractionalDelayLine(MINIMUM_DELAY_SAMPLES + 3, step).process(noise, delays, 0)
    freqs_hz, noise_power = scipy.signal.welch(noise, SR, nperseg=512)
    _, delayed_power = scipy.signal.welch(delayed, SR, nperseg=512)
    chosen = (freqs_hz >= 1000) & (freqs_hz <= 20000)
    measured_db = 10 * np.log10(delayed_power[chosen] / noise_power[chosen])
    np.testing.assert_allclose(measured_db, 10 * np.log10(mean_power(freqs_hz[chosen] / SR)), atol=0.3)
    assert np.all(np.abs(measured_db[freqs_hz[chosen] <= 16000]) < 0.35)


@pytest.mark.parametrize("frequency_hz", [1000.0, 16000.0, 18000.0])
def test_a_gliding_delay_keeps_the_treble_steady(frequency_hz):
    """As an orbit's ear delay glides through every fraction of a sample (up to ~25 samples a second),
    a tone keeps its level: within 0.4 dB at 16 kHz, 0.6 dB at 18 kHz (Lagrange interpolation at
    the signal's own rate swung a 16 kHz tone by 4.6 dB, an 18 kHz one by 7.6 dB)."""
    frames = 4 * SR
    grid = control_indices(0, frames, 16) * 16
    delays = MINIMUM_DELAY_SAMPLES + 12 * (1 - np.cos(2 * np.pi * grid / frames))
    out = FractionalDelayLine(40, 16).process(sine(frames, frequency_hz), delays, 0)
    envelope_db = 20 * np.log10(np.abs(scipy.signal.hilbert(out.astype(np.float64)))[SR // 4 : -SR // 4])
    assert envelope_db.max() - envelope_db.min() < {1000.0: 0.01, 16000.0: 0.4, 18000.0: 0.6}[frequency_hz]


def test_a_gliding_delay_leaves_a_sine_clean():
    """The delay sweeps over 29 samples and back (a fast orbit's worth) and the sine stays a sine."""
    frames = 4 * SR
    grid = control_indices(0, frames, 64) * 64
    delays = MINIMUM_DELAY_SAMPLES + 0.5 + 14.5 * (1 - np.cos(2 * np.pi * grid / frames))
    out = FractionalDelayLine(40, 64).process(sine(frames), delays, 0)
    spectrum = np.abs(np.fft.rfft(out * scipy.signal.windows.blackmanharris(frames))) ** 2
    freqs_hz = np.fft.rfftfreq(frames, 1 / SR)
    outside = np.abs(freqs_hz - 1000) > 50
    assert 10 * np.log10(spectrum[outside].sum() / spectrum.sum()) < -100


def test_delay_line_in_blocks_equals_one_call_bit_for_bit():
    frames = 3000
    grid = control_indices(0, frames, 64) * 64
    delay_at = lambda index: MINIMUM_DELAY_SAMPLES + 10 * np.sin(index / 500.0) ** 2  # noqa: E731
    signal = np.random.default_rng(2).standard_normal(frames).astype(np.float32)
    whole = FractionalDelayLine(30, 64).process(signal, delay_at(grid), 0)
    line = FractionalDelayLine(30, 64)
    pieces = []
    for start, stop in ((0, 5), (5, 64), (64, 1000), (1000, 1001), (1001, 3000)):
        points = control_indices(start, stop - start, 64) * 64
        pieces.append(line.process(signal[start:stop], delay_at(points), start))
    assert np.array_equal(np.concatenate(pieces), whole)


def test_delay_line_over_many_chunks_of_weights_equals_one_call_bit_for_bit():
    frames, step = 40000, 16  # several of control_rate.CHUNK_FRAMES, blocks starting off the grid
    grid = control_indices(0, frames, step) * step
    delay_at = lambda index: MINIMUM_DELAY_SAMPLES + 25 * np.sin(index / 3000.0) ** 2  # noqa: E731
    signal = np.random.default_rng(4).standard_normal(frames).astype(np.float32)
    whole = FractionalDelayLine(40, step).process(signal, delay_at(grid), 0)
    line = FractionalDelayLine(40, step)
    pieces = []
    for start, stop in ((0, 9000), (9000, 9001), (9001, 30007), (30007, 40000)):
        points = control_indices(start, stop - start, step) * step
        pieces.append(line.process(signal[start:stop], delay_at(points), start))
    assert np.array_equal(np.concatenate(pieces), whole)
    steady = FractionalDelayLine(30, step).process(signal, np.full(len(grid), 11.0), 0)
    assert np.array_equal(steady[11:], signal[:-11])  # a whole-sample delay, through every chunk


def test_control_ramps_join_the_grid_values_and_do_not_depend_on_the_block():
    values = np.random.default_rng(3).standard_normal(20)
    whole = segment_ramps(values[:-1], values[1:], 0, 19 * 64, 64)
    assert np.allclose(whole[::64], values[:-1])
    part = segment_ramps(values[2:-1], values[3:], 130, 500, 64)
    assert np.array_equal(part, whole[130:630])


def test_orbit_starts_in_front_turns_clockwise_and_wobbles_twice_a_turn():
    orbit = Orbit(period_s=8.0, sample_rate=SR, clockwise=True, elevation_wobble_deg=10.0)
    quarter = 2 * SR
    assert orbit.azimuth_rad(0) == 0.0
    assert orbit.azimuth_rad(quarter) == pytest.approx(np.pi / 2)  # right
    assert Orbit(8.0, SR, clockwise=False).azimuth_rad(quarter) == pytest.approx(-np.pi / 2)  # left
    assert orbit.azimuth_rad(4 * quarter) == pytest.approx(0.0)
    assert np.degrees(orbit.elevation_rad(quarter // 2)) == pytest.approx(10.0)
    assert np.degrees(orbit.elevation_rad(3 * quarter // 2)) == pytest.approx(-10.0)


def test_left_channel_sits_left_of_the_orbit_centre():
    assert np.degrees(source_offsets_rad(2, 60.0)).tolist() == pytest.approx([-30.0, 30.0])
    assert source_offsets_rad(1, 60.0).tolist() == [0.0]


@pytest.mark.parametrize("sample_rate", [22050, 44100, 96000])
def test_pinna_cues_are_the_sum_of_their_band_passes(sample_rate):
    """``D = sum_k a_k BP_k`` as one cascade: its response and its samples are those of the bands in parallel."""
    freqs_hz = np.linspace(0, sample_rate / 2, 2049)
    noise = np.random.default_rng(2).standard_normal(4000)
    for bands in PINNA_CUES:
        kept = [(centre, q, a) for centre, q, a in bands if centre < PINNA_HIGHEST * sample_rate]
        want = sum(
            (
                a * scipy.signal.sosfreqz(pinna_band_sos(c, q, sample_rate), worN=freqs_hz, fs=sample_rate)[1]
                for c, q, a in kept
            ),
            np.zeros(len(freqs_hz), dtype=complex),
        )
        np.testing.assert_allclose(pinna_response(sample_rate, bands, freqs_hz), want, atol=1e-12)
        filtered = sum(
            (a * scipy.signal.sosfilt(pinna_band_sos(c, q, sample_rate), noise) for c, q, a in kept),
            np.zeros(len(noise)),
        )
        pinna = PinnaFilter(sample_rate, bands)
        np.testing.assert_allclose(np.concatenate([pinna(noise[:1500]), pinna(noise[1500:])]), filtered, atol=1e-12)


def test_shadow_low_pass_is_scipys_bilinear_transform():
    corner = 2 * 343.0 / 0.0875
    warped = 2 * SR * np.tan(corner / (2 * SR))
    b, a = shadow_lowpass_ba(SR)
    want_b, want_a = scipy.signal.bilinear([warped], [1.0, warped], fs=SR)
    np.testing.assert_allclose(b, want_b, rtol=1e-13)
    np.testing.assert_allclose(a, want_a, rtol=1e-13)
