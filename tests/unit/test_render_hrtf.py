"""The MIT KEMAR set as HRTF mode uses it: read from the slab wheel, oriented, turned minimum-phase."""

import instruments
import numpy as np
import pytest

from surroundyou.engine.hrtf import (
    BACK_SPEAKER,
    FRONT_SPEAKER,
    kemar_head_radius_m,
    load_kemar,
    nearest_directions,
    speaker_azimuths_rad,
    speaker_directions_rad,
    speaker_filters,
    speaker_pan,
)
from surroundyou.engine.spectral_design import minimum_phase

SR = 44100


def band_level_db(response, low_hz=2000.0, high_hz=8000.0, sample_rate=SR):
    spectrum = np.abs(np.fft.rfft(response, 4096)) ** 2
    freqs_hz = np.fft.rfftfreq(4096, 1 / sample_rate)
    return 10 * np.log10(spectrum[(freqs_hz >= low_hz) & (freqs_hz < high_hz)].sum())


def test_the_packaged_set_is_the_710_direction_kemar():
    kemar = load_kemar()
    assert kemar.impulse_responses.shape == (710, 512, 2)
    assert sorted(set(kemar.elevation_deg)) == list(range(-40, 91, 10))


def test_kemar_azimuth_counts_counter_clockwise():
    """At KEMAR azimuth +90 deg the left ear (channel 0) is louder: SOFA's left-positive convention."""
    kemar = load_kemar()
    left_side = np.flatnonzero((kemar.elevation_deg == 0) & (kemar.azimuth_deg == 90))[0]
    left, right = kemar.impulse_responses[left_side].T
    assert band_level_db(left) - band_level_db(right) > 8


def test_head_radius_gives_kemars_0_7_ms_at_the_side():
    assert kemar_head_radius_m() == pytest.approx(0.094, abs=0.002)


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_loudspeaker_filters_put_our_right_on_the_right(sample_rate):
    filters = speaker_filters(sample_rate, 1.0)
    azimuths_deg = np.degrees(speaker_azimuths_rad())
    assert filters.shape == (len(speaker_directions_rad()[0]), 2, round(256 * sample_rate / 44100))
    right = int(np.flatnonzero(azimuths_deg == 90)[0])
    left_ear, right_ear = filters[right]
    assert band_level_db(right_ear, sample_rate=sample_rate) - band_level_db(left_ear, sample_rate=sample_rate) > 8


def both_ears_db(speaker, low_hz, high_hz):
    return 10 * np.log10(sum(10 ** (band_level_db(ear, low_hz, high_hz) / 10) for ear in speaker))


def test_loudspeaker_filters_are_diffuse_field_equalised_and_cut_behind(signals):
    """Their power averaged over the horizontal ring and the ears, each loudspeaker at equal loudness
    (BS.1770 of pink noise through it, as the renderer plays them), is flat (1/3 octave); the back
    stays darker than the front."""
    filters = speaker_filters(SR, 1.0)[: len(speaker_azimuths_rad())]
    freqs_hz = np.fft.rfftfreq(4096, 1 / SR)
    pink = signals.pink_noise(5.0, SR, seed=4).reshape(-1)
    loudness_db = np.array(
        [
            instruments.windowed_loudness_lufs(
                np.stack([np.convolve(pink, ear)[: len(pink)] for ear in speaker]), SR, 5.0
            )[0]
            for speaker in filters
        ]
    )
    power = np.abs(np.fft.rfft(filters, 4096)) ** 2 / 10 ** (loudness_db / 10)[:, np.newaxis, np.newaxis]
    average = power.mean(axis=(0, 1))
    centres_hz = 1000 * 10 ** (np.arange(-10, 12) / 10)  # 100 Hz - 12.5 kHz
    bands_db = [
        10 * np.log10(average[(freqs_hz >= f * 10**-0.05) & (freqs_hz < f * 10**0.05)].mean()) for f in centres_hz
    ]
    assert np.ptp(bands_db) < 1.0
    front, back = 0, 12
    tilt_db = [both_ears_db(filters[s], 6000, 12000) - both_ears_db(filters[s], 500, 2000) for s in (front, back)]
    assert tilt_db[0] - tilt_db[1] > 3.0
    assert np.allclose(speaker_filters(SR, 0.0)[:, :, 0], 1.0) and np.allclose(speaker_filters(SR, 0.0)[:, :, 1:], 0.0)


def test_minimum_phase_keeps_the_magnitude_and_front_loads_the_energy():
    rng = np.random.default_rng(4)
    magnitude = np.exp(np.convolve(rng.standard_normal(1025), np.ones(30) / 30, mode="same"))
    response = minimum_phase(magnitude, 2048)
    assert np.allclose(np.abs(np.fft.rfft(response)), magnitude, rtol=1e-3)
    energy = np.cumsum(response**2)
    assert energy[256] > 0.99 * energy[-1]


def test_panning_weights_are_smooth_and_sum_to_one():
    azimuth = np.radians(np.linspace(0, 360, 3601))
    index, weight = speaker_pan(azimuth, np.zeros_like(azimuth), 1.0)
    assert np.allclose(weight.sum(axis=-1), 1.0)
    on_speaker = np.isclose(np.mod(np.degrees(azimuth), 15.0), 0.0)
    assert np.allclose(weight[on_speaker, 0], 1.0)  # exactly the measured filter at a loudspeaker
    speaker_gain = np.array([np.where(index == 1, weight, 0).sum(axis=-1)])[0]  # loudspeaker at 15 deg
    assert np.max(np.abs(np.diff(speaker_gain, 2))) < 1e-3  # no corner as the source passes


def test_a_weaker_head_keeps_the_front_back_side_of_the_source():
    """Below full intensity, ``1 - intensity`` goes to the loudspeaker straight ahead or straight
    behind, whichever side the source is on, handed over smoothly through the sides."""
    azimuth = np.radians(np.linspace(0, 360, 3601))
    index, weight = speaker_pan(azimuth, np.zeros_like(azimuth), 0.6)
    assert np.allclose(weight.sum(axis=-1), 1.0)
    gains = np.zeros((len(azimuth), len(speaker_directions_rad()[0])))
    np.add.at(gains, (np.arange(len(azimuth))[:, np.newaxis].repeat(index.shape[-1], 1), index), weight)
    front, back = gains[:, FRONT_SPEAKER], gains[:, BACK_SPEAKER]  # every 0.1 deg
    assert np.allclose([front[0], back[0]], [1.0, 0.0])  # ahead: the ring's 0.6 and the 0.4
    assert np.allclose([front[1800], back[1800]], [0.0, 1.0])  # behind
    assert np.allclose([front[900], back[900]], [0.2, 0.2])  # at the side, half each
    assert np.max(np.abs(np.diff(gains, 2, axis=0))) < 1e-3


def test_the_loudspeakers_cover_the_sphere_with_the_sets_own_directions():
    """Rings from 40 deg below to overhead; each loudspeaker is the measured direction nearest to it."""
    azimuth, elevation = speaker_directions_rad()
    assert sorted(set(np.round(np.degrees(elevation)))) == [-40, -20, 0, 20, 40, 60, 80, 90]
    assert np.allclose(azimuth[:24], speaker_azimuths_rad()) and np.allclose(elevation[:24], 0.0)
    kemar = load_kemar()
    top = nearest_directions(kemar, -np.degrees(azimuth[-1:]), np.degrees(elevation[-1:]))
    assert kemar.elevation_deg[top[0]] == 90.0


def test_panning_over_the_sphere_is_smooth_and_ends_on_the_top_loudspeaker():
    """A vertical circle through the top of the head: weights sum to one, move without corners,
    and straight overhead only the top loudspeaker plays, whatever the azimuth."""
    t = np.linspace(0, 2 * np.pi, 20001)
    x, z = np.cos(t), np.sin(t)
    azimuth, elevation = np.arctan2(0.05 * np.sin(t), x), np.arcsin(np.clip(z, -1, 1))
    index, weight = speaker_pan(azimuth, elevation, 1.0)
    assert np.allclose(weight.sum(axis=-1), 1.0)
    gains = np.zeros((len(t), len(speaker_directions_rad()[0])))
    np.add.at(gains, (np.arange(len(t))[:, np.newaxis].repeat(index.shape[-1], 1), index), weight)
    above = np.degrees(elevation) > -40  # below the lowest ring the pan holds still
    inside = above[:-2] & above[1:-1] & above[2:]
    assert np.max(np.abs(np.diff(gains, 2, axis=0)[inside])) < 2e-3
    overhead_index, overhead_weight = speaker_pan(np.radians([0.0, 77.0, 200.0]), np.radians([90.0] * 3), 1.0)
    top = len(speaker_directions_rad()[0]) - 1
    assert np.allclose(np.where(overhead_index == top, overhead_weight, 0).sum(axis=-1), 1.0)
