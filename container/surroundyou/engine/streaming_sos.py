"""An IIR filter (second-order sections) that keeps its state between blocks, and its response.

Filtering a signal block by block with the state carried over gives exactly the samples one
call over the whole signal gives: ``scipy.signal.sosfilt`` runs the same recursion sample after
sample, and its ``zi``/``zf`` are the recursion's state between two samples.

The recursion is scipy's compiled kernel, the one ``scipy.signal.sosfilt`` calls, loaded on its
own: importing the ``scipy.signal`` package costs about 0.9 s of CPU (it loads scipy.stats,
scipy.interpolate and scipy.optimize, and rewrites hundreds of docstrings) for the one routine a
stream needs, which loads in a millisecond. Should a scipy release move the kernel, the package's
``sosfilt`` is used instead: the same recursion, the same samples.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy

SosKernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


@functools.cache
def sos_kernel() -> SosKernel:
    """scipy's ``_sosfilt(sos, x, zi)``: filters ``x`` (signals, frames) in place, C-contiguous, with
    the state ``zi`` (signals, sections, 2), updated in place; all three of one float dtype."""
    name = "scipy.signal._sosfilt"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = Path(scipy.__file__).parent / "signal" / f"_sosfilt{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(name, str(path))
            spec = importlib.util.spec_from_file_location(name, path, loader=loader)
            if spec is not None:
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                kernel = getattr(module, "_sosfilt", None)
                if kernel is not None:
                    return kernel
    from scipy.signal._sosfilt import _sosfilt  # the package after all (it moved)

    return _sosfilt


class StreamingSos:
    """``sosfilt`` over the last axis of ``(rows, frames)`` blocks, state carried across calls.

    ``dtype`` is the arithmetic precision (the coefficients and state are kept in it; the
    output has it too). Low-frequency sections need float64: a 120 Hz 4th-order high-pass in
    float32 adds rounding noise at -97 dB (44.1 kHz) to -83 dB (192 kHz), too close to the
    -80 dB click budget.
    """

    def __init__(self, sos: np.ndarray, rows: int, dtype: type = np.float64):
        self.sos: np.ndarray = np.ascontiguousarray(sos, dtype=dtype)
        # the kernel's layout: (rows, sections, 2)
        self.state: np.ndarray = np.zeros((rows, self.sos.shape[0], 2), dtype=dtype)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        filtered = np.array(block, dtype=self.sos.dtype, order="C", ndmin=2)  # a copy: filtered in place
        if filtered.shape[0] != self.state.shape[0]:
            raise ValueError(f"expected a ({self.state.shape[0]}, frames) block, got shape {np.shape(block)}")
        sos_kernel()(self.sos, filtered, self.state)
        return filtered


def sos_response(sos: np.ndarray, freqs_hz: np.ndarray, sample_rate: float) -> np.ndarray:
    """The complex frequency response of ``sos`` at ``freqs_hz`` (``scipy.signal.sosfreqz``'s ``h``):
    the product over sections of ``(b0 + b1 z^-1 + b2 z^-2) / (a0 + a1 z^-1 + a2 z^-2)``,
    ``z = exp(2 pi j f / fs)``."""
    z1 = np.exp(-2j * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate)
    z2 = z1 * z1
    response = np.ones_like(z1)
    for b0, b1, b2, a0, a1, a2 in np.asarray(sos, dtype=np.float64):
        response *= (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
    return response
