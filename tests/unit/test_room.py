"""The room's mechanics: image sources, reflections from their own directions, streaming, options.

Its measured qualities (coherence of the tail, direct-to-reverberant ratio, the orbit and the
timbre with the room) are in tests/integration/test_room_quality.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from surroundyou.engine import room as room_module
from surroundyou.engine.options import RenderOptions
from surroundyou.engine.orbit import PATHS, Orbit
from surroundyou.engine.room import (
    SHOEBOXES,
    EarlyReflections,
    RoomRenderer,
    SphericalHeadResponses,
    image_sources,
    room_for,
)
from surroundyou.engine.spherical_head import SPEED_OF_SOUND_M_S

SR = 44100


class DirectionsHead:
    """A head that only records the directions it is asked about and answers with a unit impulse."""

    radius_m = 0.0875

    def __init__(self) -> None:
        self.asked: list[tuple[np.ndarray, np.ndarray]] = []

    def responses(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.asked.append((azimuth_rad, elevation_rad))
        kernels = np.zeros((len(azimuth_rad), 2, 1))
        kernels[..., 0] = 1.0
        return kernels, np.zeros((len(azimuth_rad), 2))


def test_image_sources_of_order_one_and_two():
    room = SHOEBOXES["small"]
    source = np.array([3.3, 1.75, 1.2])
    positions, orders, reflectances = image_sources(room, source)
    assert sorted(np.bincount(orders)[1:]) == [6, 18]
    first = {tuple(np.round(p, 6)) for p in positions[orders == 1]}
    x, y, z = room.size_m
    mirrors = {
        (-3.3, 1.75, 1.2),
        (2 * x - 3.3, 1.75, 1.2),
        (3.3, -1.75, 1.2),
        (3.3, 2 * y - 1.75, 1.2),
        (3.3, 1.75, -1.2),
        (3.3, 1.75, 2 * z - 1.2),
    }  # the source mirrored in each of the six walls
    assert first == {tuple(np.round(m, 6)) for m in mirrors}
    floor = positions[:, 2] == -1.2
    assert reflectances[orders == 1 & floor] == pytest.approx(room.floor_coefficient)
    assert reflectances[(orders == 2) & floor & (positions[:, 0] < 0)] == pytest.approx(
        room.floor_coefficient * room.wall_coefficient
    )


def test_each_reflection_arrives_from_its_image_when_and_as_loud_as_the_geometry_says():
    room = SHOEBOXES["small"]
    head = DirectionsHead()
    early = EarlyReflections(SR, Orbit(8.0, SR), room, head)
    response = early.responses(np.array([0.0]))[0]  # the source straight ahead of the listener
    listener = np.asarray(room.listener_m)
    source = listener + [room.source_distance_m, 0.0, 0.0]
    positions, _, reflectances = image_sources(room, source)
    relative = positions - listener
    distance = np.linalg.norm(relative, axis=-1)
    azimuth, elevation = head.asked[-1]
    np.testing.assert_allclose(azimuth, np.arctan2(relative[:, 1], relative[:, 0]))
    np.testing.assert_allclose(elevation, np.arcsin(relative[:, 2] / distance))
    expected = np.zeros(early.taps)
    delay_samples = (distance - room.source_distance_m) / SPEED_OF_SOUND_M_S * SR
    amplitudes = reflectances * room.source_distance_m / distance
    for delay, amplitude in zip(delay_samples, amplitudes, strict=True):
        expected[int(round(delay))] += amplitude
    for ear in response:  # each arrival on its nearest sample
        np.testing.assert_allclose(ear, expected, atol=1e-12)


def test_reflections_move_with_the_source():
    head = DirectionsHead()
    early = EarlyReflections(SR, Orbit(8.0, SR), SHOEBOXES["medium"], head)
    early.responses(np.array([0.0, 2.0 * SR]))  # front, then a quarter turn later: the right
    azimuth = head.asked[-1][0].reshape(2, -1)
    turned_deg = np.degrees(np.abs(np.angle(np.exp(1j * (azimuth[1] - azimuth[0])))))
    _, orders, _ = image_sources(SHOEBOXES["medium"], np.zeros(3))
    assert np.all(turned_deg[orders == 1] > 10) and np.median(turned_deg) > 10, np.round(turned_deg)


@pytest.mark.parametrize("room_name", list(SHOEBOXES))
def test_on_every_path_the_source_stays_in_the_room_and_its_reflections_fit_the_responses(room_name):
    """The hall's floor is 22 degrees below the ears, and the figure-eight and overhead paths dip to 30
    and 36 degrees: under the floor a source's images would be nearer than itself (a reflection
    before the direct sound: the responses could not be built)."""
    room = SHOEBOXES[room_name]
    for path in PATHS:
        early = EarlyReflections(SR, Orbit(4.0, SR, True, 12.0, path), room, DirectionsHead())
        responses = early.responses(np.arange(0, 4 * SR, 441.0))
        assert responses.shape == (400, 2, early.taps) and np.all(np.isfinite(responses))
        assert np.all(responses[..., -1] == 0.0)  # the latest reflection still fits
    azimuth, elevation = np.meshgrid(np.radians(np.arange(0, 360, 10)), np.radians(np.arange(-90, 91, 10)))
    heights = room_module.source_positions(room, azimuth.ravel(), elevation.ravel())[:, 2]
    assert np.all((heights > 0) & (heights < room.size_m[2]))


def stream(room: RoomRenderer, audio: np.ndarray, block: int) -> np.ndarray:
    return np.concatenate([room.process(audio[:, i : i + block]) for i in range(0, audio.shape[1], block)], axis=1)


def make_room(name: str = "small") -> RoomRenderer:
    return RoomRenderer(SR, Orbit(4.0, SR, True, 10.0), name, 0.3, SphericalHeadResponses(SR, 1.0, 120.0), 120.0)


def test_blocks_of_any_size_give_the_same_room_and_the_same_input_the_same_bytes(signals):
    audio = signals.pink_noise(1.5, SR, seed=3, channels=2)
    whole = stream(make_room(), audio, audio.shape[1])
    assert whole.shape == (2, audio.shape[1]) and whole.dtype == np.float32
    for block in (65536, 10007, 3001):
        np.testing.assert_allclose(stream(make_room(), audio, block), whole, atol=1e-6 * np.abs(whole).max())
    assert stream(make_room(), audio, 10007).tobytes() == stream(make_room(), audio, 10007).tobytes()


def test_silence_stays_silent_and_an_impulse_rings_on():
    impulse = np.zeros((1, SR), dtype=np.float32)
    impulse[0, 100] = 1.0
    ringing = stream(make_room(), impulse, 16384)
    assert np.max(np.abs(ringing[:, :100])) < 1e-6  # the FFTs' rounding only
    energy = np.cumsum(np.sum(ringing**2, axis=0))
    later = 1 - energy[100 + np.array([int(0.03 * SR), int(0.2 * SR)])] / energy[-1]
    assert later[0] > 0.05 and later[1] < 0.01, later  # the small room rings on for ~0.2 s
    assert not np.any(stream(make_room(), np.zeros((2, 5000), dtype=np.float32), 2500))


def test_no_room_or_level_zero_is_dry_and_unknown_rooms_are_refused():
    orbit = Orbit(8.0, SR)
    assert room_for(RenderOptions(room="none"), SR, orbit) is None
    assert room_for(RenderOptions(reverb=0.0), SR, orbit) is None
    assert isinstance(room_for(RenderOptions(room="hall", reverb=0.3), SR, orbit), RoomRenderer)
    with pytest.raises(ValueError, match="room must be one of none, small, medium, hall"):
        RenderOptions(room="cathedral")


def test_hrtf_mode_hears_the_room_through_the_chosen_head(monkeypatch):
    heads = []

    class RecordingHead(DirectionsHead):
        def __init__(self, sample_rate: int, intensity: float, hrtf_path: str | None = None):
            super().__init__()
            heads.append(hrtf_path)

    monkeypatch.setattr(room_module, "KemarResponses", RecordingHead)
    room_for(RenderOptions(mode="hrtf", hrtf_path="own-head.sofa"), SR, Orbit(8.0, SR))
    assert heads == ["own-head.sofa"]


def test_a_room_started_at_a_later_sample_is_the_room_that_heard_silence_until_then(signals):
    """A preview's room (``first_sample``) follows the orbit from there: as if it had heard silence before."""
    audio = signals.pink_noise(0.5, SR, seed=5, channels=2)
    first = 30011  # not on the reflections' hop grid
    orbit = Orbit(4.0, SR, True, 10.0)
    later = RoomRenderer(SR, orbit, "small", 0.3, SphericalHeadResponses(SR, 1.0, 120.0), 120.0, first_sample=first)
    silence_first = np.concatenate([np.zeros((2, first), dtype=np.float32), audio], axis=1)
    whole = stream(make_room(), silence_first, 8192)[:, first:]
    np.testing.assert_allclose(stream(later, audio, 8192), whole, atol=1e-6 * np.abs(whole).max())
    assert room_for(RenderOptions(), SR, orbit, first_sample=first).early.frames_done == first


def test_the_tails_short_time_transform_is_scipys():
    """The late tail's STFT and its inverse (numpy, no scipy.signal) against ``scipy.signal.stft``/``istft``."""
    import scipy.signal

    noise = np.random.default_rng(1).standard_normal((2, 20011))
    freqs, times, spectra = room_module._stft(noise, SR, 1024)
    want_freqs, want_times, want = scipy.signal.stft(noise, SR, nperseg=1024, noverlap=768)
    np.testing.assert_allclose(freqs, want_freqs)
    np.testing.assert_allclose(times, want_times, atol=1e-12)
    assert spectra.shape == want.shape
    np.testing.assert_allclose(spectra, want, atol=1e-12)
    back = room_module._istft(want, 1024)
    _, want_back = scipy.signal.istft(want, SR, nperseg=1024, noverlap=768)
    np.testing.assert_allclose(back, want_back, atol=1e-12)
    np.testing.assert_allclose(back[:, : noise.shape[1]], noise, atol=1e-12)
