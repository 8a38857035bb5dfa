"""Head-related impulse responses from an AES69 SOFA file of the SimpleFreeFieldHRIR convention.

SOFA (AES69-2015, "Spatially Oriented Format for Acoustics") stores a set as a netCDF-4 file,
i.e. HDF5, read here with h5py. SimpleFreeFieldHRIR (AES69 annex; sofaconventions.org) holds:

    Data.IR             (M, R=2, N)  impulse responses, receiver 0 = left ear
    Data.SamplingRate   (1,) Hz
    Data.Delay          (1, R) or (M, R) broadband delays, samples, to put before the responses
    SourcePosition      (M, 3) or (1, 3), attribute Type "spherical" (azimuth deg counter-clockwise
                        from the front, elevation deg, distance m) or "cartesian" (x front, y left,
                        z up, m)

and the global attributes ``Conventions = "SOFA"``, ``SOFAConventions = "SimpleFreeFieldHRIR"``.
Anything else is refused with a ``SofaError`` that says what is wrong, and so is a set that cannot
carry an orbit: a silent ear, or no directions all around the head near the horizontal plane.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# 8D needs directions all around the head: near the horizontal plane (within this elevation) no
# gap of azimuth may be wider than the next constant (a set measured in front only cannot go round)
AROUND_ELEVATION_DEG = 45.0
WIDEST_GAP_DEG = 90.0


class SofaError(ValueError):
    """The file is not an AES69 SOFA file of the SimpleFreeFieldHRIR convention (the message says why)."""


@dataclass(frozen=True)
class HrirSet:
    """A measured head: azimuth (counter-clockwise, deg), elevation (deg), responses (n, taps, 2), Hz."""

    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    impulse_responses: np.ndarray
    sample_rate: int


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_directions_around(path: str, azimuth_deg: np.ndarray) -> None:
    """``SofaError`` unless the sorted azimuths (deg, 0-360) near the horizontal plane go all round."""
    if azimuth_deg.size < 2:
        raise SofaError(
            f"{path}: it has {('no', 'one')[azimuth_deg.size]} direction within {AROUND_ELEVATION_DEG:g} deg of "
            "the horizontal plane; 8D needs directions all around the head"
        )
    gaps = np.diff(np.append(azimuth_deg, azimuth_deg[0] + 360.0))
    widest = int(np.argmax(gaps))
    if gaps[widest] > WIDEST_GAP_DEG:
        raise SofaError(
            f"{path}: it has no direction from azimuth {azimuth_deg[widest]:g} to "
            f"{np.mod(azimuth_deg[widest] + gaps[widest], 360.0):g} deg near the horizontal plane; 8D needs "
            "directions all around the head"
        )


@functools.cache
def read_sofa(path: str) -> HrirSet:
    """The set in the SOFA file at ``path`` (read once per process); ``SofaError`` if it is not one."""
    try:
        import h5py
    except ImportError as error:  # pragma: no cover - h5py is a dependency of the package
        raise SofaError("reading SOFA files needs the h5py package (pip install h5py)") from error
    if not Path(path).is_file():
        raise SofaError(f"{path}: no such file")
    try:
        sofa = h5py.File(path, "r")
    except OSError as error:
        raise SofaError(f"{path} is not a SOFA file (AES69 files are netCDF-4/HDF5)") from error
    with sofa:
        conventions = _text(sofa.attrs.get("Conventions", b""))
        kind = _text(sofa.attrs.get("SOFAConventions", b""))
        if conventions != "SOFA":
            raise SofaError(f"{path} is an HDF5 file but not a SOFA file (Conventions is {conventions!r})")
        if kind != "SimpleFreeFieldHRIR":
            raise SofaError(f"{path} is a SOFA file of the {kind!r} convention; HRTF mode needs SimpleFreeFieldHRIR")
        missing = [name for name in ("Data.IR", "Data.SamplingRate", "SourcePosition") if name not in sofa]
        if missing:
            raise SofaError(f"{path} lacks the SOFA variable(s) {', '.join(missing)}")
        responses = np.asarray(sofa["Data.IR"][()], dtype=np.float64)
        sample_rate = float(np.asarray(sofa["Data.SamplingRate"][()]).reshape(-1)[0])
        positions = np.asarray(sofa["SourcePosition"][()], dtype=np.float64)
        position_type = _text(sofa["SourcePosition"].attrs.get("Type", b"spherical")).lower()
        delays = np.asarray(sofa["Data.Delay"][()], dtype=np.float64) if "Data.Delay" in sofa else np.zeros((1, 2))
    if responses.ndim != 3 or responses.shape[1] != 2 or responses.shape[0] < 1:
        raise SofaError(f"{path}: Data.IR has shape {responses.shape}, expected (directions, 2 ears, taps)")
    if not np.isfinite(responses).all() or not np.abs(responses).max() > 0:
        raise SofaError(f"{path}: Data.IR holds no usable impulse responses")
    for ear, name in enumerate(("left", "right")):
        if not np.abs(responses[:, ear]).max() > 0:
            raise SofaError(f"{path}: Data.IR's {name} ear (receiver {ear + 1}) is silent in every direction")
    if not 8000 <= sample_rate <= 384000:
        raise SofaError(f"{path}: Data.SamplingRate {sample_rate:g} Hz is out of range")
    positions = np.broadcast_to(positions.reshape(-1, 3), (responses.shape[0], 3))
    if position_type == "cartesian":
        x, y, z = positions.T
        azimuth = np.degrees(np.arctan2(y, x))
        elevation = np.degrees(np.arctan2(z, np.hypot(x, y)))
    elif position_type == "spherical":
        azimuth, elevation = positions[:, 0], positions[:, 1]
    else:
        raise SofaError(f"{path}: SourcePosition Type {position_type!r} is neither spherical nor cartesian")
    _check_directions_around(path, np.unique(np.mod(azimuth[np.abs(elevation) <= AROUND_ELEVATION_DEG], 360.0)))
    delays = np.broadcast_to(delays.reshape(-1, 2), (responses.shape[0], 2))
    if np.any(delays < 0) or not np.isfinite(delays).all():
        raise SofaError(f"{path}: Data.Delay must be finite and >= 0 samples")
    lead = np.rint(delays).astype(int)
    taps = responses.shape[2] + int(lead.max())
    padded = np.zeros((responses.shape[0], taps, 2))
    for ear in range(2):
        for index in range(responses.shape[0]):
            start = lead[index, ear]
            padded[index, start : start + responses.shape[2], ear] = responses[index, ear]
    return HrirSet(
        azimuth_deg=np.mod(azimuth, 360.0),
        elevation_deg=np.asarray(elevation, dtype=np.float64),
        impulse_responses=padded,
        sample_rate=int(round(sample_rate)),
    )
