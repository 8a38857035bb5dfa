"""Quality of the dry 8D render, measured the way a listener hears it (issue 2's quality bar).

Synthetic signals (fixed seeds) go through ``surroundyou.engine.render.render`` with the classic
preset and no reverb, in both rendering modes and at two orbit periods; the ear signals are
measured with ``surroundyou.engine.analysis`` (the same definitions as ``surroundyou analyze``)
and the test instruments (tests/instruments.py).
"""

import instruments
import numpy as np
import pytest

from surroundyou.engine import analysis
from surroundyou.engine.options import RenderOptions
from surroundyou.engine.render import render
from surroundyou.job_options import render_options_for

SR = 44100
TRACKED_TURNS = 2.75  # orbit tracks: enough turns to estimate the period without a hint
ONSET_S = 0.5  # skipped where a measurement would count the start of the signal itself


def one_turn_s(options: RenderOptions) -> float:
    return options.period_s + ONSET_S


class Renders:
    """Inputs of one case and their renders, each made once (renders are deterministic)."""

    def __init__(self, options: RenderOptions, signals):
        self.options = options
        self.signals = signals
        self._made: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def input(self, name: str) -> np.ndarray:
        return self.pair(name)[0]

    def output(self, name: str) -> np.ndarray:
        return self.pair(name)[1]

    def pair(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._made:
            audio = self._make_input(name)
            rendered = render(audio, SR, self.options)
            assert rendered.shape == (2, audio.shape[-1]) and rendered.dtype == np.float32
            self._made[name] = (audio, rendered)
        return self._made[name]

    def _make_input(self, name: str) -> np.ndarray:
        s, tracked_s, turn_s = self.signals, TRACKED_TURNS * self.options.period_s, one_turn_s(self.options)
        if name == "pink mono":  # one channel: one source
            return s.pink_noise(tracked_s, SR, seed=21)
        if name == "pink L=R":  # the same noise in both channels: fully correlated stereo
            return np.repeat(self.input("pink mono"), 2, axis=0)
        if name == "music":
            return s.music_like(tracked_s, SR, seed=22)
        if name == "pink stereo":  # independent noise in L and R
            return s.pink_noise(turn_s, SR, seed=23, channels=2)
        if name in ("left only", "right only"):
            one_sided = self.input("pink stereo").copy()
            one_sided[1 if name == "left only" else 0] = 0.0
            return one_sided
        if name == "sine 1 kHz":
            return s.sine(turn_s, 1000.0, amplitude=0.5, sample_rate=SR, channels=2)
        if name == "bass stereo":  # independent L and R content, all below 100 Hz
            return s.band_noise(turn_s, 25.0, 100.0, SR, seed=24, channels=2).astype(np.float32)
        raise KeyError(name)


CASES = [
    pytest.param(("spherical", 4.0), id="spherical-4s"),
    pytest.param(("spherical", 8.0), id="spherical-8s"),
    pytest.param(("hrtf", 4.0), id="hrtf-4s"),
    pytest.param(("hrtf", 8.0), id="hrtf-8s"),
]


@pytest.fixture(scope="module", params=CASES)
def renders(request, signals) -> Renders:
    mode, period_s = request.param
    return Renders(render_options_for({"preset": "classic", "reverb": 0.0, "mode": mode, "periodS": period_s}), signals)


def after_onset(audio: np.ndarray) -> np.ndarray:
    return audio[..., int(ONSET_S * SR) :]


@pytest.mark.parametrize("signal", ["pink mono", "music"])
def test_ild_and_itd_trace_a_clean_orbit_of_the_requested_period(renders, signal):
    orbit = analysis.measure_orbit(renders.output(signal), SR)
    figures = orbit.summary()
    assert orbit.period_s == pytest.approx(renders.options.period_s, rel=0.02), figures
    assert orbit.ild_r2 >= 0.9 and orbit.itd_r2 >= 0.9, figures
    assert 0.55 <= orbit.itd_amplitude_ms <= 0.8, figures
    assert orbit.ild_amplitude_db >= 8.0, figures


def test_front_and_back_sound_different(renders):
    """The high-band tilt swings once per turn, a quarter turn away from the ILD (front/back axis)."""
    rendered = renders.output("pink mono")
    orbit = analysis.measure_orbit(rendered, SR)
    assert 60.0 <= orbit.tilt_phase_deg_from_ild <= 120.0, orbit.summary()
    # 200 ms windows: the tilt swing is a few dB, the random level of 50 ms of noise ~0.8 dB.
    times_s, tilt_db = analysis.tilt_track_db(rendered, SR, window_s=0.2)
    tilt = analysis.fit_sinusoid(times_s, tilt_db, orbit.period_s)
    assert tilt.amplitude >= 1.0 and tilt.r2 >= 0.5, tilt


def test_a_sine_comes_out_without_clicks(renders):
    for ear in renders.output("sine 1 kHz"):
        assert instruments.out_of_band_db(ear, SR, 1000.0, 50.0, skip_s=ONSET_S) <= -80.0


@pytest.mark.parametrize("signal", ["pink stereo", "pink L=R"])
def test_loudness_is_even_all_around_the_orbit(renders, signal):
    source, rendered = renders.pair(signal)
    ripple_db = instruments.loudness_ripple_db(after_onset(rendered), SR, reference=after_onset(source))
    assert ripple_db <= 1.0


@pytest.mark.parametrize("signal", ["left only", "right only"])
def test_a_one_sided_input_never_vanishes(renders, signal):
    source, rendered = renders.pair(signal)
    assert instruments.energy_dips_db(after_onset(rendered), SR, 0.05, reference=after_onset(source)) <= 6.0


def test_bass_stays_centred(renders):
    assert instruments.band_correlation(renders.output("bass stereo"), SR, 120.0) >= 0.95


def test_correlated_content_does_not_comb_filter(renders):
    """L=R in must sound like one moving source: no notches beyond its smooth spectrum."""
    depth_db = instruments.comb_filter_depth_db(
        after_onset(renders.output("pink L=R")), after_onset(renders.output("pink mono")), SR
    )
    assert depth_db <= 3.0


def test_the_stereo_image_survives(renders):
    """Left and right channels are sources apart on the orbit: their ILD tracks are offset by ~the width."""
    period_s, width_deg = renders.options.period_s, renders.options.width_deg
    fits = {}
    for signal in ("left only", "right only"):
        times_s, ild_db = analysis.ild_track_db(after_onset(renders.output(signal)), SR)
        fits[signal] = analysis.fit_sinusoid(times_s, ild_db, period_s)
    offset_deg = analysis.phase_difference_deg(fits["left only"].phase_deg, fits["right only"].phase_deg)
    assert 0.5 * width_deg <= offset_deg <= 1.5 * width_deg, fits
