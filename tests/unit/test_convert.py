"""The conversion pipeline, measured on its decoded output with the default preset.
(Inputs decoded by ffmpeg, and files that are no audio: tests/integration/test_ffmpeg_inputs.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from audio_files import decode, tiny_png, write_audio
from instruments import true_peak_8x_dbtp
from pedalboard.io import AudioFile

from surroundyou.engine.analysis import integrated_lufs, true_peak_dbtp
from surroundyou.engine.convert import (
    ConversionReport,
    convert_file,
    limiter_ceiling_dbtp,
    output_format_for,
)
from surroundyou.engine.decode import BLOCK_FRAMES
from surroundyou.engine.spill import Spill
from surroundyou.engine.streaming_fir import StreamingFir
from surroundyou.engine.tags import Picture, Tags, read_tags, write_tags
from surroundyou.engine.timbre_match import FILTER_TAPS
from surroundyou.job_options import render_options_for

SR = 44100
CLASSIC = render_options_for({})


@pytest.fixture(scope="module")
def music(signals):
    return signals.music_like(6.0, SR, seed=3)


@pytest.fixture(scope="module")
def loud_master(signals):
    """A brick-walled master: music pushed 18 dB into hard clipping (true peak above 0 dBTP)."""
    return np.clip(signals.music_like(5.0, SR, seed=4) * 8.0, -1.0, 1.0)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "wav", "ogg"])
def test_loudness_matches_the_input_and_length_and_timing_are_kept(tmp_path, music, fmt):
    source = write_audio(tmp_path / "song.wav", music, SR)
    report = convert_file(source, tmp_path / f"song.8d.{fmt}", CLASSIC)
    out, rate = decode(tmp_path / f"song.8d.{fmt}")
    assert rate == SR
    assert out.shape == (2, music.shape[1]), "same length as the input (MP3: after the codec delay)"
    assert abs(integrated_lufs(out, SR) - integrated_lufs(music, SR)) <= 1.0
    assert abs(report.output_lufs - report.input_lufs) <= 1.0
    assert abs(report.input_lufs - integrated_lufs(music, SR)) < 0.05
    assert true_peak_dbtp(out) <= -1.0
    if fmt in ("flac", "wav"):  # the report's true peak is the file's: the limiter's reading of it
        assert abs(report.true_peak_dbtp - true_peak_8x_dbtp(out)) <= 0.1
    else:  # a song this quiet is not decoded: the report names the promise its margin keeps
        assert report.true_peak_dbtp is None and report.true_peak_text == "≤ -1.0 dBTP"
    assert (report.duration_s, report.sample_rate, report.channels) == (music.shape[1] / SR, SR, 2)
    assert report.output_bytes == (tmp_path / f"song.8d.{fmt}").stat().st_size
    # timing: the loudness envelope of the result follows the input's (no shift, no added delay)
    window = SR // 20
    envelope_in = np.sqrt((music[:, : window * 100] ** 2).reshape(2, 100, window).mean(axis=(0, 2)))
    envelope_out = np.sqrt((out[:, : window * 100] ** 2).reshape(2, 100, window).mean(axis=(0, 2)))
    lags = [np.corrcoef(envelope_in[5:95], envelope_out[5 + lag : 95 + lag])[0, 1] for lag in range(-2, 3)]
    assert int(np.argmax(lags)) == 2


@pytest.mark.parametrize("quality", ["192", "128", "96"])
def test_a_low_mp3_bitrate_gives_the_song_back_as_loud(tmp_path, music, quality):
    """LAME at a constant 192 / 128 / 96 kbps gives a song back quieter (``encoder_loss``): this
    mix came out 0.29 / 0.48 / 0.54 LU under its input; the gain makes up what the encoder takes
    from excerpts of the song, and the report names the file's loudness."""
    source = write_audio(tmp_path / "song.wav", music, SR)
    report = convert_file(source, tmp_path / "song.8d.mp3", CLASSIC, mp3_quality=quality)
    out_lufs = integrated_lufs(decode(tmp_path / "song.8d.mp3")[0], SR)
    assert abs(out_lufs - integrated_lufs(music, SR)) <= 0.1
    assert abs(report.output_lufs - out_lufs) <= 0.1


@pytest.mark.parametrize("fmt", ["mp3", "flac"])
def test_true_peak_stays_under_minus_one_dbtp_for_a_loud_clipped_master(tmp_path, loud_master, fmt):
    assert true_peak_dbtp(loud_master) > 0.0
    source = write_audio(tmp_path / "loud.wav", loud_master, SR)
    report = convert_file(source, tmp_path / f"loud.8d.{fmt}", CLASSIC)
    out, _ = decode(tmp_path / f"loud.8d.{fmt}")
    # the tests' own meter (a long interpolator over the whole signal, silence around it): the
    # product's chunked meter reads a song that starts loud high in its first chunk (no context)
    assert true_peak_8x_dbtp(out) <= -1.0
    # the report's true peak is the file's (a dense song's MP3 is decoded and measured, so its
    # limiter may start nearer the promise, and be raised to the room that left)
    assert abs(report.true_peak_dbtp - true_peak_8x_dbtp(out)) <= 0.1


def test_a_clipped_master_is_filtered_through_each_equaliser_once_to_the_same_bytes(tmp_path, signals, monkeypatch):
    """A master loud enough to be clipped and equalised is read through the timbre match's
    equaliser by the gain's forecast and the clipper's measures of its loss: the first of them
    filters the song and keeps it (``Spill``), the others read that. Then through the one that
    allows for the clipper's colour, once to read it, and through the encode's, designed from it."""
    source = write_audio(tmp_path / "loud.wav", signals.loud_master(8.0, 16.0, SR), SR, bit_depth=24)
    filtered_blocks = []
    process = StreamingFir.process
    monkeypatch.setattr(
        StreamingFir, "process", lambda self, block: filtered_blocks.append(self) or process(self, block)
    )

    def converted(name: str) -> tuple[ConversionReport, int]:
        filtered_blocks.clear()
        report = convert_file(source, tmp_path / name, CLASSIC)
        return report, sum(fir.taps == FILTER_TAPS for fir in filtered_blocks)

    report, kept_blocks = converted("kept.flac")
    assert report.peaks_clipped_db > 0 and report.timbre_corrected_db > 0
    blocks_per_pass = -(-report.duration_s * SR // BLOCK_FRAMES)
    blocks = Spill.blocks
    monkeypatch.setattr(Spill, "blocks", lambda self, response=None, keep=False: blocks(self, response))
    _, unkept_blocks = converted("unkept.flac")
    assert (tmp_path / "kept.flac").read_bytes() == (tmp_path / "unkept.flac").read_bytes()
    assert kept_blocks == 3 * blocks_per_pass
    assert unkept_blocks == 5 * blocks_per_pass


def test_a_silent_start_stays_digital_silence_in_a_sixteen_bit_result(tmp_path, music):
    """Nothing in the chain (head, room, limiter, dither) adds a sample before the music starts."""
    song = np.concatenate([np.zeros((2, SR), np.float32), music[:, : 2 * SR]], axis=1)
    source = write_audio(tmp_path / "song.wav", song, SR, bit_depth=16)
    convert_file(source, tmp_path / "song.8d.flac", CLASSIC)
    with AudioFile(str(tmp_path / "song.8d.flac")) as result:
        assert result.file_dtype == "int16"
        samples = result.read_raw(result.frames)
    assert not samples[:, : SR - SR // 20].any()
    assert np.count_nonzero(samples[:, SR:]) > 0.99 * samples[:, SR:].size


def test_mp3_default_is_320k_and_lower_bitrates_get_more_headroom():
    assert limiter_ceiling_dbtp("mp3") > limiter_ceiling_dbtp("mp3", "192") > limiter_ceiling_dbtp("mp3", 128)
    assert limiter_ceiling_dbtp("flac") == pytest.approx(-1.36)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_same_input_and_options_give_identical_bytes(tmp_path, music, fmt):
    source = write_audio(tmp_path / "song.wav", music, SR)
    convert_file(source, tmp_path / f"first.{fmt}", CLASSIC)
    convert_file(source, tmp_path / f"second.{fmt}", CLASSIC)
    assert (tmp_path / f"first.{fmt}").read_bytes() == (tmp_path / f"second.{fmt}").read_bytes()


def test_reverb_zero_is_dry(tmp_path, signals):
    """A noise burst then silence: with --reverb 0 nothing rings on; the default preset's room does."""
    burst = np.zeros((2, 3 * SR), dtype=np.float32)
    burst[:, : SR // 2] = signals.pink_noise(0.5, SR, seed=5, channels=2, rms=0.1)
    source = write_audio(tmp_path / "burst.wav", burst, SR, bit_depth=32)  # float: no dither floor
    tails = {}
    for reverb in (0.0, CLASSIC.reverb):
        options = render_options_for({"reverb": reverb, "fadeInS": 0})  # the room from the first note
        convert_file(source, tmp_path / f"burst-{reverb}.wav", options)
        out, _ = decode(tmp_path / f"burst-{reverb}.wav")
        burst_energy = np.mean(out[:, : SR // 2] ** 2)
        tail_energy = np.mean(out[:, SR // 2 + SR // 20 : SR] ** 2)  # 50-500 ms after the burst (small room: 0.2 s)
        tails[reverb] = 10 * np.log10(tail_energy / burst_energy + 1e-30)
    assert tails[0.0] < -90.0
    assert tails[CLASSIC.reverb] > -60.0


def test_mono_input_gives_stereo_as_loud_as_the_song_on_both_ears(tmp_path, music):
    mono = music[:1]
    report = convert_file(write_audio(tmp_path / "mono.flac", mono, SR), tmp_path / "mono.8d.flac", CLASSIC)
    out, _ = decode(tmp_path / "mono.8d.flac")
    assert out.shape == (2, mono.shape[1]) and report.channels == 1
    heard = integrated_lufs(np.repeat(mono, 2, axis=0), SR)
    assert abs(integrated_lufs(out, SR) - heard) <= 1.0


@pytest.mark.parametrize(
    "source_name, bit_depth, rate, target, out_rate, out_dtype",
    [
        ("hi.flac", 24, 48000, "hi.8d.flac", 48000, "int24"),  # 24-bit stays 24-bit
        ("hi.wav", 32, 96000, "hi.8d.wav", 96000, "float32"),  # float stays float, 96 kHz stays
        ("cd.wav", 16, 44100, "cd.8d.flac", 44100, "int16"),  # 16-bit stays 16-bit (dithered)
        ("hi.wav", 24, 96000, "hi.8d.mp3", 48000, "float32"),  # MP3 stops at 48 kHz
    ],
)
def test_rate_and_resolution_are_kept(tmp_path, music, source_name, bit_depth, rate, target, out_rate, out_dtype):
    audio = music[:, : 3 * SR]  # the same samples, declared at another rate
    convert_file(write_audio(tmp_path / source_name, audio, rate, bit_depth=bit_depth), tmp_path / target, CLASSIC)
    with AudioFile(str(tmp_path / target)) as result:
        assert (result.samplerate, result.file_dtype) == (out_rate, out_dtype)
    out, _ = decode(tmp_path / target)
    assert out.shape[1] == round(audio.shape[1] * out_rate / rate)


@pytest.mark.parametrize(
    "rate, target, out_rate",
    [
        (6000, "low.8d.wav", 48000),  # rendered at 48 kHz, as every rate under 32 kHz (encode.output_sample_rate)
        (4000, "low.8d.flac", 48000),
        (384000, "high.8d.ogg", 192000),  # Vorbis stops at 192 kHz
    ],
)
def test_unusual_rates_convert_to_finite_audio_of_the_songs_length(tmp_path, music, rate, target, out_rate):
    audio = music[:, :rate]  # up to a second
    convert_file(write_audio(tmp_path / f"{rate}.wav", audio, rate), tmp_path / target, CLASSIC)
    out, out_sample_rate = decode(tmp_path / target)
    assert out_sample_rate == out_rate
    assert out.shape[1] == pytest.approx(audio.shape[1] * out_rate / rate, abs=out_rate // 500)
    assert np.isfinite(out).all() and np.sqrt(np.mean(out**2)) > 0.01


def test_tags_and_cover_survive_the_conversion(tmp_path, music):
    source = write_audio(tmp_path / "tagged.mp3", music[:, : 2 * SR], SR)
    tags = Tags({"title": ["Round and Round"], "artist": ["Test Band"]}, [Picture(tiny_png(), "image/png")])
    write_tags(source, tags)
    convert_file(source, tmp_path / "tagged.8d.flac", CLASSIC)
    assert read_tags(tmp_path / "tagged.8d.flac") == tags


def test_progress_rises_to_one(tmp_path, music):
    fractions = []
    convert_file(
        write_audio(tmp_path / "song.wav", music, SR), tmp_path / "song.8d.mp3", CLASSIC, progress=fractions.append
    )
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 2


def test_output_format_follows_the_name_unless_given():
    assert output_format_for("x.flac") == "flac"
    assert output_format_for("x.FLAC") == "flac"
    assert output_format_for("x", None) == "mp3"
    assert output_format_for("x.bin", "ogg") == "ogg"
    with pytest.raises(ValueError, match="unknown output format"):
        output_format_for("x.aac")
