"""The test instruments are right: signals with KNOWN loudness swings, clicks, dips, bass and
notches come out with those figures (tests/instruments.py)."""

import instruments
import numpy as np
import pytest
import scipy.signal
from known_cues import SR, orbit_phase

from surroundyou.engine.analysis import integrated_lufs, long_term_third_octaves_db


@pytest.mark.parametrize("channels, expected_lufs", [(2, -20.0), (1, -23.01)])
def test_integrated_loudness_of_the_bs1770_reference_tone(signals, channels, expected_lufs):
    """BS.1770-4: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS; so -20 dBFS in L and R reads -20."""
    tone = signals.sine(5.0, 997.0, amplitude=10 ** (-20 / 20), channels=channels)
    assert integrated_lufs(tone, SR) == pytest.approx(expected_lufs, abs=0.05)
    assert np.median(instruments.windowed_loudness_lufs(tone, SR)) == pytest.approx(expected_lufs, abs=0.05)


def test_loudness_ripple_measures_a_known_level_swing_not_the_noise(signals):
    noise = signals.pink_noise(12.0, seed=11, channels=2).astype(np.float64)
    swing_db = 1.0 * np.sin(orbit_phase(12.0))
    swung = noise * 10 ** (swing_db / 20)
    # p97.5-p2.5 of +-1 dB, smoothed by the 400 ms window: 2 * 0.997 * sinc(0.4/4) = 1.97 dB
    assert instruments.loudness_ripple_db(swung, SR, reference=noise) == pytest.approx(1.97, abs=0.05)
    assert instruments.loudness_ripple_db(noise * 0.5, SR, reference=noise) < 0.01
    assert instruments.loudness_ripple_db(noise, SR) > 0.1  # why the reference is there: noise fluctuates


def test_out_of_band_energy_of_clean_modulated_and_clicking_sines(signals):
    t = np.arange(6 * SR) / SR
    clean = np.sin(2 * np.pi * 1000.0 * t)
    assert instruments.out_of_band_db(clean, SR, 1000.0, 50.0) < -120
    # What an orbit legitimately does: slow +-6 dB level swing and +-1 Hz Doppler wobble.
    orbiting = 10 ** (6 * np.sin(2 * np.pi * t / 4) / 20) * np.sin(
        2 * np.pi * 1000.0 * t - 4 / (2 * np.pi) * np.cos(2 * np.pi * t / 4)
    )
    assert instruments.out_of_band_db(orbiting, SR, 1000.0, 50.0) < -100
    clicking = clean.copy()
    clicking[3 * SR :] = np.sin(2 * np.pi * 1000.0 * t[3 * SR :] + 0.05)  # a 3° phase jump
    assert instruments.out_of_band_db(clicking, SR, 1000.0, 50.0) > -70
    # The onset of the sine itself is skipped.
    assert instruments.out_of_band_db(np.concatenate([np.zeros(SR // 10), clean]), SR, 1000.0, 50.0) < -120


def test_energy_dips_finds_a_known_dip_not_the_noise(signals):
    noise = signals.pink_noise(6.0, seed=12, channels=2).astype(np.float64)
    dipped = noise.copy()
    dipped[:, 2 * SR : int(2.3 * SR)] *= 10 ** (-12 / 20)
    assert instruments.energy_dips_db(dipped, SR, reference=noise) == pytest.approx(12.0, abs=0.1)
    assert instruments.energy_dips_db(noise, SR, reference=noise) < 0.01
    left_only = np.stack([noise[0], np.zeros_like(noise[0])])
    assert instruments.energy_dips_db(left_only, SR, reference=noise[:1]) < 0.01


def test_band_correlation_of_same_unrelated_and_opposite_bass(signals):
    bass = signals.band_noise(6.0, 20.0, 100.0, seed=13, channels=2)
    treble = signals.band_noise(6.0, 300.0, 5000.0, seed=14, channels=2)
    shared = np.stack([bass[0], bass[0]]) + treble  # same bass, different treble
    assert instruments.band_correlation(shared, SR, 120.0) > 0.99
    assert abs(instruments.band_correlation(bass, SR, 120.0)) < 0.1
    assert instruments.band_correlation(np.stack([bass[0], -bass[0]]), SR, 120.0) < -0.99


def test_third_octave_bands_are_the_standard_ones(signals):
    centres_hz, levels_db = instruments.third_octave_levels_db(signals.pink_noise(2.0, seed=15, channels=2), SR)
    assert np.round(centres_hz).tolist() == [
        200,
        251,
        316,
        398,
        501,
        631,
        794,
        1000,
        1259,
        1585,
        1995,
        2512,
        3162,
        3981,
        5012,
        6310,
        7943,
    ]
    assert levels_db.shape == (2, 80, 17)  # 100 ms windows every 25 ms
    # pink noise: equal energy per band (within its random spread)
    assert np.ptp(np.median(levels_db, axis=(0, 1))) < 2.0


@pytest.mark.parametrize("offset_s", [0.0, 0.1, 0.25])
def test_the_long_term_spectrum_weighs_a_beat_alike_wherever_it_falls(signals, offset_s):
    """A 100 Hz burst every 0.5 s (120 bpm, the windows' length) over quiet pink noise: the long-term
    1/3-octave spectrum, this file's and ``surroundyou analyze``'s, is the whole signal's
    periodogram's within 0.2 dB in every band, wherever the beats fall. Read in end-to-end windows,
    bursts on the windows' edges went under-read by up to 20.6 dB (and by 1.1 dB overlapping by half,
    where the Hann windows' squares do not sum to a constant)."""
    frames = 8 * SR
    beat = np.zeros(frames)
    burst = np.sin(2 * np.pi * 100.0 * np.arange(int(0.06 * SR)) / SR) * np.hanning(int(0.06 * SR))
    for start in np.arange(int(offset_s * SR), frames - burst.size, SR // 2):
        beat[start : start + burst.size] += burst
    audio = np.stack([beat, beat]) + 0.01 * signals.pink_noise(8.0, seed=25, channels=2)
    centres_hz, analysed_db = long_term_third_octaves_db(audio, SR)
    _, levels_db = instruments.third_octave_levels_db(audio, SR, 0.5, centres_hz[0], centres_hz[-1])
    freqs_hz = np.fft.rfftfreq(frames, 1 / SR)
    power = (np.abs(np.fft.rfft(audio, axis=-1)) ** 2).sum(axis=0)
    periodogram_db = np.array(
        [10 * np.log10(power[(freqs_hz >= fc * 10**-0.05) & (freqs_hz < fc * 10**0.05)].sum()) for fc in centres_hz]
    )
    for level_db in (analysed_db, 10 * np.log10((10 ** (levels_db / 10)).sum(axis=0).mean(axis=0))):
        difference_db = (level_db - level_db.mean()) - (periodogram_db - periodogram_db.mean())
        assert np.max(np.abs(difference_db)) <= 0.2, np.round(difference_db, 2)


def test_comb_filter_depth_sees_notches_but_not_smooth_changes(signals):
    noise = signals.pink_noise(4.0, seed=16, channels=2).astype(np.float64)
    delay = int(0.0004 * SR)  # two copies 0.4 ms apart: notches at 1.25, 3.75, 6.25 kHz
    combed = noise + np.roll(noise, delay, axis=-1)
    assert instruments.comb_filter_depth_db(combed, noise, SR) > 10
    shelf = scipy.signal.butter(1, 2000.0, btype="high", fs=SR, output="sos")  # head-shadow-like
    shadowed = 0.3 * noise + scipy.signal.sosfilt(shelf, noise, axis=-1)
    assert instruments.comb_filter_depth_db(shadowed * 3.0, noise, SR) < 1.5
