"""True peak of every output format, DECODED, measured by the tests' own meter (8x, 2049-tap
interpolator: tests/instruments.py) and by short meters (scipy's resample_poly defaults at 4x, 8x
and 16x, which read content near fs/2 higher), on the signals that make inter-sample peaks: music-like masters
driven 12-20 dB into hard clipping, full-scale square waves (odd harmonics) and pink noise.
Loudness still matches the input where the ceiling allows: a mix at a normal level, and a loud
master, whose peaks the limiter must pull down further than the input's own limiter did.
"""

from __future__ import annotations

import numpy as np
import pytest
from audio_files import decode, write_audio
from instruments import out_of_band_db, short_meter_true_peak_dbtp, true_peak_8x_dbtp

from surroundyou.engine import convert as convert_module
from surroundyou.engine.analysis import integrated_lufs, long_term_third_octaves_db
from surroundyou.engine.convert import convert_file
from surroundyou.job_options import render_options_for

SR = 44100
SECONDS = 4.0
CLASSIC = render_options_for({})
# name: (bit depth of the source, output extension, MP3 quality)
FORMATS = {
    "mp3 320k": (16, "mp3", "320"),
    "mp3 256k": (16, "mp3", "256"),
    "mp3 V0": (16, "mp3", "V0"),
    "mp3 192k": (16, "mp3", "192"),
    "mp3 128k": (16, "mp3", "128"),
    "flac 16-bit": (16, "flac", "320"),
    "flac 24-bit": (24, "flac", "320"),
    "wav 16-bit": (16, "wav", "320"),
    "wav 24-bit": (24, "wav", "320"),
    "wav float": (32, "wav", "320"),
    "ogg": (16, "ogg", "320"),
}


def square_wave(frequency_hz: float) -> np.ndarray:
    t = np.arange(int(SECONDS * SR)) / SR
    return np.tile(np.where(np.sin(2 * np.pi * frequency_hz * t + 0.1) >= 0, 1.0, -1.0), (2, 1))


def loud_signal(name: str, signals) -> np.ndarray:
    if name.startswith("music clipped"):
        music = signals.music_like(SECONDS, SR, seed=4).astype(np.float64)
        drive_db = float(name.split()[-1].rstrip("dB"))
        return np.clip(music / np.abs(music).max() * 10 ** (drive_db / 20), -1, 1)
    if name.startswith("square"):
        return square_wave(float(name.split()[-1].rstrip("Hz")))
    pink = signals.pink_noise(SECONDS, SR, seed=7, channels=2, rms=0.5 if name == "pink clipped" else 0.1)
    return np.clip(pink, -1, 1) if name == "pink clipped" else pink / np.abs(pink).max()


SIGNALS = [
    "music clipped 12dB",
    "music clipped 18dB",
    "music clipped 20dB",
    "square 1000Hz",
    "square 3000Hz",
    "square 5512.5Hz",
    "pink",
    "pink clipped",
]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("signal_name", SIGNALS)
def test_the_decoded_result_stays_at_or_under_minus_1_dbtp(tmp_path, signals, signal_name, fmt):
    bit_depth, ext, quality = FORMATS[fmt]
    audio = loud_signal(signal_name, signals).astype(np.float32)
    assert true_peak_8x_dbtp(audio) > -0.5
    source = write_audio(tmp_path / "loud.wav", audio, SR, bit_depth=bit_depth)
    convert_file(source, tmp_path / f"loud.8d.{ext}", CLASSIC, mp3_quality=quality)
    out, _ = decode(tmp_path / f"loud.8d.{ext}")
    assert np.isfinite(out).all()
    assert true_peak_8x_dbtp(out) <= -1.0
    assert short_meter_true_peak_dbtp(out) <= -1.0


LOSSY = ["mp3 320k", "mp3 256k", "mp3 V0", "mp3 192k", "mp3 128k", "ogg"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", LOSSY)
@pytest.mark.parametrize("noise", ["white", "white L=R", "gaussian clipped"])
def test_full_scale_noise_stays_at_or_under_minus_1_dbtp_through_a_lossy_encoder(tmp_path, noise, fmt):
    """The encoders' overshoot is largest on dense noise: at the fixed margins full-scale white
    noise decoded at -0.54 dBTP (MP3 256 kbps), -0.64 (320 kbps, L = R), Gaussian noise -0.56 (128
    kbps) and -0.91 (Vorbis). A dense song's lossy result is decoded, measured and encoded again
    with a lower ceiling while over (``convert``, ``decoded_peak``)."""
    bit_depth, ext, quality = FORMATS[fmt]
    rng = np.random.default_rng(41)
    if noise == "gaussian clipped":
        audio = np.clip(rng.standard_normal((2, int(SECONDS * SR))) * 0.5, -1, 1)
    else:
        audio = rng.uniform(-1, 1, (1 if noise == "white L=R" else 2, int(SECONDS * SR))) * np.ones((2, 1))
    source = write_audio(tmp_path / "noise.wav", audio.astype(np.float32), SR, bit_depth=32)
    convert_file(source, tmp_path / f"noise.8d.{ext}", CLASSIC, mp3_quality=quality)
    out, _ = decode(tmp_path / f"noise.8d.{ext}")
    assert true_peak_8x_dbtp(out) <= -1.0
    assert short_meter_true_peak_dbtp(out) <= -1.0


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_loudness_still_matches_where_the_ceiling_allows(tmp_path, signals, fmt):
    bit_depth, ext, quality = FORMATS[fmt]
    music = signals.music_like(6.0, SR, seed=3)
    source = write_audio(tmp_path / "song.wav", music, SR, bit_depth=bit_depth)
    convert_file(source, tmp_path / f"song.8d.{ext}", CLASSIC, mp3_quality=quality)
    out, _ = decode(tmp_path / f"song.8d.{ext}")
    assert abs(integrated_lufs(out, SR) - integrated_lufs(music, SR)) <= 1.0
    assert true_peak_8x_dbtp(out) <= -1.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fmt", "drive_db", "within_lu"),
    [
        ("flac 16-bit", 6.0, 0.5),
        ("flac 16-bit", 16.0, 0.5),
        ("mp3 320k", 4.0, 0.5),
        ("mp3 320k", 8.0, 0.5),
        ("mp3 320k", 12.0, 0.5),
        ("mp3 320k", 16.0, 0.75),
    ],
)
def test_a_loud_master_keeps_its_loudness(tmp_path, signals, fmt, drive_db, within_lu):
    """A record mastered loud (-11.1 to -6.8 LUFS, true peak 1.4-3.6 dB over full scale): to stay
    under the ceiling its peaks must come down further than the master's own limiter took them,
    and the gain before the limiter makes up the loudness that takes. A gain that rides under the
    peaks can do that only so far: from where the limiter alone would leave the song 0.5 LU short,
    the tips of the peaks are soft-clipped first (``clipper``). At -7.8 / -6.8 LUFS (drives 12 /
    16): lossless 1.17 / 2.09 LU quieter before the clipper, now 0.05 / 0.08; MP3 1.91 / 2.79,
    now 0.17 / 0.29 (at -9.2 LUFS 0.58, now 0.10 louder). A verified MP3 holds 0.6 dB less margin,
    its limiter holds its gain only between peaks, and an unclipped MP3 left well under the
    promise is encoded again with its ceiling raised (test below)."""
    bit_depth, ext, quality = FORMATS[fmt]
    master = signals.loud_master(8.0, drive_db, SR)
    assert true_peak_8x_dbtp(master) > 1.0
    source = write_audio(tmp_path / "master.wav", master, SR, bit_depth=bit_depth)
    convert_file(source, tmp_path / f"master.8d.{ext}", CLASSIC, mp3_quality=quality)
    out, _ = decode(tmp_path / f"master.8d.{ext}")
    assert abs(integrated_lufs(out, SR) - integrated_lufs(master, SR)) <= within_lu
    assert true_peak_8x_dbtp(out) <= -1.0


@pytest.mark.slow
def test_a_tone_as_loud_as_a_loud_master_is_limited_not_clipped(tmp_path, signals, monkeypatch):
    """A 1 kHz sine at 0.9 of full scale is as short of its loudness under the ceiling as a loud
    master (1.7 LU), but nothing around it would hide a clipper's partials: the limiter alone
    takes it down and it stays a clean tone. Clipped like music, the energy outside 1 kHz +- 50 Hz
    would be 19 dB under the tone, where it is 69 dB under it. Were the tone taken for music, the
    clipper's measured products (its harmonics, in thirds the tone leaves empty) would still send it
    back to not clipping (``CLIP_PRODUCTS_BUDGET_DB``)."""
    tone = signals.sine(6.0, 1000.0, 0.9)
    source = write_audio(tmp_path / "tone.wav", tone, SR, bit_depth=24)

    def outside_the_tone_db(name: str) -> float:
        convert_file(source, tmp_path / f"{name}.flac", CLASSIC)
        out, _ = decode(tmp_path / f"{name}.flac")
        assert true_peak_8x_dbtp(out) <= -1.0
        return max(out_of_band_db(ear, SR, 1000.0, 50.0, skip_s=1.0) for ear in out)

    assert outside_the_tone_db("limited") <= -60.0
    monkeypatch.setattr(convert_module, "masks_clipping", lambda band_powers: True)
    assert outside_the_tone_db("products") <= -60.0
    monkeypatch.setattr(convert_module, "CLIP_PRODUCTS_BUDGET_DB", np.inf)
    assert outside_the_tone_db("clipped") >= -30.0


@pytest.mark.slow
def test_a_loud_mp3_left_under_the_promise_is_encoded_again_louder(tmp_path, signals, monkeypatch):
    """The encoder's overshoot on music is often less than the margin allows for: the first MP3
    of this loud master decodes 0.5 dB under the promise, loudness the limiter took for nothing. The
    second encode, its ceiling raised by that, keeps the promise on the tests' own meter and
    gives the loudness back; one raised past the promise (the safety set 1 dB the wrong way) is
    thrown away and the first kept, byte for byte. No temporary file is left either way, and the
    progress bar keeps rising through both encodes. (The clipper is kept out: it would make this
    master's loudness up; a clipped result is raised in the test below.)"""
    monkeypatch.setattr(convert_module, "CLIP_FROM_SHORTFALL_LU", np.inf)
    master = signals.loud_master(8.0, 10.0, SR, seed=0)  # -8.5 LUFS
    source = write_audio(tmp_path / "master.wav", master, SR, bit_depth=16)

    def converted(name: str, raise_min_db: float, safety_db: float) -> tuple[float, float, bytes]:
        monkeypatch.setattr(convert_module, "RAISE_MIN_DB", raise_min_db)
        monkeypatch.setattr(convert_module, "RAISE_SAFETY_DB", safety_db)
        folder = tmp_path / name
        folder.mkdir()
        fractions: list[float] = []
        convert_file(source, folder / "master.8d.mp3", CLASSIC, progress=fractions.append)
        assert [path.name for path in folder.iterdir()] == ["master.8d.mp3"]
        # the first encode fills the bar to 0.8, the second (whether kept or not) the rest
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert any(0.8 < fraction < 1.0 for fraction in fractions) == (raise_min_db < np.inf), name
        out, _ = decode(folder / "master.8d.mp3")
        loudness_lu = integrated_lufs(out, SR) - integrated_lufs(master, SR)
        return loudness_lu, true_peak_8x_dbtp(out), (folder / "master.8d.mp3").read_bytes()

    raise_min_db, safety_db = convert_module.RAISE_MIN_DB, convert_module.RAISE_SAFETY_DB
    once_lu, once_dbtp, once = converted("once", raise_min_db=np.inf, safety_db=safety_db)
    raised_lu, raised_dbtp, raised = converted("raised", raise_min_db, safety_db)
    thrown_lu, _, thrown = converted("thrown away", raise_min_db, safety_db=-1.0)
    assert once_dbtp < -1.45, "the first encode leaves room under the promise"
    assert once_dbtp + 0.1 <= raised_dbtp <= -1.0, (once_dbtp, raised_dbtp)  # -1.53 -> -1.25
    assert raised_lu >= once_lu + 0.15, (once_lu, raised_lu)  # -1.25 -> -1.05 LU
    assert thrown == once and thrown_lu == once_lu
    assert raised != once


@pytest.mark.slow
def test_a_clipped_loud_mp3_left_under_the_promise_is_raised_with_the_same_clipping(tmp_path, signals, monkeypatch):
    """A master at -6.9 LUFS as MP3 192 kbps: its peaks' tips clipped 4 dB deep and still 1.3 LU
    quieter than its input, its first encode decoded 0.46 dB under the promise. The second encode is
    the first made louder (its gain, clipper and limiter raised alike): 0.3 LU of the loudness
    given back, still under -1 dBTP on the tests' own meter, clipped as deep and with the same
    timbre (long-term thirds within 0.1 dB). (Raised by planning it again at a higher ceiling, as
    before, a clipped result could come out less clipped and quieter, so it was kept as it was.)
    Its clip is held to ``MAX_CLIP_DB``: 6 dB deep, as its loudness asks, it is 0.43 LU short."""
    monkeypatch.setattr(convert_module, "MAX_CLEAN_CLIP_DB", convert_module.MAX_CLIP_DB)
    master = signals.loud_master(8.0, 16.0, SR, seed=0)  # -6.9 LUFS
    source = write_audio(tmp_path / "master.wav", master, SR, bit_depth=16)

    def converted(name: str, raise_min_db: float) -> tuple[float, float, float, np.ndarray]:
        monkeypatch.setattr(convert_module, "RAISE_MIN_DB", raise_min_db)
        report = convert_file(source, tmp_path / f"{name}.mp3", CLASSIC, mp3_quality="192")
        out, _ = decode(tmp_path / f"{name}.mp3")
        _, thirds_db = long_term_third_octaves_db(out, SR)
        loudness_lu = integrated_lufs(out, SR) - integrated_lufs(master, SR)
        return loudness_lu, true_peak_8x_dbtp(out), report.peaks_clipped_db, thirds_db - thirds_db.mean()

    raise_min_db = convert_module.RAISE_MIN_DB
    once_lu, once_dbtp, once_clip_db, once_thirds = converted("once", np.inf)
    raised_lu, raised_dbtp, raised_clip_db, raised_thirds = converted("raised", raise_min_db)
    assert once_lu <= -1.0 and once_dbtp < -1.4 and once_clip_db > 0, (once_lu, once_dbtp, once_clip_db)
    assert raised_lu >= once_lu + 0.2, (once_lu, raised_lu)  # -1.30 -> -0.99 LU
    assert raised_dbtp <= -1.0, raised_dbtp  # -1.64 -> -1.43 dBTP
    assert raised_clip_db == once_clip_db
    assert np.max(np.abs(raised_thirds - once_thirds)) <= 0.1


@pytest.mark.slow
def test_a_loud_mp3_encoded_again_lower_is_raised_where_that_left_room(tmp_path, signals, monkeypatch):
    """A master at -6 LUFS as MP3 V5: its first encode decodes over the promise, the one lowered by
    the excess and 0.3 dB well under it. That one is raised too (it was not, until the encoder's
    overshoot was seen to settle after a lower encode about as often as after a first one), and
    the raise holds on the tests' own meter: -3.02 -> -2.61 LU, -1.75 -> -1.38 dBTP. (Its clip is
    held to ``MAX_CLIP_DB``: clipped deeper, it comes out louder and its raise overshoots.)"""
    from surroundyou.engine import decoded_peak

    monkeypatch.setattr(convert_module, "MAX_CLEAN_CLIP_DB", convert_module.MAX_CLIP_DB)

    master = signals.loud_master(8.0, 20.0, SR, seed=3)
    source = write_audio(tmp_path / "master.wav", master, SR, bit_depth=16)
    readings_dbtp: list[float] = []
    measure = decoded_peak.decoded_true_peak_dbtp

    def recorded(path):
        readings_dbtp.append(measure(path))
        return readings_dbtp[-1]

    monkeypatch.setattr(decoded_peak, "decoded_true_peak_dbtp", recorded)

    def converted(name: str, raise_min_db: float) -> tuple[float, float]:
        monkeypatch.setattr(convert_module, "RAISE_MIN_DB", raise_min_db)
        readings_dbtp.clear()
        convert_file(source, tmp_path / f"{name}.mp3", CLASSIC, mp3_quality="V5")
        out, _ = decode(tmp_path / f"{name}.mp3")
        return integrated_lufs(out, SR) - integrated_lufs(master, SR), true_peak_8x_dbtp(out)

    raise_min_db = convert_module.RAISE_MIN_DB
    once_lu, _ = converted("once", np.inf)
    raised_lu, raised_dbtp = converted("raised", raise_min_db)
    first, lower, raised = readings_dbtp
    assert first > -1.18 > lower + 0.25 and raised <= -1.18, readings_dbtp
    assert raised_lu >= once_lu + 0.2, (once_lu, raised_lu)
    assert raised_dbtp <= -1.0, raised_dbtp
