"""The measurements are right: signals with KNOWN cues come out with those cues.

Each test builds a signal whose ILD, ITD, tilt, loudness, peak, clicks... are known by
construction, so a wrong measurement (sign, band, unit, window) fails here before it is
trusted by the quality tests of the renderer.
"""
import numpy as np
import pytest
import scipy.signal
from audio_files import write_audio
from pedalboard.io import AudioFile

from surroundyou import analysis

SR = 44100
PERIOD_S = 4.0


def moving_delay(signal: np.ndarray, delay_s: np.ndarray) -> np.ndarray:
    """``signal(t - delay_s(t))`` by linear interpolation (accurate for band-limited low-frequency content)."""
    index = np.arange(signal.shape[-1])
    return np.interp(index - delay_s * SR, index, signal)


def orbit_cues(signals, seconds: float, itd_ms: np.ndarray | None = None, ild_db: np.ndarray | None = None,
               tilt_db: np.ndarray | None = None) -> np.ndarray:
    """Stereo noise with given ITD (150-1900 Hz part), ILD (2-8 kHz part) and tilt (8.5-12 kHz part).

    ITD > 0 makes the left ear lead: left = x(t + ITD/2), right = x(t - ITD/2).
    ILD > 0 makes the left louder: gains 10^(+-ILD/40). The tilt part has the same gain
    10^(tilt/20) in both ears. Each part is exactly band-limited so the bands never mix.
    """
    frames = int(seconds * SR)
    low = signals.band_noise(seconds, 150.0, 1900.0, seed=1)[0]
    half_itd_s = np.zeros(frames) if itd_ms is None else itd_ms * 1e-3 / 2
    stereo = np.stack([moving_delay(low, -half_itd_s), moving_delay(low, half_itd_s)])
    high = signals.band_noise(seconds, 2000.0, 8000.0, seed=2)[0]
    ild_gain = np.ones(frames) if ild_db is None else 10 ** (ild_db / 40)
    stereo += np.stack([high * ild_gain, high / ild_gain])
    if tilt_db is not None:
        stereo += signals.band_noise(seconds, 8500.0, 12000.0, seed=3)[0] * 10 ** (tilt_db / 20)
    return stereo


def orbit_phase(seconds: float, period_s: float = PERIOD_S) -> np.ndarray:
    return 2 * np.pi * np.arange(int(seconds * SR)) / SR / period_s


def test_itd_and_ild_tracks_follow_known_moving_cues(signals):
    phase = orbit_phase(10.0)
    stereo = orbit_cues(signals, 10.0, itd_ms=0.6 * np.sin(phase), ild_db=10 * np.sin(phase))
    times_s, itd_ms = analysis.itd_track_ms(stereo, SR)
    _, ild_db = analysis.ild_track_db(stereo, SR)
    truth = np.sin(2 * np.pi * times_s / PERIOD_S)
    assert np.allclose(times_s[:3], [0.025, 0.075, 0.125], atol=1 / SR)
    assert np.max(np.abs(itd_ms - 0.6 * truth)) < 0.02
    assert np.max(np.abs(ild_db - 10 * truth)) < 0.2


def test_signs_left_leading_and_louder_are_positive(signals):
    delay_samples = 10  # 0.2268 ms
    low = signals.band_noise(2.0, 150.0, 1900.0, seed=4)[0]
    right_lags = np.stack([low, np.roll(low, delay_samples)])
    _, itd_ms = analysis.itd_track_ms(right_lags, SR)
    assert np.median(itd_ms) == pytest.approx(delay_samples / SR * 1e3, abs=0.003)
    _, itd_ms = analysis.itd_track_ms(right_lags[::-1], SR)
    assert np.median(itd_ms) == pytest.approx(-delay_samples / SR * 1e3, abs=0.003)

    high = signals.band_noise(2.0, 2000.0, 8000.0, seed=5)[0]
    _, ild_db = analysis.ild_track_db(np.stack([high, high * 10 ** (-6 / 20)]), SR)
    assert np.allclose(ild_db, 6.0, atol=0.01)


def test_ild_ignores_levels_outside_its_band(signals):
    """Only 2-8 kHz counts: a 12 dB difference at 500 Hz and 10 kHz does not move the ILD."""
    high = signals.band_noise(2.0, 2000.0, 8000.0, seed=6)
    outside = signals.band_noise(2.0, 300.0, 800.0, seed=7) + signals.band_noise(2.0, 9000.0, 12000.0, seed=8)
    stereo = np.concatenate([high + 4 * outside, high + outside])
    _, ild_db = analysis.ild_track_db(stereo, SR)
    assert np.max(np.abs(ild_db)) < 0.3


def test_tilt_track_follows_a_known_high_band_gain(signals):
    seconds = 8.0
    tilt_gain_db = 4 * np.cos(orbit_phase(seconds))
    low = signals.band_noise(seconds, 500.0, 2000.0, seed=9)[0]
    high = signals.band_noise(seconds, 5000.0, 12000.0, seed=10)[0] * 10 ** (tilt_gain_db / 20)
    times_s, tilt_db = analysis.tilt_track_db(np.stack([low + high, low + high]), SR)
    # Equal band rms: 0 dB mean. Around the truth the track scatters by ~0.8 dB rms: the random
    # level of 50 ms (Hann) of 1.5 kHz-wide noise.
    scatter_db = tilt_db - 4 * np.cos(2 * np.pi * times_s / PERIOD_S)
    assert abs(np.mean(scatter_db)) < 0.2 and np.sqrt(np.mean(scatter_db ** 2)) < 1.0
    fit = analysis.fit_sinusoid(times_s, tilt_db, PERIOD_S)
    assert fit.amplitude == pytest.approx(4.0, abs=0.2) and fit.phase_deg == pytest.approx(90.0, abs=3.0)


@pytest.mark.parametrize("direction", [1, -1])
def test_measure_orbit_recovers_period_amplitudes_and_front_back_phase(signals, direction):
    """A source going round (either way): ILD, ITD ~ sin(azimuth), tilt ~ cos(azimuth), 90° apart."""
    seconds = 11.0
    phase = direction * orbit_phase(seconds)
    stereo = orbit_cues(signals, seconds, itd_ms=0.65 * np.sin(phase), ild_db=12 * np.sin(phase),
                        tilt_db=8 * np.cos(phase))
    orbit = analysis.measure_orbit(stereo, SR)
    assert orbit.period_s == pytest.approx(PERIOD_S, rel=0.002)
    assert orbit.itd_amplitude_ms == pytest.approx(0.65, rel=0.02)
    assert orbit.ild_amplitude_db == pytest.approx(12.0, rel=0.02)
    assert min(orbit.ild_r2, orbit.itd_r2) > 0.999
    assert orbit.tilt_r2 > 0.9
    assert orbit.tilt_phase_deg_from_ild == pytest.approx(90.0, abs=5.0)
    # sin(+wt) has phase 0; sin(-wt) = sin(wt + 180°)
    assert analysis.phase_difference_deg(orbit.ild_fit.phase_deg, 0.0 if direction == 1 else 180.0) < 2.0


def test_measure_orbit_skips_silence_and_honours_a_period_hint(signals):
    seconds = 11.0
    phase = orbit_phase(seconds, period_s=3.0)
    stereo = orbit_cues(signals, seconds, itd_ms=0.6 * np.sin(phase), ild_db=10 * np.sin(phase))
    stereo[:, int(4.0 * SR):int(5.0 * SR)] = 0.0  # a second of digital silence mid-song
    orbit = analysis.measure_orbit(stereo, SR, period_hint_s=3.2)
    silent = (orbit.times_s > 4.0) & (orbit.times_s < 5.0)
    assert np.isnan(orbit.ild_db[silent][1:-1]).all() and np.isnan(orbit.itd_ms[silent][1:-1]).all()
    assert orbit.period_s == pytest.approx(3.0, rel=0.002)
    assert orbit.ild_r2 > 0.99 and orbit.itd_r2 > 0.99


def test_fit_sinusoid_is_exact_on_a_sinusoid_and_r2_drops_with_noise():
    times_s = np.arange(0, 12, 0.05)
    values = 1.5 + 3.0 * np.sin(2 * np.pi * times_s / 5.0 + np.radians(40.0))
    fit = analysis.fit_sinusoid(times_s, values, 5.0)
    assert (fit.offset_value, fit.amplitude, fit.phase_deg, fit.r2) == pytest.approx((1.5, 3.0, 40.0, 1.0))
    assert np.allclose(fit.evaluate(times_s), values)
    noisy = values + np.random.default_rng(0).normal(0, 3.0 / np.sqrt(2), len(times_s))  # SNR 1
    assert analysis.fit_sinusoid(times_s, noisy, 5.0).r2 == pytest.approx(0.5, abs=0.1)
    assert analysis.fit_sinusoid(times_s, np.ones_like(times_s), 5.0).r2 == 0.0
    assert analysis.fit_sinusoid(times_s, np.full_like(times_s, np.nan), 5.0).r2 == 0.0


def test_period_estimate_on_noisy_tracks():
    times_s = np.arange(0, 20, 0.05)
    rng = np.random.default_rng(1)
    tracks = [np.sin(2 * np.pi * times_s / 7.3) + rng.normal(0, 0.3, len(times_s)),
              np.cos(2 * np.pi * times_s / 7.3 + 1.0) + rng.normal(0, 0.3, len(times_s))]
    assert analysis.estimate_period_s(times_s, tracks) == pytest.approx(7.3, rel=0.01)
    with pytest.raises(ValueError, match="too short"):
        analysis.estimate_period_s(times_s[:20], tracks)


@pytest.mark.parametrize("a, b, expected", [(10, 100, 90), (100, 10, 90), (170, -170, 20), (0, 180, 180),
                                            (-90, 90, 180), (45, 45, 0)])
def test_phase_difference_folds_to_0_180(a, b, expected):
    assert analysis.phase_difference_deg(a, b) == pytest.approx(expected)


@pytest.mark.parametrize("channels, expected_lufs", [(2, -20.0), (1, -23.01)])
def test_integrated_loudness_of_the_bs1770_reference_tone(signals, channels, expected_lufs):
    """BS.1770-4: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS; so -20 dBFS in L and R reads -20."""
    tone = signals.sine(5.0, 997.0, amplitude=10 ** (-20 / 20), channels=channels)
    assert analysis.integrated_lufs(tone, SR) == pytest.approx(expected_lufs, abs=0.05)
    assert np.median(analysis.windowed_loudness_lufs(tone, SR)) == pytest.approx(expected_lufs, abs=0.05)


def test_loudness_ripple_measures_a_known_level_swing_not_the_noise(signals):
    noise = signals.pink_noise(12.0, seed=11, channels=2).astype(np.float64)
    swing_db = 1.0 * np.sin(orbit_phase(12.0))
    swung = noise * 10 ** (swing_db / 20)
    # p97.5-p2.5 of +-1 dB, smoothed by the 400 ms window: 2 * 0.997 * sinc(0.4/4) = 1.97 dB
    assert analysis.loudness_ripple_db(swung, SR, reference=noise) == pytest.approx(1.97, abs=0.05)
    assert analysis.loudness_ripple_db(noise * 0.5, SR, reference=noise) < 0.01
    assert analysis.loudness_ripple_db(noise, SR) > 0.1  # why the reference is there: noise fluctuates


def test_true_peak_finds_the_peak_between_samples(signals):
    """A quarter-rate sine sampled at +-45° has samples at 0.707 but a true peak of 1.0 (0 dBTP)."""
    t = np.arange(SR) / SR
    fade = scipy.signal.windows.tukey(SR, 0.1)  # an abrupt start would overshoot (Gibbs), truly
    between = (fade * np.sin(2 * np.pi * SR / 4 * t + np.pi / 4))[np.newaxis, :] * np.ones((2, 1))
    assert 20 * np.log10(np.max(np.abs(between))) == pytest.approx(-3.01, abs=0.01)
    assert analysis.true_peak_dbtp(between, SR) == pytest.approx(0.0, abs=0.1)
    assert analysis.true_peak_dbtp(fade * signals.sine(1.0, 997.0, amplitude=0.5), SR) == pytest.approx(-6.02, abs=0.02)


def test_out_of_band_energy_of_clean_modulated_and_clicking_sines(signals):
    t = np.arange(6 * SR) / SR
    clean = np.sin(2 * np.pi * 1000.0 * t)
    assert analysis.out_of_band_db(clean, SR, 1000.0, 50.0) < -120
    # What an orbit legitimately does: slow +-6 dB level swing and +-1 Hz Doppler wobble.
    orbiting = 10 ** (6 * np.sin(2 * np.pi * t / 4) / 20) * np.sin(2 * np.pi * 1000.0 * t
                                                                    - 4 / (2 * np.pi) * np.cos(2 * np.pi * t / 4))
    assert analysis.out_of_band_db(orbiting, SR, 1000.0, 50.0) < -100
    clicking = clean.copy()
    clicking[3 * SR:] = np.sin(2 * np.pi * 1000.0 * t[3 * SR:] + 0.05)  # a 3° phase jump
    assert analysis.out_of_band_db(clicking, SR, 1000.0, 50.0) > -70
    # The onset of the sine itself is skipped.
    assert analysis.out_of_band_db(np.concatenate([np.zeros(SR // 10), clean]), SR, 1000.0, 50.0) < -120


def test_energy_dips_finds_a_known_dip_not_the_noise(signals):
    noise = signals.pink_noise(6.0, seed=12, channels=2).astype(np.float64)
    dipped = noise.copy()
    dipped[:, 2 * SR:int(2.3 * SR)] *= 10 ** (-12 / 20)
    assert analysis.energy_dips_db(dipped, SR, reference=noise) == pytest.approx(12.0, abs=0.1)
    assert analysis.energy_dips_db(noise, SR, reference=noise) < 0.01
    left_only = np.stack([noise[0], np.zeros_like(noise[0])])
    assert analysis.energy_dips_db(left_only, SR, reference=noise[:1]) < 0.01


def test_band_correlation_of_same_unrelated_and_opposite_bass(signals):
    bass = signals.band_noise(6.0, 20.0, 100.0, seed=13, channels=2)
    treble = signals.band_noise(6.0, 300.0, 5000.0, seed=14, channels=2)
    shared = np.stack([bass[0], bass[0]]) + treble  # same bass, different treble
    assert analysis.band_correlation(shared, SR, 120.0) > 0.99
    assert abs(analysis.band_correlation(bass, SR, 120.0)) < 0.1
    assert analysis.band_correlation(np.stack([bass[0], -bass[0]]), SR, 120.0) < -0.99


def test_third_octave_bands_are_the_standard_ones(signals):
    centres_hz, levels_db = analysis.third_octave_levels_db(signals.pink_noise(2.0, seed=15, channels=2), SR)
    assert np.round(centres_hz).tolist() == [200, 251, 316, 398, 501, 631, 794, 1000, 1259, 1585, 1995, 2512,
                                             3162, 3981, 5012, 6310, 7943]
    assert levels_db.shape == (2, 20, 17)  # 100 ms windows
    # pink noise: equal energy per band (within its random spread)
    assert np.ptp(np.median(levels_db, axis=(0, 1))) < 2.0


def test_comb_filter_depth_sees_notches_but_not_smooth_changes(signals):
    noise = signals.pink_noise(4.0, seed=16, channels=2).astype(np.float64)
    delay = int(0.0004 * SR)  # two copies 0.4 ms apart: notches at 1.25, 3.75, 6.25 kHz
    combed = noise + np.roll(noise, delay, axis=-1)
    assert analysis.comb_filter_depth_db(combed, noise, SR) > 10
    shelf = scipy.signal.butter(1, 2000.0, btype="high", fs=SR, output="sos")  # head-shadow-like
    shadowed = 0.3 * noise + scipy.signal.sosfilt(shelf, noise, axis=-1)
    assert analysis.comb_filter_depth_db(shadowed * 3.0, noise, SR) < 1.5


def rendered_looking_song(signals, seconds: float) -> np.ndarray:
    """float32 stereo with an orbit's cues: ITD 0.6 ms, ILD 10 dB, tilt 6 dB a quarter turn apart."""
    phase = orbit_phase(seconds)
    return orbit_cues(signals, seconds, itd_ms=0.6 * np.sin(phase), ild_db=10 * np.sin(phase),
                      tilt_db=6 * np.cos(phase)).astype(np.float32)


def test_analyze_file_reads_a_rendered_looking_file(signals, tmp_path):
    seconds = 10.0
    stereo = rendered_looking_song(signals, seconds)
    path = tmp_path / "orbit.wav"
    with AudioFile(str(path), "w", SR, 2, bit_depth=32) as out:
        out.write(stereo)
    report = analysis.analyze_file(path)
    assert report["duration_s"] == pytest.approx(seconds)
    assert report["period_s"] == pytest.approx(PERIOD_S, rel=0.005)
    assert report["ild_amplitude_db"] == pytest.approx(10.0, rel=0.03)
    assert report["itd_amplitude_ms"] == pytest.approx(0.6, rel=0.03)
    assert report["integrated_lufs"] == pytest.approx(analysis.integrated_lufs(stereo, SR), abs=0.01)
    assert report["true_peak_dbtp"] == pytest.approx(analysis.true_peak_dbtp(stereo, SR), abs=0.01)


def test_analyze_file_reads_what_ffmpeg_decodes(signals, tmp_path):
    seconds = 10.0
    stereo = rendered_looking_song(signals, seconds)
    path = tmp_path / "orbit.m4a"
    write_audio(path, 0.5 * stereo, SR)
    report = analysis.analyze_file(path)
    assert report["period_s"] == pytest.approx(PERIOD_S, rel=0.01)
    assert report["ild_amplitude_db"] == pytest.approx(10.0, rel=0.1)
    assert report["itd_amplitude_ms"] == pytest.approx(0.6, rel=0.1)


def test_analyze_file_takes_mono(signals, tmp_path):
    path = tmp_path / "mono.wav"
    with AudioFile(str(path), "w", SR, 1, bit_depth=16) as out:
        out.write(signals.pink_noise(4.0, seed=17))
    report = analysis.analyze_file(path)
    assert report["channels"] == 1
    assert report["ild_amplitude_db"] < 0.01 and report["itd_amplitude_ms"] < 0.01


@pytest.mark.parametrize("seconds, audio, reason", [(1.0, "noise", "too short"), (4.0, "silence", "silent")])
def test_analyze_file_says_why_it_cannot_measure(signals, tmp_path, seconds, audio, reason):
    path = tmp_path / f"{audio}.wav"
    noise = signals.pink_noise(seconds, seed=18, channels=2)
    with AudioFile(str(path), "w", SR, 2, bit_depth=16) as out:
        out.write(noise if audio == "noise" else np.zeros_like(noise))
    with pytest.raises(ValueError, match=f"{audio}.wav: .*{reason}"):
        analysis.analyze_file(path)


def test_plot_orbit_draws_a_png(signals, tmp_path):
    phase = orbit_phase(9.0)
    stereo = orbit_cues(signals, 9.0, itd_ms=0.6 * np.sin(phase), ild_db=10 * np.sin(phase),
                        tilt_db=6 * np.cos(phase))
    orbit = analysis.measure_orbit(stereo, SR)
    azimuth_deg = analysis.azimuth_track_deg(orbit)
    quarter = np.argmin(np.abs(orbit.times_s - PERIOD_S / 4))  # ITD max: source on the left
    assert azimuth_deg[quarter] == pytest.approx(90.0, abs=15.0)
    png = analysis.plot_orbit(orbit, tmp_path / "orbit.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
