"""The cue tracking is right: signals with KNOWN cues come out with those cues.

Each test builds a signal whose ILD, ITD, tilt, loudness, peak... are known by construction
(tests/known_cues.py), so a wrong measurement (sign, band, unit, window) fails here before it is
trusted by the quality tests of the renderer. (The test instruments: test_instruments.py.)
"""

import re

import numpy as np
import pytest
import scipy.signal
from instruments import true_peak_8x_dbtp
from known_cues import PERIOD_S, SR, orbit_cues, orbit_phase, rendered_looking_song
from pedalboard.io import AudioFile

from surroundyou.engine import analysis


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
    assert abs(np.mean(scatter_db)) < 0.2 and np.sqrt(np.mean(scatter_db**2)) < 1.0
    fit = analysis.fit_sinusoid(times_s, tilt_db, PERIOD_S)
    assert fit.amplitude == pytest.approx(4.0, abs=0.2) and fit.phase_deg == pytest.approx(90.0, abs=3.0)


@pytest.mark.parametrize("direction", [1, -1])
def test_measure_orbit_recovers_period_amplitudes_and_front_back_phase(signals, direction):
    """A source going round (either way): ILD, ITD ~ sin(azimuth), tilt ~ cos(azimuth), 90° apart."""
    seconds = 11.0
    phase = direction * orbit_phase(seconds)
    stereo = orbit_cues(
        signals, seconds, itd_ms=0.65 * np.sin(phase), ild_db=12 * np.sin(phase), tilt_db=8 * np.cos(phase)
    )
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
    stereo[:, int(4.0 * SR) : int(5.0 * SR)] = 0.0  # a second of digital silence mid-song
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
    tracks = [
        np.sin(2 * np.pi * times_s / 7.3) + rng.normal(0, 0.3, len(times_s)),
        np.cos(2 * np.pi * times_s / 7.3 + 1.0) + rng.normal(0, 0.3, len(times_s)),
    ]
    assert analysis.estimate_period_s(times_s, tracks) == pytest.approx(7.3, rel=0.01)
    with pytest.raises(ValueError, match="too short"):
        analysis.estimate_period_s(times_s[:20], tracks)


@pytest.mark.parametrize(
    "a, b, expected", [(10, 100, 90), (100, 10, 90), (170, -170, 20), (0, 180, 180), (-90, 90, 180), (45, 45, 0)]
)
def test_phase_difference_folds_to_0_180(a, b, expected):
    assert analysis.phase_difference_deg(a, b) == pytest.approx(expected)


def test_true_peak_finds_the_peak_between_samples(signals):
    """A quarter-rate sine sampled at +-45° has samples at 0.707 but a true peak of 1.0 (0 dBTP)."""
    t = np.arange(SR) / SR
    fade = scipy.signal.windows.tukey(SR, 0.1)  # an abrupt start would overshoot (Gibbs), truly
    between = (fade * np.sin(2 * np.pi * SR / 4 * t + np.pi / 4))[np.newaxis, :] * np.ones((2, 1))
    assert 20 * np.log10(np.max(np.abs(between))) == pytest.approx(-3.01, abs=0.01)
    assert analysis.true_peak_dbtp(between) == pytest.approx(0.0, abs=0.1)
    assert analysis.true_peak_dbtp(fade * signals.sine(1.0, 997.0, amplitude=0.5)) == pytest.approx(-6.02, abs=0.02)


def test_true_peak_of_a_file_that_starts_or_ends_loud_agrees_with_an_independent_meter():
    """Silence before the first and after the last sample, as a player hears the file: a loud
    start (or end) must not read the wrap-around of its chunk's far end (it read 0.011-0.014 dB
    off). Band-limited noise, 3 s (more than one chunk), loudest in its first 1000 samples."""
    noise = np.random.default_rng(1).standard_normal(3 * SR)
    band_limited = scipy.signal.sosfilt(scipy.signal.butter(8, 12000, fs=SR, output="sos"), noise)
    loud_start = band_limited * (0.6 + 0.4 * np.exp(-np.arange(3 * SR) / 300.0))
    loud_start = 0.9 * loud_start / np.max(np.abs(loud_start)) * np.ones((2, 1))
    for audio in (loud_start, loud_start[:, ::-1].copy()):
        assert analysis.true_peak_dbtp(audio) == pytest.approx(true_peak_8x_dbtp(audio), abs=0.003)


def test_analyze_file_reads_a_rendered_looking_file(signals, tmp_path):
    seconds = 10.0
    stereo = rendered_looking_song(signals, seconds)
    path = tmp_path / "orbit.wav"
    with AudioFile(str(path), "w", SR, 2, bit_depth=32) as out:
        out.write(stereo)
    report, _ = analysis.analyze_file(path)
    assert report["duration_s"] == pytest.approx(seconds)
    assert report["period_s"] == pytest.approx(PERIOD_S, rel=0.005)
    assert report["ild_amplitude_db"] == pytest.approx(10.0, rel=0.03)
    assert report["itd_amplitude_ms"] == pytest.approx(0.6, rel=0.03)
    assert report["integrated_lufs"] == pytest.approx(analysis.integrated_lufs(stereo, SR), abs=0.01)
    assert report["true_peak_dbtp"] == pytest.approx(analysis.true_peak_dbtp(stereo), abs=0.01)


def test_analyze_file_takes_mono(signals, tmp_path):
    path = tmp_path / "mono.wav"
    with AudioFile(str(path), "w", SR, 1, bit_depth=16) as out:
        out.write(signals.pink_noise(4.0, seed=17))
    report, _ = analysis.analyze_file(path)
    assert report["channels"] == 1
    assert report["ild_amplitude_db"] < 0.01 and report["itd_amplitude_ms"] < 0.01


@pytest.mark.parametrize(
    "seconds, audio, told",
    [
        (1.0, "noise", "noise.wav (1 s long): too short to measure an orbit"),
        (0.1, "noise", "noise.wav (0.1 s long): too short to measure an orbit"),  # was "tracks of 0.0 s"
        (1 / SR, "sample", "sample.wav: the song is too short to convert"),
        (4.0, "silence", "silence.wav (4 s long): the audio is silent"),
    ],
)
def test_analyze_file_says_why_it_cannot_measure(signals, tmp_path, seconds, audio, told):
    """A file too short for a period is named too short (at 0.1 s it was "silent"; one sample raised IndexError)."""
    path = tmp_path / f"{audio}.wav"
    noise = signals.pink_noise(max(seconds, 0.1), seed=18, channels=2)[:, : round(seconds * SR)]
    with AudioFile(str(path), "w", SR, 2, bit_depth=16) as out:
        out.write(np.zeros_like(noise) if audio == "silence" else noise)
    with pytest.raises(ValueError, match=re.escape(told)):
        analysis.analyze_file(path)


def test_coloration_reads_a_known_shelf_against_the_original_and_a_tilt_alone(signals):
    pink = signals.pink_noise(4.0, seed=19, channels=2).astype(np.float64)
    # a first-order treble shelf: 0 dB in the bass, +6 dB in the treble (zero at 2 kHz, pole at 4 kHz)
    shelf = scipy.signal.bilinear([2.0, 2 * np.pi * 4000.0], [1.0, 2 * np.pi * 4000.0], fs=SR)
    shelved = scipy.signal.lfilter(*shelf, pink, axis=-1)
    assert analysis.coloration_db(pink, SR, original=pink) == pytest.approx(0.0, abs=1e-6)
    centres_hz, _ = analysis.long_term_third_octaves_db(pink, SR)
    _, response = scipy.signal.freqz(*shelf, worN=centres_hz, fs=SR)
    gain_db = 20 * np.log10(np.abs(response))
    expected_db = np.max(np.abs(gain_db - gain_db.mean()))  # the shelf's departure from its mean level
    assert analysis.coloration_db(shelved, SR, original=pink) == pytest.approx(expected_db, abs=0.3)
    assert analysis.coloration_db(pink, SR) < 1.5  # pink noise: flat about its (zero) tilt
    assert analysis.spectral_tilt_db_per_octave(pink, SR) == pytest.approx(0.0, abs=0.3)
    white = signals.band_noise(4.0, 20.0, 20000.0, seed=20, channels=2)
    assert analysis.spectral_tilt_db_per_octave(white, SR) == pytest.approx(3.0, abs=0.3)


def test_interaural_coherence_of_one_source_and_of_two_unrelated_ones(signals):
    noise = signals.pink_noise(4.0, seed=21, channels=2)
    same = analysis.interaural_coherence(np.repeat(noise[:1], 2, axis=0), SR)
    apart = analysis.interaural_coherence(noise, SR)
    opposite = analysis.interaural_coherence(np.stack([noise[0], -noise[0]]), SR)
    assert list(same) == [250.0, 500.0, 1000.0, 2000.0]
    assert all(value == pytest.approx(1.0, abs=1e-6) for value in same.values())
    assert all(abs(value) < 0.1 for value in apart.values())
    assert all(value == pytest.approx(-1.0, abs=1e-6) for value in opposite.values())


@pytest.mark.parametrize("rate", [16000, 22050])
def test_timbre_measures_stop_under_the_nyquist_frequency(signals, rate):
    """At low rates the third-octaves past 95 % of Nyquist are left out: a resampler's anti-alias
    roll-off there (an 8th-order low-pass at 0.45 fs) is no colouring, and pink noise has no tilt."""
    pink = signals.pink_noise(4.0, rate, seed=23, channels=2).astype(np.float64)
    anti_aliased = scipy.signal.sosfilt(scipy.signal.butter(8, 0.45 * rate, fs=rate, output="sos"), pink)
    centres_hz, _ = analysis.long_term_third_octaves_db(pink, rate)
    assert centres_hz[-1] * 10**0.05 <= 0.475 * rate
    assert analysis.coloration_db(anti_aliased, rate, original=pink) < 0.5
    assert analysis.spectral_tilt_db_per_octave(pink, rate) == pytest.approx(0.0, abs=0.3)


@pytest.mark.parametrize("original_rate", [96000, 22050])
def test_a_file_is_measured_against_an_original_at_another_rate_at_the_lower(signals, tmp_path, original_rate):
    """An MP3 of a 96 kHz song is at 48 kHz, a 22.05 kHz song converted at 44.1 kHz: each is read
    against its original at the lower rate, frame for frame (the original's own copy reads 0 dB)."""
    pink = signals.pink_noise(3.0, original_rate, seed=24, channels=2)
    file_rate = 48000 if original_rate > 48000 else 2 * original_rate
    same = scipy.signal.resample_poly(pink, file_rate, original_rate, axis=-1).astype(np.float32)
    for name, audio, rate in (("original.wav", pink, original_rate), ("file.wav", same, file_rate)):
        with AudioFile(str(tmp_path / name), "w", rate, 2, bit_depth=32) as file:
            file.write(audio)
    analysed, duration_s = analysis.read_analysed(tmp_path / "file.wav", tmp_path / "original.wav")
    compared_rate = min(file_rate, original_rate)
    assert (analysed.sample_rate, analysed.compared_rate, duration_s) == (file_rate, compared_rate, 3.0)
    assert analysed.compared_stereo.shape == analysed.original.shape == (2, 3 * compared_rate)
    assert np.corrcoef(analysed.compared_stereo[0], analysed.original[0])[0, 1] > 0.99  # lined up
    coloration = analysis.coloration_db(analysed.compared_stereo, compared_rate, analysed.original)
    assert coloration < 0.05


def test_a_preview_is_measured_against_the_window_of_its_song_it_was_cut_from(signals, tmp_path, monkeypatch):
    """``convert --preview`` renders the song's loudest 30 s; named as the original, the whole song is
    read from where the preview starts (the report's previewStartS), frame for frame."""
    from surroundyou.engine.convert import convert_file
    from surroundyou.job_options import render_options_for

    song = signals.music_like(36.0, SR, seed=31)
    song[:, 26 * SR :] *= 2.0  # the loudest 30 s end with the song: they start 6 s in
    with AudioFile(str(tmp_path / "song.wav"), "w", SR, 2, bit_depth=32) as out:
        out.write(song)
    report = convert_file(tmp_path / "song.wav", tmp_path / "song.preview.wav", render_options_for({}), preview=True)
    assert report.preview_start_s == pytest.approx(6.0)

    reads: list[float] = []  # the original is decoded once, from the preview's start
    read_span = analysis.read_span
    monkeypatch.setattr(analysis, "read_span", lambda path, *span: reads.append(span) or read_span(path, *span))
    analysed, duration_s = analysis.read_analysed(tmp_path / "song.preview.wav", tmp_path / "song.wav")
    assert duration_s == pytest.approx(30.0)
    assert reads == [(analysis.ANALYZE_MAX_S,), (analysis.ANALYZE_MAX_S, pytest.approx(6.0))]
    np.testing.assert_array_equal(analysed.original, song[:, 6 * SR : 36 * SR])
    assert analysis.coloration_db(analysed.compared_stereo, SR, analysed.original) < 2.0
    # a file neither the song's length nor a preview's is still refused
    with AudioFile(str(tmp_path / "other.wav"), "w", SR, 2, bit_depth=32) as out:
        out.write(song[:, : 20 * SR])
    with pytest.raises(ValueError, match=re.escape("the original must be the song the file (or its 30 s preview)")):
        analysis.read_analysed(tmp_path / "other.wav", tmp_path / "song.wav")


def test_frames_read_in_chunks_are_the_frames_of_the_whole_song(signals):
    """Each window's spectrum is its own Hann-windowed frame's, on both sides of a chunk's edge and at
    the song's ends (zeros past them), however many chunks the song takes."""
    audio = signals.pink_noise(15.0, seed=27, channels=2).astype(np.float64)
    frame_len, hop = int(0.1 * SR), int(0.05 * SR)
    times_s, _, spectra = analysis.frame_spectra(audio, SR, 0.05, frame_s=0.1)
    assert spectra.shape[1] == audio.shape[1] // hop > analysis.CHUNK_WINDOWS
    padded = np.pad(audio, ((0, 0), (frame_len // 2, frame_len // 2)))
    window = scipy.signal.windows.hann(frame_len, sym=False)
    for index in (0, analysis.CHUNK_WINDOWS - 1, analysis.CHUNK_WINDOWS, spectra.shape[1] - 1):
        centre = index * hop + hop // 2
        assert times_s[index] == centre / SR
        expected = np.fft.rfft(padded[:, centre : centre + frame_len] * window, axis=-1)
        np.testing.assert_allclose(spectra[:, index], expected, atol=1e-9)


def test_the_inverse_transform_at_a_few_lags_is_the_whole_ones_there():
    rng = np.random.default_rng(29)
    size, bins, lags = 4096, np.arange(40, 300), np.arange(-25, 26)
    spectrum = rng.standard_normal((3, bins.size)) + 1j * rng.standard_normal((3, bins.size))
    full = np.zeros((3, size // 2 + 1), dtype=complex)
    full[:, bins] = spectrum
    np.testing.assert_allclose(
        analysis.inverse_rfft_at(spectrum, bins, lags, size), np.fft.irfft(full, size)[:, lags % size], atol=1e-12
    )
