"""A soft clipper before the true-peak limiter, for loud masters: it takes the tips of the peaks
that a gain-riding limiter can only take with the whole song's loudness.

A loud master's peaks sit a few dB over its loudness because it was clipped (its own limiter, then
clipped at full scale). Rendered around the head, the ear a source passes carries more of it, and
the result must stay under -1 dBTP where the master reached +2 to +4 dBTP; the limiter's gain,
smoothed over milliseconds, can lower those peaks only by lowering everything around them, so the
make-up gain before it stops bringing loudness ("saturates") and the pumping takes bass
(``limiting_forecast``). A music-like mix mastered to -7.8 / -6.8 LUFS came out 1.17 / 2.09 LU
quieter as FLAC; with the tips of its peaks clipped first, 0.05 / 0.08 LU
(tests/integration/test_true_peak.py).

The curve (per sample, on the magnitude ``a``, the sign kept): the identity up to ``KNEE_DB``
under the ceiling ``c``, then ``k + (c - k) tanh((a - k) / (c - k))`` (``k`` the knee: slope 1
there, approaching ``c``) up to ``depth_db`` over it, and past that a straight line through the
origin, so a peak deeper than that leaves the clipper ``depth_db`` lower (up to 0.17 dB more at
0.5 dB, where the knee has not reached the ceiling yet) and the limiter takes the rest: the
limiter acts as if at a ceiling ``depth_db`` higher, which its forecast reads.
Clipping at the sample rate, not oversampled: the limiter band-limits its output, and 4x
oversampling gave the same loudness within 0.05 LU and third-octave levels within 0.1 dB.

Its distortion is heard where nothing hides it: a tone or a chord has nothing around its partials
(``masks_clipping``); the limiter alone keeps those clean.
"""

from __future__ import annotations

import numpy as np

KNEE_DB = 1.5
# a song hides the clipper's products when at least this share of its long-term thirds (100 Hz -
# 12.5 kHz) come within SPREAD_DB of its loudest: music and noise 15-22 of 22 (real songs included),
# a square wave 16; a sine 1, a chord 3
MASKING_SHARE = 0.5
SPREAD_DB = 30.0


def soft_clip(block: np.ndarray, ceiling_dbtp: float, depth_db: float) -> np.ndarray:
    """``block`` with its samples' magnitudes through the clipper's curve (module docstring), in
    place; only samples over the knee are touched."""
    ceiling = 10 ** (ceiling_dbtp / 20)
    knee = ceiling * 10 ** (-KNEE_DB / 20)
    top = ceiling * 10 ** (depth_db / 20)
    over = np.abs(block) > knee
    if not over.any():
        return block
    values = block[over].astype(np.float64)
    magnitude = np.abs(values)
    span = ceiling - knee
    curved = knee + span * np.tanh((np.minimum(magnitude, top) - knee) / span)
    # past the top, the line through the origin that meets the curve there
    slope = (knee + span * np.tanh((top - knee) / span)) / top
    shaped = np.where(magnitude > top, magnitude * slope, curved)
    block[over] = np.sign(values) * shaped
    return block


def masks_clipping(band_powers: np.ndarray) -> bool:
    """Whether a song's long-term third-octave powers (100 Hz - 12.5 kHz) spread wide enough to
    hide clipping's products (``MASKING_SHARE``)."""
    powers = np.asarray(band_powers, dtype=np.float64)
    if powers.size == 0 or not np.any(powers > 0):
        return False
    near = powers >= powers.max() * 10 ** (-SPREAD_DB / 10)
    return bool(np.mean(near) >= MASKING_SHARE)
