"""A fixed FIR filter applied to a stream by FFT convolution (overlap-add), state carried across blocks."""

from __future__ import annotations

import numpy as np
import scipy.fft

CHUNK_FRAMES = 65536  # input frames per transform (at least the response's length)


class OverlapAdd:
    """Output owed to samples still to come: each block's convolutions reach past its end."""

    def __init__(self) -> None:
        self._pending = np.zeros((2, 0), dtype=np.float32)

    def buffer(self, frames: int, reach: int) -> np.ndarray:
        """A zeroed ``(2, frames + reach)`` buffer (at least what is owed) holding what is owed."""
        owed = self._pending.shape[1]
        output = np.zeros((2, max(owed, frames + reach)), dtype=np.float32)
        output[:, :owed] = self._pending
        return output

    def emit(self, output: np.ndarray, frames: int) -> np.ndarray:
        self._pending = output[:, frames:].copy()
        return output[:, :frames]


class StreamingFir:
    """``process(source)`` -> the ``(2, frames)`` convolution of ``source`` with ``response``,
    ``CHUNK_FRAMES`` at a time: a mono ``(frames,)`` source through a ``(2, taps)`` response (one
    per ear), or a ``(2, frames)`` source through a ``(1, taps)`` one (the same on both)."""

    def __init__(self, response: np.ndarray):
        self.taps = response.shape[-1]
        self.fft_size = scipy.fft.next_fast_len(self.taps + max(CHUNK_FRAMES, self.taps), real=True)
        self.chunk = self.fft_size - self.taps + 1
        self._spectrum = scipy.fft.rfft(response.astype(np.float32), self.fft_size, axis=-1)
        self._overlap = OverlapAdd()

    def process(self, source: np.ndarray) -> np.ndarray:
        frames = source.shape[-1]
        output = self._overlap.buffer(frames, self.fft_size)
        for start in range(0, frames, self.chunk):
            spectrum = scipy.fft.rfft(source[..., start : start + self.chunk], self.fft_size, axis=-1)
            output[:, start : start + self.fft_size] += scipy.fft.irfft(
                spectrum * self._spectrum, self.fft_size, axis=-1
            )
        return self._overlap.emit(output, frames)
