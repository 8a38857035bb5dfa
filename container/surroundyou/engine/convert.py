"""Convert one song to 8D audio, streaming, in two passes over the audio.

Pass 0 (only for beat sync or a preview): decode once for analysis, keeping only low-rate
        tracks: the onset envelope (``beats``: tempo and beat grid, which the orbit follows)
        and the short-term loudness (``preview``: the loudest 30 s), and the song's exact length.
Pass 1: decode -> (resample, only if the output format cannot carry the rate) -> (a DC offset
        subtracted, the right channel of a song in opposite polarity inverted:
        ``input_correction``, decided from the song's first 20 s) -> OrbitRenderer
        (dry spatial render, mixed with the original stereo by the effect envelope,
        ``curves``: fades in and out, an intensity curve) + the room (``room``, scaled by the
        envelope) -> a raw float32 spill file (``spill``: each block as it is, channel after channel);
        meanwhile two streaming BS.1770 meters measure the input and the rendered song, the
        limiting forecast keeps the rendered song's peak envelope, and the timbre match reads
        the song, its dry render and the room's part (``timbre_match.RenderColour``). A preview
        renders only its window (the orbit where the whole song's would be there), with 50 ms
        ramps at its edges.
Pass 2: spill -> (the timbre match, where the render or the limiter would colour the song:
        ``timbre_match``) -> static gain (the one whose limited and encoded result has the
        input's loudness: ``limiting_forecast``, and an encoder that gives songs back quieter
        measured on excerpts of this one, ``encoder_loss``; where the equaliser runs on a song the
        limiter will take at least ``REFORECAST_LOSS_DB`` from, forecast again on the equalised
        spill first) -> (a loud master: the tips of its peaks soft-clipped, ``clipper``) ->
        true-peak limiter (its output band-limited to 0.44 fs; the decoded result stays at or
        under -1 dBTP, see ``limiter_ceiling_dbtp``) -> encoder, into a temp file beside the
        destination. A dense song's lossy result is decoded and measured (``decoded_peak``), and
        pass 2 runs again with a lower ceiling while it is over -1 dBTP, or once with a higher one
        where the first held with room to spare and the limiter leaves the song quieter than its
        input (a loud master).
        Tags and cover art are copied, then the temp file is renamed over the destination.

Why a spill file: the loudness gain must be known before the first sample is limited and
encoded, and it depends on the rendered song as a whole. Re-reading raw floats costs a
fraction of decoding and rendering twice (~0.1 s of CPU for 5 minutes); memory stays one
block (65 536 frames) deep. A read through the timbre match's equaliser that the next read
repeats keeps the filtered song in a second file for it.
Every step carries its state across blocks and the limiter's look-ahead is compensated, so
the output has exactly the input's length and timing. Same input and options -> same bytes.
The render stack (renderer, room, limiter and the decoded-result meter built on it: they load
scipy, about 1 s of CPU) is imported when it is first needed, not with this module: opening and
decoding start at once, and the task loads it on a thread while it downloads the song
(``surroundyou.task.preload``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .beats import OnsetEnvelope, beat_grid
from .clipper import masks_clipping, soft_clip
from .curves import BeatGridPhase, EffectEnvelope
from .decode import BLOCK_FRAMES, AudioSource, open_audio, resampled
from .encode import (
    DEFAULT_MP3_QUALITY,
    LOSSLESS_FORMATS,
    OUTPUT_FORMATS,
    AudioWriter,
    check_mp3_quality,
    output_bit_depth,
    output_sample_rate,
)
from .input_correction import InputCorrection, probe
from .loudness import LoudnessMeter
from .options import RenderOptions
from .partial_file import create_locked, partial_file_for
from .preview import PREVIEW_S, LoudnessTrack, edge_ramps, loudest_window_s
from .spill import CHANNELS, Spill
from .tags import copy_tags

if TYPE_CHECKING:
    from .limiting_forecast import LimitingForecast
    from .timbre_match import RenderColour, TimbreCorrection

CEILING_DBTP = -1.0
# Short true-peak meters (scipy's resample_poly defaults: 20 taps a phase) let images of content
# near fs/2 through and read a lossless result up to 0.21 dB over a long interpolator
# (limiter_ceiling_dbtp): the promise is kept on those meters too.
SHORT_METER_MARGIN_DB = 0.3
# ... and a decoded lossy result up to 0.07 dB over it (Vorbis; MP3 0.05 dB: the encoders'
# low-pass removes most of that content), so a verified result keeps this much more under -1 dBTP
DECODED_SHORT_METER_MARGIN_DB = 0.1
# A lossy result is verified (``decoded_peak``) when the input's loudness is within this of the
# limiter's ceiling: dense songs, where the encoder's overshoot is largest (full-scale noise:
# 0.5 dB over the fixed margins) and where the ceiling costs loudness (loud masters). Sparser songs
# keep the fixed margins, measured to hold. The bench song (-15 LUFS) is not verified.
DENSE_BELOW_PEAK_LU = 9.0
# a verified MP3 first tries this much less margin (320 kbps: 1.1 dB): a loud master at -10.1
# LUFS then comes out 0.6 LU louder (-1.15 -> -0.55 LU), still 0.47 dB under -1 dBTP decoded
VERIFIED_MP3_MARGIN_CUT_DB = 0.6
# an encode over the promise is redone with the ceiling lowered by the excess and this much more,
# twice as much the second time...: on noise the encoder's overshoot is erratic (full-scale white
# noise at 320 kbps: 1.4 dB over a ceiling, 2.0 dB over one 0.6 dB lower, then 1.2 dB). The last
# encode is kept unmeasured; none needed it in the measurements (README).
RETRY_MARGIN_DB = 0.3
MAX_ENCODES = 4
# a verified result that reads at least RAISE_MIN_DB + RAISE_SAFETY_DB under the promise and
# came out RAISE_MIN_SHORTFALL_LU or more quieter than its input (a loud master) is encoded once
# more, louder by what it left less RAISE_SAFETY_DB (at most by its shortfall, and to a lossless
# result's ceiling), and that encode is kept if it holds too
RAISE_MIN_DB = 0.1
RAISE_SAFETY_DB = 0.15
RAISE_MIN_SHORTFALL_LU = 0.3
# where the limiter alone is forecast to leave a song CLIP_FROM_SHORTFALL_LU or more quieter than
# its input and its render hides clipping (``clipper.masks_clipping``), the tips of its peaks are
# soft-clipped before the limiter, as deep as takes the forecast shortfall, the clipper's own
# measured loss included, to at most CLIP_LEAVES_SHORTFALL_LU, in CLIP_STEP_DB steps up to
# MAX_CLIP_DB; past it, to MAX_CLEAN_CLIP_DB, only while the song clipped and measured is still
# that short and the clipper adds nothing to any third (it only takes, which the timbre match
# allows for). From 0.5 LU: a music-like mix at -9.2 LUFS, 0.46 LU short as HRTF MP3, came out
# 0.66 LU louder clipped but its 100 Hz third 0.3 dB further down, 2.07 dB from the input's
CLIP_FROM_SHORTFALL_LU = 0.5
CLIP_LEAVES_SHORTFALL_LU = 0.1
CLIP_STEP_DB = 0.5
MAX_CLIP_DB = 4.0
MAX_CLEAN_CLIP_DB = 6.0
# what the clipper adds to a third (its harmonics and intermodulation) is heard where the song has
# little there, and no equaliser in front takes it back: where it passes CLIP_PRODUCTS_BUDGET_DB
# (half the timbre promise's 2 dB, the rest for the render's, the match's and the encoder's), the
# clipper goes shallower while that lowers the worse of its two costs, each against its promise.
# A real song at -6 LUFS, its treble 35 dB under its mids: 2 dB deep, +4.7 dB there (5.0 dB from
# the input's timbre, 0.1 LU louder); 0.5 dB deep, +1.1 dB (1.56 dB, 0.75 LU quieter). With 1.5
# dB of budget its MP3s went 1 dB deep and came out 2.45 / 2.71 dB from it (HRTF), now 1.58 / 1.71
LOUDNESS_PROMISE_LU = 1.0
CLIP_PRODUCTS_BUDGET_DB = 1.0
EXCERPT_BLOCKS = 8  # of the spill's, ~12 s: what the encoder takes is measured on them (``encoder_loss``)
VERIFIED_FIRST_ENCODE_ENDS_AT = 0.8  # of the progress bar: a raised encode may follow
# the gain is forecast again on the equalised song (a pass over the spill, ~0.5 s of CPU for 5
# minutes) only where the limiter is forecast to take this much loudness: below it the new forecast
# moved the gain by at most 0.03 dB (four songs, 0.04-0.69 dB taken), at 2.3 dB taken by 0.3 dB
REFORECAST_LOSS_DB = 0.5

Progress = Callable[[float], None]


class OutputPathError(OSError):
    """The result cannot be written where it was asked for. The message reads
    ``"cannot write <path>: <reason>"``."""


@dataclass(frozen=True)
class ConversionReport:
    """What a conversion produced.

    ``output_lufs`` is measured on the samples handed to the encoder. ``true_peak_dbtp`` is the
    written file's: a lossless one's as the limiter's detector read its output, a dense song's
    lossy one's decoded (``decoded_peak``); ``None`` for the rest of the lossy results, which
    are not decoded: their encoder raises the peaks a little, by less than the room the limiter's
    ceiling leaves for it (``limiter_ceiling_dbtp``). ``non_finite_samples``: input
    samples that were NaN or infinite, converted as silence (the decoder repairs them, see
    ``decode``); 0 for a sound file. ``sync``: "off", "beats" (the orbit followed the song's
    beats, ``tempo_bpm`` their tempo, one turn every ``beats_per_turn`` beats: the asked number,
    or a multiple of it where a turn would take under a second) or "no clear beat" (asked for, but the song has no
    clear beat: the orbit kept the preset's period). ``preview_start_s``: where in the song a
    preview was cut from (``None``: the whole song). ``right_inverted``: the song's channels
    were in opposite polarity and its right one was inverted; ``dc_offset_removed``: the largest
    DC offset subtracted from a channel, 0 when none was (``input_correction``). ``timbre_corrected_db``:
    how far the render departed from the song's long-term timbre where pass 2 equalised it back
    (``timbre_match``), 0 when it did not need to. ``peaks_clipped_db``: how deep the tips of a loud
    master's peaks were soft-clipped before the limiter (``clipper``), 0 when they were not.
    """

    duration_s: float
    sample_rate: int
    channels: int
    input_lufs: float
    output_lufs: float
    true_peak_dbtp: float | None
    output_bytes: int
    non_finite_samples: int = 0
    sync: str = "off"
    tempo_bpm: float | None = None
    beats_per_turn: int | None = None
    preview_start_s: float | None = None
    right_inverted: bool = False
    dc_offset_removed: float = 0.0
    timbre_corrected_db: float = 0.0
    peaks_clipped_db: float = 0.0

    @property
    def true_peak_text(self) -> str:
        """The true peak as a person reads it: the file's where it is known, else what its limiter's
        ceiling keeps it under."""
        if self.true_peak_dbtp is None:
            return f"≤ {CEILING_DBTP:.1f} dBTP"
        return f"{self.true_peak_dbtp:.1f} dBTP"


def output_format_for(dst: str | Path, output_format: str | None = None) -> str:
    """``output_format`` if given, else ``dst``'s extension; mp3 when it has none."""
    fmt = (output_format or Path(dst).suffix.lstrip(".") or "mp3").lower()
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


def limiter_ceiling_dbtp(fmt: str, mp3_quality: str | int = DEFAULT_MP3_QUALITY) -> float:
    """Where the limiter holds the true peak so the *decoded* output stays at or under -1 dBTP.

    Lossless: the limiter's own detector error (``limiter.DETECTOR_ERROR_DB``, measured 0.035 dB
    at most) and ``SHORT_METER_MARGIN_DB``. scipy's ``resample_poly`` with its default filter
    (Kaiser beta 5, 20 taps a phase) passes 7-13 % of the images of content at 0.45-0.46 fs,
    which the limiter's output keeps (-1 to -3 dB there): it read WAV results 0.10-0.21 dB over
    the 2049-tap interpolator at 4x, 8x and 16x (clipped pink noise and music, full-scale white
    noise, square waves at 1-11 kHz; 44.1 and 48 kHz), and decoded lossy results within 0.05 dB
    of it (their encoders' low-pass removes that content).

    Lossy: the encoder too, whose low-pass and quantisation noise raise the peaks, by an amount
    that changes with the level and the signal. Worst overshoot of the decoded result over the
    limiter's ceiling, measured at 8x with a 2049-tap interpolator (tests/instruments.py) on
    music-like masters clipped 12-20 dB, full-scale square waves (1-7 kHz), pink noise and
    clipped pink noise, 4 s and 8 s, at ceilings from -1 dB to -3 dB: MP3 320 kbps 1.42 dB,
    V0 1.77 dB, 192 kbps 2.13 dB, 128 kbps 2.45 dB, Vorbis 0.6 dB (the lower the bitrate and the
    ceiling, the more). Each margin is that plus 0.3-0.5 dB (128 kbps: 0.55); bitrates under
    128 kbps and VBR levels past V4 were not measured and keep 3 dB.
    """
    from .limiter import DETECTOR_ERROR_DB  # the render stack: see the module docstring

    if fmt in LOSSLESS_FORMATS:
        return CEILING_DBTP - DETECTOR_ERROR_DB - SHORT_METER_MARGIN_DB
    if fmt == "ogg":
        return CEILING_DBTP - 0.9
    quality = check_mp3_quality(mp3_quality)
    if quality.startswith("V"):
        return CEILING_DBTP - (2.5 if int(quality[1:]) <= 4 else 3.0)
    kbps = int(quality)
    return CEILING_DBTP - (1.7 if kbps >= 256 else 2.5 if kbps >= 160 else 3.0)


def convert_file(
    src: str | Path,
    dst: str | Path,
    options: RenderOptions,
    *,
    output_format: str | None = None,
    progress: Progress | None = None,
    mp3_quality: str | int = DEFAULT_MP3_QUALITY,
    preview: bool = False,
) -> ConversionReport:
    """Render ``src`` as 8D audio into ``dst`` (see the module docstring for the pipeline).

    ``mp3_quality``: CBR kbps (320 default) or LAME VBR "V0".."V9". ``preview``: only
    ``preview.PREVIEW_S`` seconds, from the song's loudest part. Raises
    :class:`~surroundyou.engine.decode.AudioInputError` for input that cannot be converted; on any
    error no output (not even a partial one) is left behind.
    """
    src, dst = Path(src), Path(dst)
    fmt = output_format_for(dst, output_format)
    report_progress = progress or (lambda fraction: None)
    temp_path: Path | None = None  # named before it is made: a stop at any moment knows what to remove
    temp_lock: int | None = None
    try:
        try:
            # a link keeps linking: the file it names is written (the result replaces only a file)
            target = dst.resolve() if dst.is_symlink() else dst
            if target.is_dir() or (target.exists() and not target.is_file()):
                kind = "a folder" if target.is_dir() else "not a regular file (a device or a pipe)"
                raise OutputPathError(f"cannot write {dst}: it is {kind}")
            target.parent.mkdir(parents=True, exist_ok=True)
            temp_path = partial_file_for(target, fmt)
            temp_lock = create_locked(temp_path)
        except OutputPathError:
            raise
        except OSError as error:  # named after what was asked for, not the temporary file
            exists = isinstance(error, FileExistsError)
            if exists:
                temp_path = None  # not ours: another's file of the same name, or a file where a folder goes
            reason = f"{error.filename} is a file, not a folder" if exists else error.strerror
            raise OutputPathError(f"cannot write {dst}: {reason or error}") from error
        with Spill() as spill:
            correction = probe(src)
            wants_scan = options.sync == "beats" or preview
            scan = _scan_pass(src, options, preview, correction, report_progress) if wants_scan else None
            if scan is not None:
                report_progress = _after(report_progress, SCAN_SHARE)
            source = open_audio(src)
            sample_rate = output_sample_rate(fmt, source.info.sample_rate)
            plan = _plan(scan, options, source.info.frames, source.info.sample_rate, sample_rate, correction)
            rendered = _render_pass(source, sample_rate, options, spill, report_progress, plan)
            encoded = _encode_pass(
                spill, rendered, temp_path, fmt, sample_rate, mp3_quality, source.info.sample_format, report_progress
            )
        copy_tags(src, temp_path)
        os.replace(temp_path, target)
    except BaseException:
        if temp_path is not None:
            temp_path.unlink(missing_ok=True)
        raise
    finally:
        if temp_lock is not None:
            os.close(temp_lock)
    report_progress(1.0)
    return ConversionReport(
        duration_s=rendered.frames / sample_rate,
        sample_rate=sample_rate,
        channels=source.info.channels,
        input_lufs=rendered.input_lufs,
        output_lufs=encoded.output_lufs,
        true_peak_dbtp=encoded.peak_dbtp,
        output_bytes=dst.stat().st_size,
        non_finite_samples=source.non_finite_samples,
        sync=plan.sync,
        tempo_bpm=plan.tempo_bpm,
        beats_per_turn=plan.timing.beats_per_turn if plan.timing is not None else None,
        preview_start_s=plan.window[0] / sample_rate if plan.window is not None else None,
        right_inverted=plan.correction.right_inverted,
        dc_offset_removed=max(map(abs, plan.correction.offsets), default=0.0),
        timbre_corrected_db=encoded.timbre.departure_db if encoded.timbre.response is not None else 0.0,
        peaks_clipped_db=encoded.clip_db,
    )


SCAN_SHARE = 0.1  # of the progress bar, for the analysis pass


def _after(progress: Progress, done: float) -> Progress:
    """``progress`` for what follows a step that took the first ``done`` of the bar."""
    return lambda fraction: progress(done + (1 - done) * fraction)


@dataclass(frozen=True)
class _Scan:
    """What the analysis pass found: the song's length (source frames), beats and loudness track."""

    frames: int
    sample_rate: int
    onsets: OnsetEnvelope | None
    loudness: LoudnessTrack | None


def _scan_pass(
    src: Path, options: RenderOptions, preview: bool, correction: InputCorrection, progress: Progress
) -> _Scan:
    """Pass 0: decode once, keeping only the onset envelope and/or the short-term loudness track
    (of the corrected song: the onsets are read from the channels' mean)."""
    source = open_audio(src)
    info = source.info
    onsets = OnsetEnvelope(info.sample_rate) if options.sync == "beats" else None
    loudness = LoudnessTrack(info.sample_rate, info.channels) if preview else None
    frames = 0
    with source:
        for block in source.blocks(BLOCK_FRAMES):
            if onsets is not None:
                onsets.add(correction.apply(block))
            if loudness is not None:
                loudness.add(block)
            frames += block.shape[1]
            progress(SCAN_SHARE * min(1.0, frames / max(1, info.frames)))
    return _Scan(frames, info.sample_rate, onsets, loudness)


@dataclass(frozen=True)
class _Plan:
    """How pass 1 renders: the orbit's beat grid, the song's length and the preview's window
    (first frame, frames), all at the output rate; what is corrected in the input
    (``input_correction``)."""

    timing: BeatGridPhase | None
    total_frames: int
    window: tuple[int, int] | None
    sync: str
    tempo_bpm: float | None
    correction: InputCorrection


def _plan(
    scan: _Scan | None,
    options: RenderOptions,
    source_frames: int,
    source_rate: int,
    sample_rate: int,
    correction: InputCorrection,
) -> _Plan:
    if scan is not None:
        source_frames, source_rate = scan.frames, scan.sample_rate
    total_frames = max(1, round(source_frames * sample_rate / source_rate))
    timing, sync, tempo_bpm = None, "off", None
    if scan is not None and scan.onsets is not None:
        grid = beat_grid(scan.onsets)
        if grid.clear:
            timing = BeatGridPhase(grid.beats_s, options.beats_per_turn, sample_rate)
            sync, tempo_bpm = "beats", grid.tempo_bpm
        else:
            sync = "no clear beat"
    window = None
    if scan is not None and scan.loudness is not None:
        start = round(loudest_window_s(scan.loudness.hop_energies()) * sample_rate)
        window = (start, min(round(PREVIEW_S * sample_rate), total_frames - start))
    return _Plan(timing, total_frames, window, sync, tempo_bpm, correction)


@dataclass(frozen=True)
class _Rendered:
    input_lufs: float
    rendered_lufs: float
    frames: int
    limiting: LimitingForecast
    colour: RenderColour
    encoded_change_db: float = 0.0  # what the encoder takes from its loudness (``encoder_loss``; <= 0)

    def gain_db(self, ceiling_dbtp: float, clipped_db: float = 0.0) -> float:
        """The static gain that gives the limited song the input's integrated loudness (and makes
        up ``clipped_db``, the loudness the clipper takes: <= 0, and ``encoded_change_db``)."""
        if math.isinf(self.input_lufs) or math.isinf(self.rendered_lufs):
            return 0.0  # silence (or under 0.4 s): nothing to match
        matched_db = self.input_lufs - self.rendered_lufs - self.encoded_change_db - clipped_db
        return self.limiting.gain_db(matched_db, ceiling_dbtp)

    def shortfall_lu(self, ceiling_dbtp: float, clipped_db: float = 0.0) -> float:
        """How much quieter than the input the limited song is forecast to come out at that gain
        (a loud master: where a dB more of make-up would mostly deepen the limiting)."""
        gain_db = self.gain_db(ceiling_dbtp, clipped_db)
        heard_db = gain_db + self.limiting.loss_db(gain_db, ceiling_dbtp) + clipped_db + self.encoded_change_db
        return max(0.0, self.input_lufs - (self.rendered_lufs + heard_db))

    def clip_db(self, ceiling_dbtp: float, clipped_per_db: float = 0.0) -> float:
        """How deep the clipper takes the peaks' tips before a limiter at ``ceiling_dbtp``
        (``CLIP_FROM_SHORTFALL_LU``; 0: not at all), where each dB of it takes ``clipped_per_db``
        of loudness (<= 0). The limiter then acts as if at a ceiling that much higher, which is
        where the gain and its colour are forecast."""
        if self.shortfall_lu(ceiling_dbtp) < CLIP_FROM_SHORTFALL_LU or not masks_clipping(
            self.colour.song[self.colour.measured]
        ):
            return 0.0
        depth_db = CLIP_STEP_DB
        while (
            depth_db < MAX_CLIP_DB
            and self.shortfall_lu(ceiling_dbtp + depth_db, clipped_per_db * depth_db) > CLIP_LEAVES_SHORTFALL_LU
        ):
            depth_db += CLIP_STEP_DB
        return depth_db


def _render_pass(
    source: AudioSource,
    sample_rate: int,
    options: RenderOptions,
    spill: Spill,
    progress: Progress,
    plan: _Plan,
) -> _Rendered:
    """Pass 1: decode, render, add the room, apply the envelope; measure input and result; spill the
    result (float32 blocks). A preview renders only ``plan.window``."""
    from .limiting_forecast import LimitingForecast  # the render stack: see the module docstring
    from .render import OrbitRenderer
    from .room import room_for
    from .timbre_match import RenderColour

    info = source.info
    first, wanted = plan.window if plan.window is not None else (0, None)
    envelope = EffectEnvelope(
        sample_rate,
        plan.total_frames,
        options.fade_in_s,
        options.fade_out_s,
        options.intensity_curve or options.intensity,
    )
    renderer = OrbitRenderer(sample_rate, info.channels, options, plan.timing, first, envelope)
    room = room_for(options, sample_rate, renderer.orbit, first)  # following the orbit from the window's start
    input_meter = LoudnessMeter(sample_rate, info.channels)
    rendered_meter = LoudnessMeter(sample_rate, CHANNELS)
    limiting = LimitingForecast(sample_rate)
    expected_frames = max(1, wanted if wanted is not None else plan.total_frames)
    colour = RenderColour(sample_rate, expected_frames)
    frames = 0
    position = 0  # absolute frame of the next decoded block
    with source:
        for decoded in resampled(source.blocks(BLOCK_FRAMES), info.sample_rate, sample_rate, info.channels):
            start, position = position, position + decoded.shape[1]
            if wanted is None:
                block = decoded
            elif position <= first:
                continue
            else:
                block = decoded[:, max(0, first - start) : max(0, first + wanted - start)]
                start = max(start, first)
            if block.shape[1] == 0:
                break
            block = plan.correction.apply(block)
            input_meter.add(block)
            stereo = renderer.process(block)  # the effect mixed with the original by the envelope
            if room is None:
                colour.add(block, stereo)
            else:
                wet, heard = room.process(block), envelope.amount_over(start, block.shape[1])
                if heard is not None:  # None: the whole effect
                    wet *= heard.astype(np.float32)
                colour.add(block, stereo, wet)
                stereo += wet
            if wanted is not None:
                stereo = stereo * edge_ramps(start, block.shape[1], first, wanted, sample_rate)
            stereo = np.ascontiguousarray(stereo, dtype="<f4")
            limiting.add(stereo, rendered_meter.add(stereo))
            spill.write(stereo)
            frames += stereo.shape[1]
            progress(0.5 * min(1.0, frames / expected_frames))
    # a mono song is heard on both ears: as loud as two identical channels, +3 dB (BS.1770 sums
    # the channels' energies), which is how the stereo result is measured
    both_ears_db = 10 * math.log10(CHANNELS / info.channels)
    return _Rendered(
        input_meter.integrated_lufs() + both_ears_db,
        rendered_meter.integrated_lufs(),
        frames,
        limiting,
        colour,
    )


@dataclass(frozen=True)
class _Encoded:
    """One encode of pass 2: the result's loudness (its output meter's, less what the encoder
    takes), its true peak in dBTP (``None``: not known), its timbre match, how deep its clipper
    went (0: it did not clip) and the gain before it."""

    output_lufs: float
    peak_dbtp: float | None
    timbre: TimbreCorrection
    clip_db: float
    gain_db: float


def _encode_pass(
    spill: Spill,
    rendered: _Rendered,
    path: Path,
    fmt: str,
    sample_rate: int,
    mp3_quality: str | int,
    sample_format: str,
    progress: Progress,
) -> _Encoded:
    """Pass 2 into ``path``, at the format's limiter ceiling; a dense song's lossy result is
    decoded and measured, and encoded again lower while it is over the promise (``MAX_ENCODES``
    in all, the last one kept unmeasured), or once more louder where the first held with room to
    spare and came out quieter than its input (``RAISE_MIN_DB``). Each encode's
    timbre match allows for what the limiter (and the clipper) will take from each band at its gain.
    Returns the kept encode, its true peak where it is known (``ConversionReport``)."""
    from .decoded_peak import ERROR_DB, decoded_true_peak_dbtp  # the render stack: see the module docstring
    from .encoder_loss import loudness_change_db, takes_loudness
    from .timbre_match import timbre_correction

    if takes_loudness(fmt, mp3_quality):  # the gain makes up what the encoder will take
        taken_db = loudness_change_db(spill.excerpt(EXCERPT_BLOCKS), fmt, sample_rate, mp3_quality)
        rendered = replace(rendered, encoded_change_db=min(0.0, taken_db))

    # the song through the first encode's equaliser, forecast once: the later encodes' equalisers,
    # at ceilings a few tenths of a dB away, differ too little to move the gain (at most 0.002 dB
    # on three loud masters), and each pass over the spill costs ~0.5 s of CPU per 5-minute song
    equalised: _Rendered | None = None

    def encode(into: Path, ceiling_dbtp: float, report: Progress) -> _Encoded:
        """One encode into ``into``, planned for ``ceiling_dbtp``."""
        nonlocal equalised
        clip_db = rendered.clip_db(ceiling_dbtp)
        limited_dbtp = ceiling_dbtp + clip_db  # where the limiter acts on the song the clipper is given
        gain_db = rendered.gain_db(limited_dbtp)
        timbre = timbre_correction(rendered.colour, rendered.limiting.band_change_db(gain_db, limited_dbtp))
        if timbre.response is not None and rendered.limiting.loss_db(gain_db, limited_dbtp) <= -REFORECAST_LOSS_DB:
            # the equaliser moves the peaks the limiter pulls down: forecast its gain on what it will see
            if equalised is None:
                equalised = _equalised(spill, rendered, timbre.response, sample_rate)
            gain_db = equalised.gain_db(limited_dbtp)
        if clip_db > 0:
            clip_db, gain_db, timbre = _clipping_planned(
                spill, rendered, equalised or rendered, timbre, ceiling_dbtp, clip_db, gain_db, sample_rate
            )
        return finish(into, ceiling_dbtp, clip_db, gain_db, timbre, report)

    def finish(
        into: Path, ceiling_dbtp: float, clip_db: float, gain_db: float, timbre: TimbreCorrection, report: Progress
    ) -> _Encoded:
        """The planned encode into ``into`` (its peak: the limiter's output's)."""
        bit_depth = output_bit_depth(fmt, sample_format)
        with AudioWriter(into, fmt, sample_rate, CHANNELS, mp3_quality=mp3_quality, bit_depth=bit_depth) as writer:
            meter, peak = _finish_pass(
                spill, rendered, timbre, sample_rate, gain_db, ceiling_dbtp, clip_db, writer, report
            )
        return _Encoded(
            meter.integrated_lufs() + rendered.encoded_change_db,
            20 * math.log10(peak) if peak > 0 else -math.inf,
            timbre,
            clip_db,
            gain_db,
        )

    ceiling_dbtp = limiter_ceiling_dbtp(fmt, mp3_quality)
    # a dense song's lossy result is decoded and measured: it may start nearer the promise
    verified = fmt not in LOSSLESS_FORMATS and rendered.input_lufs > ceiling_dbtp - DENSE_BELOW_PEAK_LU
    if verified and fmt == "mp3":
        ceiling_dbtp += VERIFIED_MP3_MARGIN_CUT_DB
    highest_reading_dbtp = CEILING_DBTP - ERROR_DB - DECODED_SHORT_METER_MARGIN_DB

    def bar(start: float, end: float) -> Progress:
        return lambda fraction: progress(start + (end - start) * fraction)

    # pass 2 fills the bar's second half; a verified song's first encode only part of it, as
    # another may follow (a lower one's does not move the bar, a raised one's fills the rest)
    first_ends_at = VERIFIED_FIRST_ENCODE_ENDS_AT if verified else 1.0
    for attempt in range(MAX_ENCODES):
        encoded = encode(path, ceiling_dbtp, bar(0.5, first_ends_at) if attempt == 0 else lambda fraction: None)
        if fmt in LOSSLESS_FORMATS:
            return encoded
        if not verified or attempt == MAX_ENCODES - 1:
            return replace(encoded, peak_dbtp=None)
        decoded_dbtp = decoded_true_peak_dbtp(path)
        kept = replace(encoded, peak_dbtp=decoded_dbtp)
        excess_db = decoded_dbtp - highest_reading_dbtp
        if excess_db <= 0:
            break
        ceiling_dbtp -= excess_db + RETRY_MARGIN_DB * (attempt + 1)
    # raised by what it left under the promise, never past the input's loudness nor a lossless
    # result's ceiling: the same encode louder (its gain, clipper and limiter all raised alike, so
    # it clips and limits the same and keeps its timbre); one that had to go lower first too (real
    # and loud songs at 64-128 kbps and V5-V9: 5 of 8 such raises held, 10 of 13 first-time ones)
    shortfall_lu = rendered.input_lufs - kept.output_lufs
    raise_db = min(-excess_db - RAISE_SAFETY_DB, shortfall_lu, limiter_ceiling_dbtp("wav") - ceiling_dbtp)
    if raise_db < RAISE_MIN_DB or shortfall_lu < RAISE_MIN_SHORTFALL_LU:
        return kept
    raised_path = path.with_name(f"{path.stem}.raised{path.suffix}")
    try:
        raised = finish(
            raised_path,
            ceiling_dbtp + raise_db,
            kept.clip_db,
            kept.gain_db + raise_db,
            kept.timbre,
            bar(first_ends_at, 1.0),
        )
        decoded_dbtp = decoded_true_peak_dbtp(raised_path)
        if decoded_dbtp > highest_reading_dbtp:
            return kept
        os.replace(raised_path, path)
        return replace(raised, peak_dbtp=decoded_dbtp)
    finally:
        raised_path.unlink(missing_ok=True)


def _equalised(spill: Spill, rendered: _Rendered, response: np.ndarray, sample_rate: int) -> _Rendered:
    """``rendered`` as the limiter will see it through the timbre match's equaliser (``response``):
    its loudness and limiting forecast measured again on the spilled song filtered (kept aside for
    the encode and the clipper's measures through the same equaliser: ``Spill``)."""
    from .limiting_forecast import LimitingForecast  # the render stack: see the module docstring

    limiting = LimitingForecast(sample_rate, bands=False)  # for the gain alone
    meter = LoudnessMeter(sample_rate, CHANNELS)
    for equalised in spill.blocks(response, keep=True):
        limiting.add(equalised, meter.add(equalised))
    return replace(rendered, rendered_lufs=meter.integrated_lufs(), limiting=limiting)


def _clipping_planned(
    spill: Spill,
    rendered: _Rendered,
    forecast: _Rendered,
    timbre: TimbreCorrection,
    ceiling_dbtp: float,
    clip_db: float,
    gain_db: float,
    sample_rate: int,
) -> tuple[float, float, TimbreCorrection]:
    """``(clip_db, gain_db, timbre)`` for an encode that clips, from the forecast's (``forecast``:
    ``rendered`` or its equalised read). The clipper's own loss (the tips' energy, which the
    limiter's forecast does not see) is measured and made up, and its colour allowed for; where
    the limiter cannot make the loss up, the clipper goes deeper (its loss taken to grow with its
    depth) and is measured there, and past ``MAX_CLIP_DB`` a step at a time while the song
    clipped and measured is still short, each step brings at least ``MIN_LU_PER_DB`` a dB and
    the clipper adds nothing to any third; where what it adds to a third passes
    ``CLIP_PRODUCTS_BUDGET_DB``, shallower (``_clipping_cost``; 0: not at all); an equaliser that
    allows for its colour changes what it clips, so its colour is read once more through it."""
    from .limiting_forecast import MIN_LU_PER_DB  # the render stack: see the module docstring
    from .timbre_match import timbre_correction  # the render stack: see the module docstring

    def clipping(gain_db: float, clip_db: float, response: np.ndarray | None, colour_only: bool = False) -> _Clipped:
        return _clipping(spill, rendered, response, gain_db, ceiling_dbtp, clip_db, sample_rate, colour_only)

    clipped_db, clip_change_db, shortfall_lu = clipping(gain_db, clip_db, timbre.response)
    deeper_db = rendered.clip_db(ceiling_dbtp, clipped_db / clip_db)
    if deeper_db > clip_db:
        guess_db = forecast.gain_db(ceiling_dbtp + deeper_db, clipped_db * deeper_db / clip_db)
        clip_db = deeper_db
        clipped_db, clip_change_db, shortfall_lu = clipping(guess_db, clip_db, timbre.response)
    while (
        MAX_CLIP_DB <= clip_db < MAX_CLEAN_CLIP_DB
        and shortfall_lu > CLIP_LEAVES_SHORTFALL_LU
        and _products_db(rendered, clip_change_db) <= 0
    ):
        depth_db = clip_db + CLIP_STEP_DB
        guess_db = forecast.gain_db(ceiling_dbtp + depth_db, clipped_db * depth_db / clip_db)
        deeper = clipping(guess_db, depth_db, timbre.response)
        if (
            _products_db(rendered, deeper.change_db) > 0
            or shortfall_lu - deeper.shortfall_lu < CLIP_STEP_DB * MIN_LU_PER_DB
        ):
            break
        clip_db, (clipped_db, clip_change_db, shortfall_lu) = depth_db, deeper
    # shallower, each depth measured, while the products pass their budget (they need not fall at
    # once: a shallower clip comes with a lower gain), and the least costly depth kept
    depth_db, change_db, lost_per_db = clip_db, clip_change_db, clipped_db / clip_db
    best = (_clipping_cost(rendered, ceiling_dbtp, clip_db, clipped_db, clip_change_db), clip_db, clipped_db, change_db)
    while depth_db > 0 and _products_db(rendered, change_db) > CLIP_PRODUCTS_BUDGET_DB:
        depth_db -= CLIP_STEP_DB
        loss_db, change_db = 0.0, np.zeros_like(clip_change_db)
        if depth_db > 0:
            guess_db = forecast.gain_db(ceiling_dbtp + depth_db, lost_per_db * depth_db)
            loss_db, change_db, _ = clipping(guess_db, depth_db, timbre.response)
        cost = _clipping_cost(rendered, ceiling_dbtp, depth_db, loss_db, change_db)
        if cost < best[0]:
            best = (cost, depth_db, loss_db, change_db)
    _, clip_db, clipped_db, clip_change_db = best
    limited_dbtp = ceiling_dbtp + clip_db
    gain_db = forecast.gain_db(limited_dbtp, clipped_db)
    limiter_change_db = rendered.limiting.band_change_db(gain_db, limited_dbtp)

    def allowing_for(clip_change_db: np.ndarray) -> TimbreCorrection:
        # only what the clipper takes: what it adds is not the song's, and no equaliser in front
        # takes it back (cut there, a full-scale saw chord's intermodulation at 25-80 Hz, the cut's
        # skirt took 4 dB from its 100 Hz third)
        return timbre_correction(rendered.colour, limiter_change_db + np.minimum(0.0, clip_change_db))

    timbre = allowing_for(clip_change_db)
    if timbre.response is not None and clip_db > 0:
        timbre = allowing_for(clipping(gain_db, clip_db, timbre.response, colour_only=True).change_db)
    return clip_db, gain_db, timbre


def _products_db(rendered: _Rendered, clip_change_db: np.ndarray) -> float:
    """The most the clipper adds to a third of the issue's measure (its harmonics and
    intermodulation, where they outweigh what it takes from the song there); 0 if none."""
    return max(0.0, float(np.max(clip_change_db[rendered.colour.measured])))


def _clipping_cost(
    rendered: _Rendered, ceiling_dbtp: float, clip_db: float, clipped_db: float, clip_change_db: np.ndarray
) -> float:
    """How far a clip ``clip_db`` deep (taking ``clipped_db`` of loudness, ``clip_change_db`` from
    each third) is forecast to take the result from its promises, the worse of the two: the
    shortfall in loudness per ``LOUDNESS_PROMISE_LU``, the clipper's products per
    ``CLIP_PRODUCTS_BUDGET_DB``."""
    shortfall_lu = rendered.shortfall_lu(ceiling_dbtp + clip_db, clipped_db)
    return max(shortfall_lu / LOUDNESS_PROMISE_LU, _products_db(rendered, clip_change_db) / CLIP_PRODUCTS_BUDGET_DB)


class _Clipped(NamedTuple):
    """What the clipper does to the spilled song at one gain and depth (``_clipping``)."""

    loss_db: float  # the loudness it takes (<= 0)
    change_db: np.ndarray  # each ``CORRECTED_HZ`` third's change
    shortfall_lu: float  # how much quieter than the input the limited song is forecast to come out


def _clipping(
    spill: Spill,
    rendered: _Rendered,
    response: np.ndarray | None,
    gain_db: float,
    ceiling_dbtp: float,
    clip_db: float,
    sample_rate: int,
    colour_only: bool = False,
) -> _Clipped:
    """What the clipper does to the spilled song at ``gain_db``, through the timbre match's
    equaliser (``response``) as pass 2 sees it: its loudness, each third's power (the timbre
    match's read: over 0 where the clipper's harmonics and intermodulation outweigh what it takes
    from the song there) and the limiter's loss forecast on the clipped song itself (the rendered
    song's forecast, the limiter taken to act as if the clip's depth higher, read 0.3-0.5 LU too
    much on a real song hard-clipped to -5 LUFS; this one within 0.1 LU of the encodes). Measured:
    a pass over the spill that only reads it (~0.5 s of CPU per 5-minute song, 0.4 s of it the two
    loudness meters, 0.07 s the limiter's forecast). ``colour_only``: the last read through that
    equaliser (the encode's is designed from it), for the colour alone (its loudness and
    shortfall returned as 0); the others' filtered song is kept for the next (``Spill``)."""
    from .limiting_forecast import LimitingForecast  # the render stack: see the module docstring

    gain = np.float32(10 ** (gain_db / 20))
    plain, clipped = LoudnessMeter(sample_rate, CHANNELS), LoudnessMeter(sample_rate, CHANNELS)
    limiting = LimitingForecast(sample_rate, bands=False)
    plain_bands, clipped_bands = np.zeros((2, rendered.colour.centres_hz.size))
    for block in spill.blocks(response, keep=not colour_only):
        block = np.multiply(block, gain, out=block)
        plain_bands += rendered.colour.band_powers(block)
        if not colour_only:
            plain.add(block)
        soft_clip(block, ceiling_dbtp, clip_db)
        clipped_bands += rendered.colour.band_powers(block)
        if not colour_only:
            limiting.add(block, clipped.add(block))
    loss_db, shortfall_lu = 0.0, 0.0
    if not colour_only:
        loss_db = clipped.integrated_lufs() - plain.integrated_lufs()
        heard_lufs = clipped.integrated_lufs() + limiting.loss_db(0.0, ceiling_dbtp) + rendered.encoded_change_db
        shortfall_lu = rendered.input_lufs - heard_lufs
    read = (plain_bands > 0) & (clipped_bands > 0)
    change_db = np.zeros(plain_bands.size)
    change_db[read] = 10 * np.log10(clipped_bands[read] / plain_bands[read])
    return _Clipped(
        min(0.0, loss_db) if math.isfinite(loss_db) else 0.0,
        change_db,
        max(0.0, shortfall_lu) if math.isfinite(shortfall_lu) else 0.0,
    )


def _finish_pass(
    spill: Spill,
    rendered: _Rendered,
    timbre: TimbreCorrection,
    sample_rate: int,
    gain_db: float,
    ceiling_dbtp: float,
    clip_db: float,
    writer: AudioWriter,
    progress: Progress,
) -> tuple[LoudnessMeter, float]:
    """Pass 2: correct the timbre (when ``timbre`` says so), gain, clip the peaks' tips up to
    ``clip_db`` deep (``clipper``; 0: not at all), true-peak limit and encode the spilled song,
    ``progress`` told the fraction written; returns (output meter, peak)."""
    from .limiter import TruePeakLimiter  # the render stack: see the module docstring

    gain = np.float32(10 ** (gain_db / 20))
    limiter = TruePeakLimiter(sample_rate, CHANNELS, ceiling_dbtp=ceiling_dbtp)
    output_meter = LoudnessMeter(sample_rate, CHANNELS)
    total_frames = max(1, rendered.frames)
    written = 0

    def emit(out: np.ndarray) -> None:
        nonlocal written
        if out.shape[1]:  # the limiter holds its look-ahead back at the start
            output_meter.add(out)
            writer.write(out)
            written += out.shape[1]
            progress(min(1.0, written / total_frames))

    for block in spill.blocks(timbre.response):
        block = np.multiply(block, gain, out=block)
        if clip_db > 0:
            soft_clip(block, ceiling_dbtp, clip_db)
        emit(limiter.process(block))
    emit(limiter.flush())
    return output_meter, limiter.peak_out
