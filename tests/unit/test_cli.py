"""The ``surroundyou`` command line, in this process: convert, presets, analyze.
(Batches in worker processes, ``python -m``: tests/integration/test_cli_processes.py.)"""

from __future__ import annotations

import importlib.metadata
import math
import os
import re
import signal
import stat
import threading
import time
from pathlib import Path

import pytest
from audio_files import decode, write_audio
from pedalboard.io import AudioFile

from surroundyou import cli
from surroundyou_jobs.options import PRESETS

SR = 44100


@pytest.fixture(scope="module")
def music(signals):
    return signals.music_like(4.0, SR, seed=7)


def test_output_name_picks_the_format_and_options_apply(tmp_path, music, capsys):
    source = write_audio(tmp_path / "song.wav", music, SR)
    status = cli.main(
        [
            "convert",
            str(source),
            "-o",
            str(tmp_path / "dry.flac"),
            "--reverb",
            "0",
            "--period",
            "2",
            "--preset",
            "fast",
            "-j",
            "1",
        ]
    )
    assert status == 0
    with AudioFile(str(tmp_path / "dry.flac")) as result:
        assert result.file_dtype == "int16" and result.frames == music.shape[1]
    assert "1 converted, 0 failed" in capsys.readouterr().out


def test_motion_options_reach_the_engine_and_the_output_says_what_they_did(tmp_path, signals, capsys):
    pad = signals.sine(3.0, 220.0, amplitude=0.3, sample_rate=SR, channels=2)  # no beat at all
    source = write_audio(tmp_path / "pad.wav", pad, SR)
    flags = ["--path", "arc", "--period", "0:4,2:2", "--intensity", "0.8", "--fade-in", "1", "--fade-out", "0"]
    flags += ["--sync", "beats", "--beats-per-turn", "8", "--preview", "--format", "wav"]
    args = cli._parser().parse_args(["convert", str(source), "--out-dir", str(tmp_path), *flags])
    (job,), _ = cli.plan_jobs(args)
    options = job.options
    assert (options.path, options.period_s, options.intensity) == ("arc", ((0.0, 4.0), (2.0, 2.0)), 0.8)
    assert (options.sync, options.beats_per_turn, options.fade_in_s, options.fade_out_s) == ("beats", 8, 1.0, 0.0)
    assert job.preview and job.dst == tmp_path / "pad.preview.8d.wav"
    assert cli.main(["convert", str(source), "--out-dir", str(tmp_path), *flags, "-j", "1"]) == 0
    printed = capsys.readouterr().out
    assert "no clear beat found; the orbit kept the period (0:4,2:2 s)" in printed
    assert "preview of 3 s from 0:00.0" in printed  # shorter than a preview: the whole song
    with pytest.raises(SystemExit):
        cli.main(["convert", str(source), "--period", "0:4,x"])
    assert 'argument --period: point 2 ("x") must be TIME:VALUE' in capsys.readouterr().err


def test_default_output_sits_beside_the_input_in_the_chosen_format(tmp_path, music):
    source = write_audio(tmp_path / "song.wav", music[:, :SR], SR)
    assert cli.main(["convert", str(source), "--format", "ogg", "--mp3-quality", "V0"]) == 0
    assert (tmp_path / "song.8d.ogg").is_file()


def test_a_folder_is_its_songs_and_their_results_keep_its_tree(tmp_path, music, capsys):
    library, results = tmp_path / "Music", tmp_path / "Music 8D"
    songs = ["single.wav", "Album/01 Intro.flac", "Album/Disc 2/02 Song.wav"]
    for index, name in enumerate(songs):
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        write_audio(library / name, music[:, : SR // 4 * (index + 1)], SR)
    write_audio(library / "Album" / "00 Old.8d.wav", music[:, : SR // 4], SR)  # an earlier result
    (library / ".Trash").mkdir()
    write_audio(library / ".Trash" / "gone.wav", music[:, : SR // 4], SR)
    (library / "Album" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    assert cli.main(["convert", str(library), "--out-dir", str(results), "--format", "flac", "-j", "1"]) == 0
    made = {path.relative_to(results).as_posix(): path for path in results.rglob("*") if path.is_file()}
    assert sorted(made) == ["Album/01 Intro.8d.flac", "Album/Disc 2/02 Song.8d.flac", "single.8d.flac"]
    for name in songs:  # each result is its own song's (their lengths differ)
        result = made[name.rsplit(".", 1)[0] + ".8d.flac"]
        assert decode(result)[0].shape[1] == decode(library / name)[0].shape[1]

    # run again with --skip-existing: only the missing result is made
    made["single.8d.flac"].unlink()
    kept = {name: path.stat().st_mtime_ns for name, path in made.items() if path.exists()}
    capsys.readouterr()
    assert cli.main(["convert", str(library), "--out-dir", str(results), "--format", "flac", "--skip-existing"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 skipped: their results are there already" in out and "1 converted, 0 failed" in out
    assert made["single.8d.flac"].is_file()
    assert {name: made[name].stat().st_mtime_ns for name in kept} == kept

    # a song named by its folder and by itself (or twice) is converted once, where first named
    capsys.readouterr()
    album_song = library / "Album" / "01 Intro.flac"
    assert cli.main(["convert", str(library), str(album_song), str(album_song), "--format", "flac"]) == 0
    assert "3 converted, 0 failed" in " ".join(capsys.readouterr().out.split())
    assert (library / "Album" / "01 Intro.8d.flac").is_file()

    (tmp_path / "empty" / "Album").mkdir(parents=True)
    assert cli.main(["convert", str(tmp_path / "empty")]) == 2
    assert "empty is a folder with no songs in it (mp3, wav" in " ".join(capsys.readouterr().err.split())


def test_a_folders_songs_with_one_result_name_are_converted_once_and_named_ones_refused(tmp_path, music, capsys):
    """A library holding a song twice (Song.flac beside Song.mp3) is converted, the first by name
    alone, with a note; two songs named on the command line with one result are still refused."""
    library = tmp_path / "Music"
    library.mkdir()
    for name in ("Song.flac", "Song.wav", "Other.wav"):
        write_audio(library / name, music[:, : SR // 4], SR)
    assert cli.main(["convert", str(library), "--format", "flac"]) == 0  # was exit 2, nothing converted
    out = "".join(capsys.readouterr().out.split())  # rich wraps long paths anywhere
    assert f"{library / 'Song.wav'}leftout:itsresultwouldbe{library / 'Song.8d.flac'},asSong.flac'sis" in out
    assert "2converted,0failed" in out
    assert sorted(path.name for path in library.glob("*.8d.flac")) == ["Other.8d.flac", "Song.8d.flac"]

    named = [str(library / "Song.wav"), str(library / "Song.flac"), "--out-dir", str(tmp_path / "out")]
    assert cli.main(["convert", *named]) == 2
    assert "wouldbothbewrittento" in "".join(capsys.readouterr().err.split()) and not (tmp_path / "out").exists()


def test_many_songs_show_one_bar_for_them_all(tmp_path, music, capsys):
    sources = [
        write_audio(tmp_path / f"{index}.wav", music[:, : SR // 4], SR) for index in range(cli.SONG_BARS_KEPT + 1)
    ]
    assert cli.main(["convert", *map(str, sources), "-j", "1"]) == 0
    bars = capsys.readouterr().err  # a console that is no terminal shows the bars once, at the end
    assert f"{len(sources)} songs" in bars and "100%" in bars
    assert not any(f"{index}.wav" in bars for index in range(len(sources)))


def report(**changes) -> cli.ConversionReport:
    base = dict(duration_s=180.0, sample_rate=44100, channels=2, input_lufs=-14.0, output_lufs=-14.2)
    return cli.ConversionReport(**{**base, "true_peak_dbtp": None, "output_bytes": 7_000_000, **changes})


def summary_rows(outcomes: list) -> dict[str, str]:
    table = cli._library_summary(outcomes)
    names, values = (list(column.cells) for column in table.columns)
    return dict(zip(names, values, strict=True))


def test_a_library_is_summed_up_not_listed_song_by_song():
    job = cli.ConversionJob(0, Path("a.mp3"), Path("a.8d.mp3"), "mp3", cli.render_options_for({}), "320")
    outcomes = [
        cli.Outcome(job, report()),
        cli.Outcome(
            job, report(output_lufs=-15.4, true_peak_dbtp=-1.3, sync="beats", tempo_bpm=120.0, beats_per_turn=8)
        ),
        cli.Outcome(job, report(input_lufs=-9.0, output_lufs=-9.6, sync="no clear beat", right_inverted=True)),
        cli.Outcome(job, report(input_lufs=-math.inf, output_lufs=-math.inf, duration_s=3600.0)),  # silence
        cli.Outcome(job, error="broken.mp3: the file is empty"),
    ]
    assert summary_rows(outcomes) == {
        "converted": "4: 1 h 9 min of music, 28 MB",
        "failed": "[red]1[/red] (listed below)",
        "loudness out - in": "-1.4 to -0.2 LU, median -0.6 LU",  # the silence has no loudness to change
        "true peak": "≤ -1.0 dBTP",  # three lossy results were not decoded: under the limiter's ceiling
        "beat sync": "1 song; no clear beat in 1 (they kept the period)",
        "input corrected": "right channel inverted in 1 song, DC offset removed in 0",
    }
    measured = [cli.Outcome(job, report(true_peak_dbtp=peak)) for peak in (-1.4, -2.0)]
    assert summary_rows(measured)["true peak"] == "-1.4 dBTP at most"
    assert set(summary_rows(measured)) == {"converted", "failed", "loudness out - in", "true peak"}


def test_a_library_run_ends_with_its_totals_and_its_failures(tmp_path, music, capsys, monkeypatch):
    monkeypatch.setattr(cli, "SUMMARY_ROWS_KEPT", 2)
    for name in ("one", "two"):
        write_audio(tmp_path / f"{name}.wav", music[:, : SR // 4], SR)
    (tmp_path / "broken.mp3").write_bytes(b"")
    assert cli.main(["convert", str(tmp_path), "--out-dir", str(tmp_path / "8d"), "-j", "1"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "SurroundYou: 3 songs" in out and "converted 2: 0.5 s of music" in out
    assert out.count("broken.mp3") == 1 and "failed: broken.mp3: the file is empty" in out  # named once, at the end
    assert "one.8d.mp3" not in out  # no row per song
    assert out.endswith("2 converted, 1 failed")
    assert sorted(path.name for path in (tmp_path / "8d").iterdir()) == ["one.8d.mp3", "two.8d.mp3"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["-o", "x.mp3", "--format", "flac"], "does not match"),
        (["-o", "x.aac"], "unknown output format"),
        (["--period", "0"], "period_s must be 1-120 seconds"),
        (["--reverb", "2"], "reverb must be 0-1"),
        (["-o", "."], "-o/--output . is a folder: give a file name, or use --out-dir ."),  # was an OSError
        (["-o", "y" * 252 + ".mp3"], "y.mp3: File name too long"),  # was an OSError from is_dir
    ],
)
def test_bad_command_lines_exit_2_with_the_reason(tmp_path, music, capsys, arguments, message):
    source = write_audio(tmp_path / "song.wav", music[:, :SR], SR)
    assert cli.main(["convert", str(source), *arguments]) == 2
    assert message in " ".join(capsys.readouterr().err.split())  # rich wraps lines
    assert sorted(path.name for path in tmp_path.iterdir()) == ["song.wav"]


def test_an_out_dir_that_is_a_file_exits_2_with_the_reason(tmp_path, music, capsys):
    source = write_audio(tmp_path / "song.wav", music[:, :SR], SR)
    assert cli.main(["convert", str(source), "--out-dir", str(source)]) == 2  # was a FileExistsError
    assert "is a file, not a folder" in " ".join(capsys.readouterr().err.split())


def test_an_output_that_cannot_be_written_fails_naming_it(tmp_path, music, capsys):
    """Named after the file asked for: the error named the hidden temporary file beside it."""
    source = write_audio(tmp_path / "song.wav", music[:, :SR], SR)
    assert cli.main(["convert", str(source), "-o", str(source / "song.8d.mp3")]) == 1
    err = "".join(capsys.readouterr().err.split())  # rich wraps long paths anywhere
    assert "".join(f"song.wav: cannot write {source / 'song.8d.mp3'}: {source} is a file, not a folder".split()) in err
    assert ".part" not in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["song.wav"]


def test_an_output_that_is_a_pipe_is_left_alone_and_a_link_is_written_through(tmp_path, music, capsys):
    """The result replaced whatever stood at ``-o``: a FIFO (or, as root, a device such as
    /dev/null) became a regular file, a symbolic link a file of its own."""
    source = write_audio(tmp_path / "song.wav", music[:, :SR], SR)
    os.mkfifo(tmp_path / "pipe.mp3")
    assert cli.main(["convert", str(source), "-o", str(tmp_path / "pipe.mp3")]) == 1
    assert "cannot write" in capsys.readouterr().err and stat.S_ISFIFO((tmp_path / "pipe.mp3").lstat().st_mode)
    (tmp_path / "link.mp3").symlink_to(tmp_path / "target.mp3")
    assert cli.main(["convert", str(source), "-o", str(tmp_path / "link.mp3")]) == 0
    assert (tmp_path / "link.mp3").is_symlink() and decode(tmp_path / "target.mp3")[0].shape == (2, SR)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.mp3", "pipe.mp3", "song.wav", "target.mp3"]


def test_a_stop_whose_interrupt_was_swallowed_still_stops_between_blocks(tmp_path, signals, monkeypatch, capsys):
    """A KeyboardInterrupt that lands while Python runs a finaliser is only printed, and the
    conversion ran on to the end (exit 0; once in CI). Here the handler records the signal and raises
    nothing, as if it had been swallowed: the next block stops the conversion all the same."""
    source = write_audio(tmp_path / "long.wav", signals.music_like(60.0, SR, seed=7), SR)
    monkeypatch.setattr(cli, "_stop", lambda signum, frame: cli._stops.append(signal.Signals(signum)))

    def hang_up_when_the_conversion_has_started():
        while not any(path.name.endswith(".part.mp3") for path in tmp_path.iterdir()):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGHUP)

    threading.Thread(target=hang_up_when_the_conversion_has_started, daemon=True).start()
    try:
        assert cli.main(["convert", str(source), "-o", str(tmp_path / "long.8d.mp3")]) == 128 + signal.SIGHUP
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    assert capsys.readouterr().err.strip().splitlines()[-1] == "surroundyou: stopped"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["long.wav"]


def test_a_stopped_run_has_told_its_failures_and_how_to_go_on(tmp_path, signals, capsys):
    """A library's run may be stopped hours in: the songs that failed were told as they ended, and the
    count of results made says how to go on."""
    broken = tmp_path / "a broken.mp3"
    broken.write_text("not a song")
    long = write_audio(tmp_path / "b long.wav", signals.music_like(60.0, SR, seed=7), SR)

    def stop_when_the_second_song_has_started():
        while not any(path.name.startswith(".b long.") for path in tmp_path.iterdir()):  # its partial file
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_the_second_song_has_started, daemon=True).start()
    try:
        assert cli.main(["convert", str(broken), str(long), "-j", "1"]) == 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    told = " ".join(capsys.readouterr().err.split())
    assert "error: a broken.mp3:" in told
    assert told.endswith(
        "0 of 2 songs were converted: run it again with --skip-existing to go on from there surroundyou: stopped"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a broken.mp3", "b long.wav"]


def test_the_version_is_the_installed_packages(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.split() == ["surroundyou", importlib.metadata.version("surroundyou")]


def test_argparse_rejects_unknown_presets_and_mp3_qualities(tmp_path):
    for arguments in (["--preset", "loud"], ["--mp3-quality", "999"], ["--format", "aac"], ["-o", "new/"], ["-j", "0"]):
        with pytest.raises(SystemExit) as exited:
            cli.main(["convert", str(tmp_path / "song.wav"), *arguments])
        assert exited.value.code == 2


def test_presets_lists_every_preset_with_its_parameters(capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    for name, (description, params) in PRESETS.items():
        assert name in out and description in out
        assert f"period {params['period_s']:g} s" in out


def test_analyze_prints_the_orbit_and_draws_it(tmp_path, music, capsys):
    source = write_audio(tmp_path / "song.wav", music, SR)
    assert (
        cli.main(["convert", str(source), "-o", str(tmp_path / "song.8d.wav"), "--period", "1", "--reverb", "0"]) == 0
    )
    capsys.readouterr()
    assert cli.main(["analyze", str(tmp_path / "song.8d.wav"), "--plot", str(tmp_path / "orbit.png")]) == 0
    out = capsys.readouterr().out
    for figure in ("period_s", "itd_amplitude_ms", "integrated_lufs", "true_peak_dbtp", "coloration_db"):
        assert figure in out
    assert "no orbit found" not in out
    for figure in ("coherence_500_hz", "heard_behind_pct", "comb_depth_left_db", "comb_depth_right_db"):
        assert figure in out
    assert (tmp_path / "orbit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a new folder is made, as convert makes its output's; a name matplotlib would not draw a PNG into is refused first
    assert cli.main(["analyze", str(tmp_path / "song.8d.wav"), "--plot", str(tmp_path / "plots" / "o.png")]) == 0
    assert (tmp_path / "plots" / "o.png").is_file()
    with pytest.raises(SystemExit) as exited:
        cli.main(["analyze", str(tmp_path / "song.8d.wav"), "--plot", str(tmp_path / "orbit.txt")])
    assert exited.value.code == 2 and "orbit.txt is not a .png file name" in capsys.readouterr().err
    assert cli.main(["analyze", str(tmp_path / "song.8d.wav"), "--original", str(source)]) == 0
    assert "coloration_db" in capsys.readouterr().out
    # the song itself has no orbit: its period is only the best of poor fits, and the output says so
    assert cli.main(["analyze", str(source)]) == 0
    assert "no orbit found" in capsys.readouterr().out


def test_analyze_measures_a_low_rate_song_within_its_own_band(tmp_path, signals, capsys):
    """A 22.05 kHz song (old MP3s, podcasts), converted at 44.1 kHz: measured against its original
    at the lower rate, the original's. Analysed as it is, the listener model's bands stop under its
    Nyquist frequency (they ran past the spectrum's end: a traceback)."""
    import re

    def figures_of(out):
        return {name: float(value) for name, value in re.findall(r"(\w+)\s+│\s+(-?[\d.]+)", out)}

    rate = 22050
    source = write_audio(tmp_path / "old.wav", signals.music_like(10.0, rate, seed=7), rate)
    assert cli.main(["convert", str(source), "-o", str(tmp_path / "old.8d.wav")]) == 0
    capsys.readouterr()
    assert cli.main(["analyze", str(tmp_path / "old.8d.wav"), "--original", str(source)]) == 0
    figures = figures_of(capsys.readouterr().out)
    assert figures["sample_rate"] == 2 * rate
    assert figures["coloration_db"] <= 2.0, figures
    assert 0.0 < figures["heard_behind_pct"] < 100.0 and figures["comb_depth_left_db"] < 3.0, figures
    assert cli.main(["analyze", str(source)]) == 0
    assert figures_of(capsys.readouterr().out)["sample_rate"] == rate
    # another song named as the original (it was measured against its first 10 s)
    other = write_audio(tmp_path / "other.wav", signals.music_like(4.0, rate, seed=8), rate)
    assert cli.main(["analyze", str(tmp_path / "old.8d.wav"), "--original", str(other)]) == 1
    error = " ".join(capsys.readouterr().err.split())
    assert "other.wav is 4.0 s at 22050 Hz and old.8d.wav 10.0 s at 44100 Hz" in error


def test_room_and_your_own_head_on_the_command_line(tmp_path, music, capsys):
    from test_sofa import write_sphere_sofa

    source = write_audio(tmp_path / "song.wav", music[:, :SR], SR)
    write_sphere_sofa(tmp_path / "mine.sofa", step_deg=10.0)

    arguments = cli._parser().parse_args(
        ["convert", str(source), "--room", "hall", "--hrtf", str(tmp_path / "mine.sofa")]
    )
    (job,), _ = cli.plan_jobs(arguments)
    assert (job.options.room, job.options.mode, job.options.hrtf_path) == ("hall", "hrtf", str(tmp_path / "mine.sofa"))

    (tmp_path / "lyrics.sofa").write_text("not a head")
    assert cli.main(["convert", str(source), "--hrtf", str(tmp_path / "lyrics.sofa")]) == 2
    assert "lyrics.sofa is not a SOFA file" in " ".join(capsys.readouterr().err.split())  # rich wraps lines
    write_sphere_sofa(tmp_path / "mirrored.sofa", change=lambda responses: responses[:, ::-1])
    assert cli.main(["convert", str(source), "--hrtf", str(tmp_path / "mirrored.sofa")]) == 2
    assert "its ears or its azimuths are mirrored" in " ".join(capsys.readouterr().err.split())
    assert not list(tmp_path.glob("song.8d.*"))


def test_the_command_line_says_when_a_loud_masters_peaks_were_clipped(tmp_path, signals, capsys):
    loud = write_audio(tmp_path / "loud.wav", signals.loud_master(4.0, 16.0, SR), SR)
    plain = write_audio(tmp_path / "plain.wav", signals.music_like(4.0, SR), SR)
    assert cli.main(["convert", str(loud), str(plain), "--out-dir", str(tmp_path), "--format", "flac", "-j", "1"]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps lines
    assert re.search(r"loud\.wav: mastered loud: the tips of its peaks were soft-clipped, up to [1-4]\.\d dB", printed)
    assert "plain.wav: mastered loud" not in printed
