"""The rendered song between the passes: a raw float32 file (each block as it is, channel after
channel) that pass 1 writes and each of pass 2's passes reads back, through the timbre match's
equaliser where it runs.

Filtering the song through the equaliser (a 2048-tap FIR by FFT) costs ~0.35 s of CPU per
5-minute song, and a song that is equalised is often read through the same equaliser more than
once: by the gain's forecast on the equalised song and then by the encode (the bench song), and
by the clipper's measuring passes on a loud master. Reading back a file the page cache holds
costs a few hundredths, so a pass that a later one will repeat (``keep``) writes what it filtered
to a second file, and the later one reads that instead. One equalised copy is kept at a time;
memory stays one block deep.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator

import numpy as np

CHANNELS = 2


class Spill:
    """Written block by block (:meth:`write`), then read back whole as often as wanted (:meth:`blocks`)
    or in excerpts (:meth:`excerpt`)."""

    def __init__(self) -> None:
        self._file: io.BufferedRandom = tempfile.TemporaryFile()
        self.block_frames: list[int] = []  # frames of each block, in order
        # the song through one equaliser, once a pass has written all of it: (response, file)
        self._equalised: tuple[np.ndarray, io.BufferedRandom] | None = None

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()
        self._forget_equalised()

    def write(self, block: np.ndarray) -> None:
        """Appends a ``(CHANNELS, frames)`` float32 block."""
        self._file.write(np.ascontiguousarray(block, dtype="<f4").data)
        self.block_frames.append(block.shape[1])

    def excerpt(self, count: int) -> np.ndarray:
        """Up to ``count`` of the song's blocks, evenly spaced through it, end to end: a
        ``(CHANNELS, frames)`` copy."""
        chosen = np.unique(np.linspace(0, len(self.block_frames) - 1, min(count, len(self.block_frames))).round())
        offsets = np.cumsum([0, *self.block_frames]) * CHANNELS * 4  # bytes: float32
        parts = []
        for index in chosen.astype(int):
            block = np.empty((CHANNELS, self.block_frames[index]), dtype="<f4")
            self._file.seek(int(offsets[index]))
            self._file.readinto(block.data)
            parts.append(block)
        return np.concatenate(parts, axis=1) if parts else np.zeros((CHANNELS, 0), dtype="<f4")

    def blocks(self, response: np.ndarray | None = None, keep: bool = False) -> Iterator[np.ndarray]:
        """The song's ``(CHANNELS, frames)`` blocks in order, through the equaliser ``response``
        (``None``: as written). A block is valid until the next is read, and the reader may change
        it. ``keep``: a later pass will read the song through this same ``response``, so it is
        written aside for that one (module docstring)."""
        if response is None:
            yield from self._read(self._file)
        elif self._equalised is not None and self._equalised[0] is response:
            yield from self._read(self._equalised[1])
        else:
            yield from self._filtered(response, keep)

    def _filtered(self, response: np.ndarray, keep: bool) -> Iterator[np.ndarray]:
        from .streaming_fir import StreamingFir  # the render stack (convert's module docstring)

        equaliser = StreamingFir(response)
        if not keep:
            for block in self._read(self._file):
                yield equaliser.process(block)
            return
        self._forget_equalised()
        kept = tempfile.TemporaryFile()
        try:
            for block in self._read(self._file):
                filtered = np.ascontiguousarray(equaliser.process(block))
                kept.write(filtered.data)  # before the reader changes it
                yield filtered
        except BaseException:
            kept.close()
            raise
        self._equalised = (response, kept)  # only once whole: a pass stopped early leaves none

    def _forget_equalised(self) -> None:
        if self._equalised is not None:
            self._equalised[1].close()
            self._equalised = None

    def _read(self, file: io.BufferedRandom) -> Iterator[np.ndarray]:
        buffer = np.empty(CHANNELS * max(self.block_frames, default=0), dtype="<f4")
        file.seek(0)
        for frames in self.block_frames:
            block = buffer[: CHANNELS * frames].reshape(CHANNELS, frames)
            file.readinto(block.data)
            yield block
