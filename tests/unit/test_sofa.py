"""Your own head: an AES69 SOFA file (SimpleFreeFieldHRIR) in HRTF mode, and clear errors for anything else.

The test writes its own SOFA file with ``sofar``: a rigid-sphere head (Brown & Duda's one-pole
shadow per ear and Woodworth's delay, the model of ``spherical_head``), measured every 5 deg on
the horizontal plane at 48 kHz, so the engine must resample it to the song's rate.
"""

import h5py
import numpy as np
import pytest
import sofar

from surroundyou.engine.hrtf import kemar_head_radius_m, speaker_azimuths_rad, speaker_directions_rad, speaker_filters
from surroundyou.engine.options import RenderOptions
from surroundyou.engine.render import render
from surroundyou.engine.sofa import SofaError, read_sofa
from surroundyou.engine.spherical_head import HEAD_RADIUS_M, SPEED_OF_SOUND_M_S, brown_duda_alpha, woodworth_itd_s

SOFA_RATE = 48000
TAPS = 256


def rigid_sphere_hrirs(azimuth_deg: np.ndarray) -> np.ndarray:
    """``(directions, 2, TAPS)``: per ear ``(1 + j alpha w/2w0) / (1 + j w/2w0)`` and the Woodworth delay
    (azimuth counter-clockwise: +90 deg is the left side)."""
    freqs_hz = np.fft.rfftfreq(TAPS, 1 / SOFA_RATE)
    w_over = 2 * np.pi * freqs_hz / (2 * SPEED_OF_SOUND_M_S / HEAD_RADIUS_M)
    lateral_left = np.radians(azimuth_deg)  # towards the left ear
    responses = []
    for sign in (1, -1):  # left ear, right ear
        angle_to_ear = np.pi / 2 - sign * lateral_left
        alpha = brown_duda_alpha(np.arccos(np.clip(np.cos(angle_to_ear), -1, 1)))
        delay_s = 0.5e-3 + woodworth_itd_s(np.arcsin(np.sin(-sign * lateral_left))) / 2
        shadow = (1 + 1j * alpha[:, None] * w_over) / (1 + 1j * w_over)
        responses.append(np.fft.irfft(shadow * np.exp(-2j * np.pi * freqs_hz * delay_s[:, None]), TAPS))
    return np.stack(responses, axis=1)


def write_sphere_sofa(path, step_deg: float = 5.0, change=lambda responses: responses, delay=None, keep=None) -> str:
    """The rigid sphere measured every ``step_deg`` on the horizontal plane (the azimuths ``keep`` passes
    only), its responses passed through ``change`` and its Data.Delay ``delay`` (``(directions, 2)``
    samples) if given, as a SOFA file at ``path``."""
    azimuth_deg = np.arange(0.0, 360.0, step_deg)
    if keep is not None:
        azimuth_deg = azimuth_deg[keep(azimuth_deg)]
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = change(rigid_sphere_hrirs(azimuth_deg))
    sofa.Data_SamplingRate = float(SOFA_RATE)
    sofa.SourcePosition = np.stack([azimuth_deg, np.zeros_like(azimuth_deg), np.full_like(azimuth_deg, 1.5)], -1)
    if delay is not None:
        sofa.Data_Delay = delay(azimuth_deg)
    sofa.GLOBAL_ListenerShortName = "rigid sphere"
    sofar.write_sofa(str(path), sofa)
    return str(path)


@pytest.fixture(scope="module")
def sphere_sofa(tmp_path_factory) -> str:
    return write_sphere_sofa(tmp_path_factory.mktemp("heads") / "sphere.sofa")


def test_a_sofa_file_is_read_in_the_sets_own_convention(sphere_sofa):
    head = read_sofa(sphere_sofa)
    assert head.impulse_responses.shape == (72, TAPS, 2) and head.sample_rate == SOFA_RATE
    left_side = int(np.flatnonzero(head.azimuth_deg == 90.0)[0])
    left, right = head.impulse_responses[left_side].T
    assert np.sum(left**2) > 2 * np.sum(right**2)


def test_the_engine_resamples_equalises_and_places_the_file_like_the_bundled_set(sphere_sofa):
    filters = speaker_filters(44100, 1.0, sphere_sofa)
    assert filters.shape == (len(speaker_directions_rad()[0]), 2, 256) and np.isfinite(filters).all()
    right = int(np.flatnonzero(np.isclose(np.degrees(speaker_azimuths_rad()), 90.0))[0])
    assert np.sum(filters[right, 1] ** 2) > 2 * np.sum(filters[right, 0] ** 2)  # our right is the right
    # its own time difference: Woodworth's at 8.75 cm plus the far ear's shadow phase (~0.06 ms) -> ~10 cm
    assert HEAD_RADIUS_M <= kemar_head_radius_m(sphere_sofa) <= 1.2 * HEAD_RADIUS_M


def test_a_render_through_the_file_goes_round(sphere_sofa, signals):
    options = RenderOptions(period_s=2.0, reverb=0.0, mode="hrtf", hrtf_path=sphere_sofa)
    pink = signals.pink_noise(2.0, 44100, seed=5)
    ears = render(pink, 44100, options).astype(np.float64)
    quarter = 22050 // 2  # the orbit is at the right side 0.5 s in
    around_right = ears[:, quarter - 2205 : quarter + 2205]
    assert np.sum(around_right[1] ** 2) > 2 * np.sum(around_right[0] ** 2)


def test_what_is_not_such_a_sofa_file_gets_a_clear_error(tmp_path):
    text = tmp_path / "notes.sofa"
    text.write_text("not a SOFA file")
    with pytest.raises(SofaError, match="is not a SOFA file"):
        read_sofa(str(text))
    other = tmp_path / "room.sofa"
    with h5py.File(other, "w") as file:
        file.attrs["Conventions"] = "SOFA"
        file.attrs["SOFAConventions"] = "GeneralFIR"
    with pytest.raises(SofaError, match="GeneralFIR.*SimpleFreeFieldHRIR"):
        read_sofa(str(other))
    with pytest.raises(SofaError, match="no such file"):
        read_sofa(str(tmp_path / "missing.sofa"))
    with pytest.raises(ValueError, match="needs mode 'hrtf'"):
        RenderOptions(hrtf_path=str(text))


def _far_ear_late_by(samples: float):
    """Data.Delay that makes the far ear up to ``samples`` later, the most at the sides."""

    def delay(azimuth_deg: np.ndarray) -> np.ndarray:
        towards_left = np.sin(np.radians(azimuth_deg))
        return samples * np.stack([np.maximum(0, -towards_left), np.maximum(0, towards_left)], -1)

    return delay


@pytest.mark.parametrize(
    ("change", "delay", "message"),
    [
        (lambda responses: responses * [[1], [0]], None, "right ear \\(receiver 2\\) is silent in every direction"),
        (lambda responses: responses[:, ::-1], None, "right ear is the louder on the left.*mirrored"),
        (lambda responses: responses, _far_ear_late_by(0.002 * SOFA_RATE), "2.[0-9] ms apart at the sides.*Data.Delay"),
    ],
    ids=["a silent ear", "mirrored ears", "a wrong delay"],
)
def test_a_set_that_no_head_could_have_made_gets_a_clear_error(tmp_path, change, delay, message):
    path = write_sphere_sofa(tmp_path / "odd.sofa", change=change, delay=delay)
    with pytest.raises(SofaError, match=message):
        kemar_head_radius_m(path)


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (lambda azimuth: (azimuth <= 60) | (azimuth >= 300), "no direction from azimuth 60 to 300 deg"),
        (lambda azimuth: azimuth == 90, "one direction within 45 deg of the horizontal plane"),
    ],
    ids=["in front only", "one direction"],
)
def test_a_set_without_directions_all_around_the_head_gets_a_clear_error(tmp_path, keep, message):
    with pytest.raises(SofaError, match=message):
        read_sofa(write_sphere_sofa(tmp_path / "part.sofa", keep=keep))
    read_sofa(write_sphere_sofa(tmp_path / "sparse.sofa", step_deg=90.0))  # every 90 deg still goes round


def test_a_head_a_little_bigger_than_a_real_one_is_taken_with_its_own_delay(tmp_path, sphere_sofa):
    bigger = write_sphere_sofa(tmp_path / "big.sofa", delay=_far_ear_late_by(0.0004 * SOFA_RATE))
    # 0.4 ms more at the sides (1.1 ms in all): Woodworth's radius grows by c 0.4 ms / (pi/2 + 1)
    grown_m = kemar_head_radius_m(bigger) - kemar_head_radius_m(sphere_sofa)
    assert grown_m == pytest.approx(SPEED_OF_SOUND_M_S * 0.0004 / (np.pi / 2 + 1), rel=0.05)
