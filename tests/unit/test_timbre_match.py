"""The timbre match's parts: what it reads of a song's channels, its equaliser, and the streaming FIR
it runs on (``timbre_match``, ``streaming_fir``)."""

import instruments
import numpy as np
import pyloudnorm
import pytest
import scipy.signal

from surroundyou.engine.streaming_fir import StreamingFir
from surroundyou.engine.timbre_match import (
    CORRECT_OVER_DB,
    SEGMENT_FRAMES,
    ChannelRelation,
    RoomColour,
    timbre_correction,
)

SR = 44100


def relation_of(song: np.ndarray, block: int = 65536) -> ChannelRelation:
    relation = ChannelRelation(SR, song.shape[1])
    for start in range(0, song.shape[1], block):
        relation.add(song[:, start : start + block])
    return relation


def band_levels_db(audio: np.ndarray) -> np.ndarray:
    """Long-term 1/3-octave levels (100 Hz - 12.5 kHz) of all channels' power, by the tests' instrument."""
    _, levels = instruments.third_octave_levels_db(audio, SR, window_s=0.5, low_hz=100.0, high_hz=12500.0)
    return 10 * np.log10((10 ** (levels / 10)).sum(axis=0).mean(axis=0))


def test_the_streaming_fir_gives_one_convolutions_samples_in_any_blocks():
    rng = np.random.default_rng(3)
    source, response = rng.standard_normal((2, 150_000)).astype(np.float32), rng.standard_normal((1, 3000))
    expected = scipy.signal.fftconvolve(source, response, axes=-1)[:, : source.shape[1]]
    for block in (1000, 65536, 150_000):
        fir = StreamingFir(response)
        got = np.concatenate([fir.process(source[:, i : i + block]) for i in range(0, source.shape[1], block)], 1)
        np.testing.assert_allclose(got, expected, atol=2e-3 * np.abs(expected).max())


@pytest.mark.parametrize("rho", [1.0, 0.5, 0.0, -0.3])
def test_channels_that_relate_alike_in_every_band_are_left_as_rendered(signals, rho):
    correction = timbre_correction(relation_of(signals.band_shared_pink(20.0, SR, ((0.0, rho),), seed=11)))
    assert correction.response is None and correction.departure_db <= CORRECT_OVER_DB


def test_the_equaliser_gives_the_channels_sum_the_songs_timbre_at_its_loudness(signals):
    """Both sources reach an ear at once: by the model, the render's spectrum is that of ``L + R``
    (the channels' power times ``1 + rho``). Filtered, the sum has the song's long-term timbre, every
    band within 0.3 dB, and its own loudness within 0.1 LU."""
    song = signals.band_shared_pink(20.0, SR, ((0.0, 1.0), (400.0, -0.2), (1500.0, 0.9), (5000.0, 0.1)), seed=11)
    correction = timbre_correction(relation_of(song))
    assert correction.response is not None
    song_db = band_levels_db(song)
    summed = song.sum(axis=0, keepdims=True)
    corrected = scipy.signal.fftconvolve(summed, correction.response, axes=-1)[:, : song.shape[1]]
    before, after = (band_levels_db(audio) - song_db for audio in (summed, corrected))
    before, after = before - before.mean(), after - after.mean()
    assert correction.departure_db == pytest.approx(np.abs(before).max(), abs=0.3)
    assert np.abs(before).max() > 2.0 and np.abs(after).max() <= 0.3, (np.round(before, 2), np.round(after, 2))
    meter = pyloudnorm.Meter(SR)
    assert meter.integrated_loudness(corrected.T) == pytest.approx(meter.integrated_loudness(summed.T), abs=0.1)


def test_segments_cover_a_short_song_and_sample_a_long_one():
    assert ChannelRelation(SR, 5 * SR).hop == SEGMENT_FRAMES // 2
    assert ChannelRelation(SR, 300 * SR).hop == 32768


def test_the_room_colour_is_what_the_room_adds_to_each_band(signals):
    """A room part that reaches only the upper bands (pink noise high-passed at 250 Hz, as loud as
    the dry render there) raises them by 3 dB: read within 0.3 dB of the tests' instrument in every
    third from 100 Hz to 12.5 kHz."""
    dry = signals.pink_noise(20.0, SR, seed=1, channels=2)
    room = scipy.signal.sosfilt(scipy.signal.butter(4, 250.0, "highpass", fs=SR, output="sos"), dry[::-1])
    colour = RoomColour(SR, dry.shape[1])
    for start in range(0, dry.shape[1], 65536):
        colour.add(dry[:, start : start + 65536], room[:, start : start + 65536])
    expected_db = band_levels_db(dry + room) - band_levels_db(dry)
    got_db = colour.band_change_db()[-len(expected_db) :]  # its thirds from 25 Hz, the measure's from 100 Hz
    assert expected_db[0] < 0.5 and expected_db[-1] > 2.5
    np.testing.assert_allclose(got_db, expected_db, atol=0.3)


def test_without_a_room_nothing_is_added():
    assert not np.any(RoomColour(SR, 10 * SR).band_change_db())
