"""The timbre match's parts: what it reads of a song and its render, its equaliser, and the streaming
FIR it runs on (``timbre_match``, ``streaming_fir``)."""

import instruments
import numpy as np
import pyloudnorm
import pytest
import scipy.signal

from surroundyou.engine.streaming_fir import StreamingFir
from surroundyou.engine.timbre_match import (
    CORRECT_OVER_DB,
    SEGMENT_FRAMES,
    RenderColour,
    timbre_correction,
)

SR = 44100


def summed(song: np.ndarray) -> np.ndarray:
    """The model's render (``timbre_match``): both ears hear ``L + R``."""
    return np.repeat(song.sum(axis=0, keepdims=True), 2, axis=0)


def colour_of(
    song: np.ndarray, dry: np.ndarray | None = None, room: np.ndarray | None = None, block_frames: int = 65536
) -> RenderColour:
    """What ``RenderColour`` reads of ``song`` rendered as ``dry`` (the model's render by default),
    given in blocks of ``block_frames`` (the pipeline's)."""
    dry = summed(song) if dry is None else dry
    colour = RenderColour(SR, song.shape[1])
    for start in range(0, song.shape[1], block_frames):
        part = slice(start, start + block_frames)
        colour.add(song[:, part], dry[:, part], None if room is None else room[:, part])
    return colour


def shadowing_render(song: np.ndarray, period_frames: int) -> np.ndarray:
    """The model's render, but its 1 kHz third 4 dB up in the first half of each period and 4 dB
    down in the second: a head whose shadow on one band moves with the orbit."""
    ears = summed(song)
    band = scipy.signal.sosfiltfilt(scipy.signal.butter(4, (891.0, 1122.0), "bandpass", fs=SR, output="sos"), ears)
    first_half = np.arange(song.shape[1]) % period_frames < period_frames // 2
    return ears + band * (np.where(first_half, 10 ** (4 / 20), 10 ** (-4 / 20)) - 1)


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
    correction = timbre_correction(colour_of(signals.band_shared_pink(20.0, SR, ((0.0, rho),), seed=11)))
    assert correction.response is None and correction.departure_db <= CORRECT_OVER_DB


def test_the_equaliser_gives_the_channels_sum_the_songs_timbre_at_its_loudness(signals):
    """Both sources reach an ear at once: by the model, the render's spectrum is that of ``L + R``
    (the channels' power times ``1 + rho``). Filtered, the sum has the song's long-term timbre, every
    band within 0.3 dB, and its own loudness within 0.1 LU."""
    song = signals.band_shared_pink(20.0, SR, ((0.0, 1.0), (400.0, -0.2), (1500.0, 0.9), (5000.0, 0.1)), seed=11)
    correction = timbre_correction(colour_of(song))
    assert correction.response is not None
    song_db = band_levels_db(song)
    rendered = song.sum(axis=0, keepdims=True)
    corrected = scipy.signal.fftconvolve(rendered, correction.response, axes=-1)[:, : song.shape[1]]
    before, after = (band_levels_db(audio) - song_db for audio in (rendered, corrected))
    before, after = before - before.mean(), after - after.mean()
    assert correction.departure_db == pytest.approx(np.abs(before).max(), abs=0.3)
    assert np.abs(before).max() > 2.0 and np.abs(after).max() <= 0.3, (np.round(before, 2), np.round(after, 2))
    meter = pyloudnorm.Meter(SR)
    assert meter.integrated_loudness(corrected.T) == pytest.approx(meter.integrated_loudness(rendered.T), abs=0.1)


def test_what_the_song_plays_where_the_render_shadows_it_is_read_and_the_design_is_not(signals):
    """A render that raises the 1 kHz third in the first half of each 8 s turn and lowers it in the
    second colours pink noise by its design alone, which is kept (read within 0.3 dB of 0 in every
    third), but a song that plays a 1 kHz tone in the first halves only comes out brighter there:
    read as the instrument measures it, the song's colour through that render less the pink
    noise's, within 0.3 dB in every third from 100 Hz to 12.5 kHz."""
    period = 8 * SR
    pink = signals.pink_noise(32.0, SR, seed=1, channels=2)
    frames = np.arange(pink.shape[1])
    tone = 0.05 * np.sin(2 * np.pi * 1000.0 * frames / SR) * (frames % period < period // 2)
    song = pink + tone
    pink_made = band_levels_db(shadowing_render(pink, period)) - band_levels_db(pink)
    song_made = band_levels_db(shadowing_render(song, period)) - band_levels_db(song)
    expected_db = song_made - pink_made
    measured = slice(-len(expected_db), None)  # its thirds from 25 Hz, the measure's from 100 Hz
    for audio, expected in ((pink, np.zeros_like(expected_db)), (song, expected_db)):
        got_db = colour_of(audio, shadowing_render(audio, period)).song_change_db()[measured]
        np.testing.assert_allclose(got_db - got_db.mean(), expected - expected.mean(), atol=0.3)
    assert expected_db.max() - np.median(expected_db) > 1.5


def test_segments_cover_a_short_song_and_sample_a_long_one():
    assert RenderColour(SR, 5 * SR).hop == SEGMENT_FRAMES // 2
    assert RenderColour(SR, 300 * SR).hop == 32768


def test_a_note_across_two_blocks_is_read_whatever_the_blocks(signals):
    """A loud 100 ms note at 1.6 kHz over a quiet bed, sounding across the pipeline's first block
    boundary (65536), where only one segment of a minute's song finds it (one straddling the
    blocks, which went unread). Rendered 6 dB up, it raises its third over the long term by what
    the tests' instrument reads (the render against the model's), and is read so whether the song
    comes in the pipeline's blocks, in odd ones or in one: within 1.5 dB, as one segment's Hann
    window weighs a short note by where in it the note falls (here near its middle: +1.1 dB)."""
    song = 0.01 * signals.pink_noise(60.0, SR, seed=3, channels=2)
    note = np.arange(63900, 63900 + SR // 10)
    song[0, note] += np.sin(2 * np.pi * 1600.0 * note / SR) * np.hanning(note.size)
    dry = summed(song)
    dry[:, note] *= 2.0
    expected_db = band_levels_db(dry) - band_levels_db(summed(song))
    readings = [colour_of(song, dry, block_frames=frames) for frames in (65536, 10007, song.shape[1])]
    third = int(np.argmin(np.abs(readings[0].centres_hz - 1600.0)))
    assert expected_db.max() > 4.0
    for colour in readings:
        change_db = colour.song_change_db()
        assert change_db[third] - np.median(change_db) == pytest.approx(expected_db.max(), abs=1.5)
        np.testing.assert_allclose(colour.song, readings[-1].song, rtol=1e-4)


def test_the_room_colour_is_what_the_room_adds_to_each_band(signals):
    """A room part that reaches only the upper bands (pink noise high-passed at 250 Hz, as loud as
    the dry render there) raises them by 3 dB: read within 0.3 dB of the tests' instrument in every
    third from 100 Hz to 12.5 kHz."""
    dry = signals.pink_noise(20.0, SR, seed=1, channels=2)
    room = scipy.signal.sosfilt(scipy.signal.butter(4, 250.0, "highpass", fs=SR, output="sos"), dry[::-1])
    expected_db = band_levels_db(dry + room) - band_levels_db(dry)
    got_db = colour_of(dry, dry, room).room_change_db()[-len(expected_db) :]  # its thirds from 25 Hz
    assert expected_db[0] < 0.5 and expected_db[-1] > 2.5
    np.testing.assert_allclose(got_db, expected_db, atol=0.3)


def test_without_a_room_nothing_is_added(signals):
    assert not np.any(colour_of(signals.pink_noise(5.0, SR, seed=1, channels=2)).room_change_db())
