"""The spill between the passes: the song read back as written, through an equaliser as the FIR
filters it, and a pass that will be repeated kept aside so the repeat reads it instead of
filtering again."""

from __future__ import annotations

import numpy as np
import pytest

from surroundyou.engine import streaming_fir
from surroundyou.engine.spill import Spill
from surroundyou.engine.streaming_fir import StreamingFir
from surroundyou.engine.timbre_match import FILTER_TAPS

BLOCKS = (65536, 65536, 1000, 31)


@pytest.fixture
def song():
    rng = np.random.default_rng(7)
    return [rng.standard_normal((2, frames)).astype(np.float32) for frames in BLOCKS]


@pytest.fixture
def equaliser():
    rng = np.random.default_rng(8)
    response = (rng.standard_normal(FILTER_TAPS) * np.exp(-np.arange(FILTER_TAPS) / 200)).astype(np.float32)
    return response[np.newaxis]


@pytest.fixture
def filter_runs(monkeypatch):
    """How many blocks the equaliser's FIR has filtered."""
    runs = []
    process = StreamingFir.process
    monkeypatch.setattr(
        streaming_fir.StreamingFir, "process", lambda self, block: runs.append(1) or process(self, block)
    )
    return runs


def spilled(song) -> Spill:
    spill = Spill()
    for block in song:
        spill.write(block)
    return spill


def read(spill: Spill, response=None, keep=False) -> list[np.ndarray]:
    return [block.copy() for block in spill.blocks(response, keep)]


def filtered(song, response) -> list[np.ndarray]:
    fir = StreamingFir(response)
    return [fir.process(block) for block in song]


def test_the_song_reads_back_as_written_as_often_as_asked(song):
    with spilled(song) as spill:
        assert spill.block_frames == list(BLOCKS)
        for _ in range(2):
            blocks = read(spill)
            assert [block.shape for block in blocks] == [(2, frames) for frames in BLOCKS]
            for got, written in zip(blocks, song, strict=True):
                np.testing.assert_array_equal(got, written)


def test_a_kept_pass_through_an_equaliser_is_read_back_not_filtered_again(song, equaliser, filter_runs):
    with spilled(song) as spill:
        expected = filtered(song, equaliser)
        filter_runs.clear()
        first = []
        for block in spill.blocks(equaliser, keep=True):
            first.append(block.copy())
            block *= 0.0  # a reader may change its block: the kept copy was written before
        assert len(filter_runs) == len(BLOCKS)
        again = read(spill, equaliser)
        assert len(filter_runs) == len(BLOCKS), "the repeat reads the kept copy"
        for got, got_again, want in zip(first, again, expected, strict=True):
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got_again, want)
        np.testing.assert_array_equal(read(spill)[0], song[0])  # the song itself is untouched


def test_another_equaliser_or_an_unkept_pass_filters(song, equaliser, filter_runs):
    other = equaliser * np.float32(0.5)
    with spilled(song) as spill:
        read(spill, equaliser)  # not kept
        read(spill, equaliser)
        assert len(filter_runs) == 2 * len(BLOCKS)
        read(spill, equaliser, keep=True)
        for got, want in zip(read(spill, other), filtered(song, other), strict=True):
            np.testing.assert_array_equal(got, want)
        filter_runs.clear()
        read(spill, equaliser)
        assert not filter_runs, "the kept copy is still the first equaliser's"


def test_a_pass_stopped_early_keeps_nothing(song, equaliser, filter_runs):
    with spilled(song) as spill:
        blocks = spill.blocks(equaliser, keep=True)
        next(blocks)
        blocks.close()
        filter_runs.clear()
        for got, want in zip(read(spill, equaliser), filtered(song, equaliser), strict=True):
            np.testing.assert_array_equal(got, want)
        assert len(filter_runs) == 2 * len(BLOCKS)  # filtered again (and the reference)


def test_an_excerpt_is_blocks_evenly_spaced_through_the_song(song):
    with spilled(song) as spill:
        np.testing.assert_array_equal(spill.excerpt(2), np.concatenate([song[0], song[-1]], axis=1))
        np.testing.assert_array_equal(spill.excerpt(10), np.concatenate(song, axis=1))
        read(spill)  # the excerpt leaves the song readable from its start
        np.testing.assert_array_equal(read(spill)[1], song[1])
    with Spill() as empty:
        assert empty.excerpt(8).shape == (2, 0)
