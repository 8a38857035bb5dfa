"""The room around the head, measured (issue 12, "A room around the head").

- The late tail's interaural coherence per octave band (250-2000 Hz) is the diffuse field's,
  ``sin(kd)/(kd)``, within 0.15 (Welch cross-spectra of the tail driven by 30 s of white noise),
  at 44.1 and 48 kHz; and through the tail, not only over the whole: the tail's mid and side
  decay alike (Schroeder's energy decay, octaves 1-4 kHz, within 2 dB down to -20 dB).
- Each preset's direct-to-reverberant ratio is the documented ``-20 log10(reverb)`` within 1 dB
  (pink noise; energy of both ears, the dry render against the room's output).
- With the default preset's room the orbit still measures as a clean orbit (period, R^2, ITD, ILD).
- The room changes the long-term 1/3-octave spectrum of the dry render by less than 1 dB
  (100 Hz - 12.5 kHz, after level normalisation).
- A steady tone stays steady with the room: a 1 kHz sine through the classic preset with its room
  keeps its energy outside 1 kHz +- 50 Hz at or under -80 dB at 8 s per turn on every path (the
  dry render's bar; the reflections move, and their cross-fades must not spread it).

Renders are long (seconds of audio at 44.1 kHz through the room): this is the integration tier.
"""

from __future__ import annotations

import instruments
import numpy as np
import pytest
import scipy.signal

from surroundyou.engine import analysis
from surroundyou.engine.options import RenderOptions
from surroundyou.engine.orbit import PATHS, Orbit
from surroundyou.engine.render import OrbitRenderer, render
from surroundyou.engine.room import (
    SHOEBOXES,
    RoomRenderer,
    SphericalHeadResponses,
    diffuse_field_coherence,
    ear_distance_m,
    late_tail,
    room_for,
)
from surroundyou.job_options import render_options_for
from surroundyou_jobs.options import PRESETS

SR = 44100
BLOCK = 65536
OCTAVES_HZ = (250.0, 500.0, 1000.0, 2000.0)


def room_output(audio: np.ndarray, options: RenderOptions) -> np.ndarray:
    """The room's part alone, ``(2, frames)``, streamed in the pipeline's blocks."""
    room = room_for(options, SR, OrbitRenderer(SR, len(audio), options).orbit)
    assert room is not None
    return np.concatenate([room.process(audio[:, i : i + BLOCK]) for i in range(0, audio.shape[1], BLOCK)], axis=1)


def octave_coherence(
    stereo: np.ndarray, sample_rate: int, centre_hz: float, segment: int = 8192
) -> tuple[float, float]:
    """(measured, target) real interaural coherence in the octave band around ``centre_hz``.

    Measured: ``sum Re S_LR / sqrt(sum S_LL * sum S_RR)`` over the band's Welch bins. Target: the
    diffuse field's ``sinc`` at each bin, weighted as the measured spectrum weights the bins.
    """
    freqs, cross = scipy.signal.csd(stereo[0], stereo[1], sample_rate, nperseg=segment)
    _, left = scipy.signal.welch(stereo[0], sample_rate, nperseg=segment)
    _, right = scipy.signal.welch(stereo[1], sample_rate, nperseg=segment)
    band = (freqs >= centre_hz / np.sqrt(2)) & (freqs < centre_hz * np.sqrt(2))
    norm = np.sqrt(left[band].sum() * right[band].sum())
    target = diffuse_field_coherence(freqs[band], ear_distance_m()) * np.sqrt(left[band] * right[band])
    return float(cross[band].real.sum() / norm), float(target.sum() / norm)


@pytest.mark.parametrize("sample_rate", [44100, 48000])
@pytest.mark.parametrize("room_name", list(SHOEBOXES))
def test_late_tail_has_the_interaural_coherence_of_a_diffuse_field(room_name, sample_rate):
    head = SphericalHeadResponses(sample_rate, 1.0, 120.0)
    room = RoomRenderer(sample_rate, Orbit(8.0, sample_rate), room_name, 0.3, head, 120.0)
    noise = np.random.default_rng(5).standard_normal(30 * sample_rate).astype(np.float32)
    tail = np.concatenate([room.late.process(noise[i : i + BLOCK]) for i in range(0, len(noise), BLOCK)], axis=1)
    figures = {centre: octave_coherence(tail[:, 3 * sample_rate :], sample_rate, centre) for centre in OCTAVES_HZ}
    for measured, target in figures.values():
        assert abs(measured - target) <= 0.15, figures


def energy_decay_db(signal: np.ndarray, sample_rate: int, centre_hz: float) -> np.ndarray:
    """Schroeder's backward-integrated energy of ``signal`` in the octave band around ``centre_hz``,
    in dB of its total (Schroeder, "New method of measuring reverberation time", J. Acoust. Soc.
    Am. 37(3), 1965)."""
    band = scipy.signal.butter(
        3, [centre_hz / np.sqrt(2), centre_hz * np.sqrt(2)], "bandpass", fs=sample_rate, output="sos"
    )
    energy = np.cumsum((scipy.signal.sosfiltfilt(band, signal) ** 2)[::-1])[::-1]
    return 10 * np.log10(energy / energy[0])


@pytest.mark.parametrize("sample_rate", [44100, 48000])
@pytest.mark.parametrize("room_name", list(SHOEBOXES))
def test_the_late_tails_common_and_different_parts_decay_alike(room_name, sample_rate):
    """The coherence holds through the tail, not only over the whole of it: its mid (L + R) and its
    side (L - R) lose their energy at the same pace, within 2 dB where the mid has fallen 5, 10 and
    20 dB, in the octaves 1-4 kHz (where each carries about half)."""
    tail = late_tail(room_name, sample_rate)
    gaps = {}
    for centre in (1000.0, 2000.0, 4000.0):
        mid, side = (energy_decay_db(part, sample_rate, centre) for part in (tail[0] + tail[1], tail[0] - tail[1]))
        for fallen_db in (5, 10, 20):
            at = int(np.argmax(mid < -fallen_db))
            gaps[centre, fallen_db] = round(float(side[at] - mid[at]), 2)
    assert max(abs(gap) for gap in gaps.values()) <= 2.0, gaps


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_direct_to_reverberant_ratio_is_as_documented(preset, mode, signals):
    options = render_options_for({"preset": preset, "mode": mode})
    pink = signals.pink_noise(12.0, SR, seed=31)
    dry = render(pink, SR, options)
    wet = room_output(pink, options)
    settled = slice(3 * SR, None)  # the longest tail (hall, ~2 s) has built up
    drr_db = 10 * np.log10(np.sum(dry[:, settled] ** 2) / np.sum(wet[:, settled] ** 2))
    assert drr_db == pytest.approx(-20 * np.log10(options.reverb), abs=1.0), (preset, mode, drr_db)


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
@pytest.mark.parametrize("signal", ["pink mono", "music"])
def test_the_orbit_holds_with_the_default_room(mode, signal, signals):
    options = render_options_for({"mode": mode})
    assert options.room != "none" and options.reverb > 0
    seconds = 2.75 * options.period_s
    audio = signals.pink_noise(seconds, SR, seed=21) if signal == "pink mono" else signals.music_like(seconds, SR, 22)
    ears = render(audio, SR, options) + room_output(audio, options)
    orbit = analysis.measure_orbit(ears, SR)
    figures = orbit.summary()
    assert orbit.period_s == pytest.approx(options.period_s, rel=0.02), figures
    assert orbit.ild_r2 >= 0.9 and orbit.itd_r2 >= 0.9, figures
    assert 0.55 <= orbit.itd_amplitude_ms <= 0.8, figures
    assert orbit.ild_amplitude_db >= 6.0, figures


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
def test_the_room_keeps_the_timbre_of_the_dry_render(mode, signals):
    options = render_options_for({"mode": mode})
    pink = np.repeat(signals.pink_noise(16.0, SR, seed=41), 2, axis=0)
    dry = render(pink, SR, options)
    wet = dry + room_output(pink, options)

    def spectrum_db(audio: np.ndarray) -> np.ndarray:
        _, levels = instruments.third_octave_levels_db(audio[:, SR:], SR, window_s=0.5, low_hz=100.0, high_hz=12500.0)
        power = 10 ** (levels / 10)
        band_power = power.sum(axis=0).mean(axis=0)  # both ears, averaged over the song
        return 10 * np.log10(band_power / band_power.sum())

    difference = spectrum_db(wet) - spectrum_db(dry)
    assert np.max(np.abs(difference)) <= 1.0, np.round(difference, 2)


@pytest.mark.parametrize("mode", ["spherical", "hrtf"])
@pytest.mark.parametrize("path", PATHS)
def test_the_room_keeps_a_steady_tone_steady(path, mode, signals):
    options = render_options_for({"preset": "classic", "mode": mode, "periodS": 8.0, "path": path})
    assert options.room != "none" and options.reverb > 0
    sine = signals.sine(9.0, 1000.0, amplitude=0.5, sample_rate=SR, channels=2)
    ears = render(sine, SR, options) + room_output(sine, options)
    # one turn, after the onset's click has died away in the room
    spread_db = [instruments.out_of_band_db(ear, SR, 1000.0, 50.0, skip_s=1.0) for ear in ears]
    assert max(spread_db) <= -80.0, spread_db
