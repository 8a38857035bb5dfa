"""Slowly changing parameters: computed on a coarse control grid, ramped linearly per sample.

The orbit moves a few degrees per second, so gains, shadow weights and delays are computed
only every ``step`` samples (the control grid: sample indices ``k * step``) and joined by
straight lines. A straight line between exact values deviates from the smooth curve by at most
``step^2 / 8 * max|p''|``: for a 64-sample step and an 8 s orbit, about 1e-6 of a gain, far
below audibility and below the -80 dB click budget. The grid is fixed to absolute sample
indices, so the ramps (and the output) do not depend on how the audio is cut into blocks.
"""

from __future__ import annotations

import functools

import numpy as np

# Samples ramped and used at a time: a whole block's ramps are megabytes, which would leave the
# processor's cache between the operation that writes them and the one that reads them; a chunk's
# stay (ramping and applying the head's weights a chunk at a time took 0.65-0.7 of the time).
CHUNK_FRAMES = 8192


def control_indices(first_sample: int, frames: int, step: int) -> np.ndarray:
    """Grid indices ``k`` whose segments ``[k*step, (k+1)*step)`` cover ``first_sample`` .. ``+frames``,
    plus the closing point: ``k0 .. k1`` inclusive, so values at them give ``k1 - k0`` segments."""
    return np.arange(first_sample // step, -(-(first_sample + frames) // step) + 1)


def segments_of(first_sample: int, start: int, stop: int, step: int) -> slice:
    """The segments of ``control_indices(first_sample, frames, step)`` that samples ``first_sample + start``
    .. ``first_sample + stop - 1`` fall in: ``segment_ramps`` of them gives those samples' ramps."""
    first_segment = first_sample // step
    return slice((first_sample + start) // step - first_segment, -(-(first_sample + stop) // step) - first_segment)


def segment_ramps(start: np.ndarray, end: np.ndarray, first_sample: int, frames: int, step: int) -> np.ndarray:
    """Per-sample linear ramps: in segment ``j`` (absolute samples ``(k0+j)*step + i``, ``i < step``)
    the value is ``start[..., j] + (end[..., j] - start[..., j]) * i / step``.

    ``start`` and ``end`` have shape ``(..., segments)`` for the segments of ``control_indices``;
    the result has shape ``(..., frames)``, float32, for samples ``first_sample`` .. ``+frames``.
    Every sample is computed by the same float32 operations whatever the block, so block-wise
    processing reproduces one-shot processing bit for bit.
    """
    start = np.asarray(start, dtype=np.float32)
    slope = np.asarray(end, dtype=np.float32) - start
    segments = start.shape[-1]
    # np.repeat and whole-row operations: broadcasting over (segments, step) would run numpy's
    # inner loop on only `step` elements at a time, ten times slower.
    values = np.repeat(slope, step, axis=-1)
    values *= _ramps(step, segments)
    values += np.repeat(start, step, axis=-1)
    offset = first_sample - (first_sample // step) * step
    return values[..., offset : offset + frames]


@functools.lru_cache(maxsize=8)
def _ramps(step: int, segments: int) -> np.ndarray:
    """``i / step`` for ``i = 0 .. step-1``, repeated ``segments`` times (float32, read-only)."""
    ramps = np.tile(np.arange(step, dtype=np.float32) / np.float32(step), segments)
    ramps.flags.writeable = False
    return ramps
