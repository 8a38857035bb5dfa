"""The listener model of the tests: ``surroundyou.listening`` matched against the MIT KEMAR set as
Debian's ``libmysofa1`` package ships it, plus renders whose answer is known.

The model (features, distance, nearest direction) is ``surroundyou.listening``'s, which never
imports the renderer; the head it compares with is not the engine's bundled copy but the same
measurement (Gardner & Martin, MIT Media Lab Perceptual Computing TR #280, 1994) as an AES69-2015
SOFA file, ``MIT_KEMAR_normal_pinna.sofa`` (SimpleFreeFieldHRIR; read with h5py), fetched with
``apt-get download libmysofa1`` and unpacked with ``dpkg-deb -x`` into a cache folder
(``kemar_sofa_path``), so a fresh machine gets the same file. Its horizontal plane has 72
directions (every 5 deg); ``sphere=True`` compares with all 710, from 40 deg below the horizon to
straight overhead, for the heard elevation.

Azimuths are reported in the engine's convention (0 = front, positive = right, clockwise seen
from above); the SOFA file counts counter-clockwise.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess  # nosec B404: apt-get and dpkg-deb with fixed arguments
import tempfile
from pathlib import Path

import numpy as np
import scipy.signal

from surroundyou.listening import Features, Head, Heard, head_features, head_from_set, render_features, spectral_dips_db
from surroundyou.listening import heard as heard_by

__all__ = ["Features", "Heard", "render_features", "spectral_dips_db"]

SOFA_MEMBER = "usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/surroundyou`` (default ``~/.cache/surroundyou``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "surroundyou"


def kemar_sofa_path() -> Path:
    """The MIT KEMAR SOFA file of Debian's libmysofa1, fetched once into the cache folder.

    ``apt-get download libmysofa1`` (after ``apt-get update`` when a fresh machine has no package
    lists) then ``dpkg-deb -x``; only the .sofa file is kept.
    """
    target = cache_dir() / "libmysofa1" / Path(SOFA_MEMBER).name
    if target.exists():
        return target
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"fetching the KEMAR SOFA file needs {tool} (Debian/Ubuntu)")
    with tempfile.TemporaryDirectory() as work:
        download = ["apt-get", "download", "libmysofa1"]
        if subprocess.run(download, cwd=work, capture_output=True).returncode != 0:  # nosec B603 B607
            # a fresh machine has no package lists yet (the tests run as root, as CI does)
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)  # nosec B603 B607
            subprocess.run(download, cwd=work, check=True, capture_output=True)  # nosec B603 B607
        package = next(Path(work).glob("libmysofa1_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(package), str(Path(work) / "x")], check=True)  # nosec B603 B607
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(Path(work) / "x" / SOFA_MEMBER, partial)
        partial.replace(target)
    return target


@functools.cache
def kemar_directions(sample_rate: int = 44100, sphere: bool = False) -> Head:
    """The set's elevation-0 directions (``sphere``: all 710, -40..90 deg), sorted by elevation then
    azimuth (engine convention, -180..180), resampled if needed."""
    import h5py

    with h5py.File(kemar_sofa_path(), "r") as sofa:
        positions = np.asarray(sofa["SourcePosition"][:], dtype=np.float64)
        irs = np.asarray(sofa["Data.IR"][:], dtype=np.float64)
        rate = int(round(float(sofa["Data.SamplingRate"][0])))
    return head_from_set(positions[:, 0], positions[:, 1], irs, rate, sample_rate, sphere)


def kemar_horizontal(sample_rate: int = 44100) -> Head:
    """The set's elevation-0 directions, sorted by azimuth (engine convention), resampled if needed."""
    return kemar_directions(sample_rate)


@functools.cache
def kemar_features(sample_rate: int = 44100, headphones: str = "diffuse-field", sphere: bool = False) -> Features:
    """The features of the set's directions through ``headphones`` (``listening.head_features``):
    diffuse-field equalised to its horizontal plane, or ``"none"`` (the render is the eardrum signal;
    an ideal render through the raw set is heard right)."""
    return head_features(kemar_directions(sample_rate, sphere), kemar_horizontal(sample_rate), headphones)


def heard(
    ears: np.ndarray, source: np.ndarray, sample_rate: int, headphones: str = "diffuse-field", sphere: bool = False
) -> Heard:
    """The nearest KEMAR horizontal direction (``sphere``: of all its directions) of every frame of
    ``ears`` rendered from ``source``."""
    features = kemar_features(sample_rate, headphones, sphere)
    return heard_by(ears, source, sample_rate, kemar_directions(sample_rate, sphere), features)


# ---------------------------------------------------------------- reference renders (known answers)


def kemar_render(mono: np.ndarray, sample_rate: int, period_s: float, clockwise: bool = True) -> np.ndarray:
    """An ideal render through the set: the measured responses of the two measured directions around
    the orbit's azimuth, crossfaded linearly (5 deg apart), each convolved with the whole input."""
    kemar = kemar_horizontal(sample_rate)
    mono = np.asarray(mono, dtype=np.float64).reshape(-1)
    azimuth = np.degrees(2 * np.pi * np.arange(len(mono)) / (period_s * sample_rate)) * (1 if clockwise else -1)
    order = np.argsort(np.mod(kemar.azimuth_deg, 360.0))
    ring = np.mod(kemar.azimuth_deg[order], 360.0)
    spacing = 360.0 / len(ring)
    position = np.mod(azimuth, 360.0) / spacing
    below = np.floor(position).astype(int) % len(ring)
    fraction = position - np.floor(position)
    output = np.zeros((2, len(mono)))
    for slot, direction in enumerate(order):
        weight = np.where(below == slot, 1 - fraction, 0.0) + np.where((below + 1) % len(ring) == slot, fraction, 0.0)
        if not weight.any():
            continue
        for ear in range(2):
            output[ear] += weight * scipy.signal.fftconvolve(mono, kemar.irs[direction, ear])[: len(mono)]
    return output


def panner_render(mono: np.ndarray, sample_rate: int, period_s: float) -> np.ndarray:
    """A plain constant-power left-right panner following ``sin(azimuth)``: no time or spectral cue."""
    mono = np.asarray(mono, dtype=np.float64).reshape(-1)
    pan = np.sin(2 * np.pi * np.arange(len(mono)) / (period_s * sample_rate))
    angle = (pan + 1) * np.pi / 4
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono])
