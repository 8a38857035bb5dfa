"""What the web app does against the API and S3, as plain HTTP (requests), and the test songs.

get_config (the API's rules) -> create_job -> upload (the presigned POST, as a browser's FormData)
-> poll -> download.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
from pedalboard.io import AudioFile

SAMPLE_RATE = 44100
TIMEOUT_S = 30  # of one HTTP request


def pink_noise_song(path: Path, seconds: float, seed: int = 0) -> Path:
    """Mono pink noise (-3 dB/octave, 20 Hz-20 kHz) in both channels: broadband, so the ears'
    level (2-8 kHz) and time (200-1500 Hz) cues of an orbit are measurable all the time."""
    frames = int(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(frames))
    freqs_hz = np.fft.rfftfreq(frames, 1 / SAMPLE_RATE)
    spectrum *= np.where(freqs_hz >= 20, 1 / np.sqrt(np.maximum(freqs_hz, 20)), 0)
    noise = np.fft.irfft(spectrum, n=frames)
    noise *= 0.1 / np.sqrt(np.mean(noise**2))
    return write_song(path, np.tile(noise, (2, 1)))


def tone_song(path: Path, seconds: float, frequency_hz: float) -> Path:
    t_s = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return write_song(path, np.tile(0.3 * np.sin(2 * np.pi * frequency_hz * t_s), (2, 1)))


def write_song(path: Path, stereo: np.ndarray) -> Path:
    """MP3 at 320 kbit/s for .mp3, else by extension."""
    options = {"quality": "320k"} if path.suffix == ".mp3" else {}
    with AudioFile(str(path), "w", SAMPLE_RATE, 2, **options) as song:
        song.write(stereo.astype(np.float32))
    return path


def read_audio(data: bytes, path: Path) -> np.ndarray:
    """Decode ``data`` (written to ``path``, whose extension names the format): (channels, frames)."""
    path.write_bytes(data)
    with AudioFile(str(path)) as audio:
        return audio.read(audio.frames)


def dominant_frequency_hz(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / SAMPLE_RATE)[np.argmax(spectrum)])


def get_config(base_url: str) -> dict[str, Any]:
    """GET /config: what the web app learns before it uploads (limit, formats, presets, defaults)."""
    response = requests.get(f"{base_url}api/config", timeout=TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def create_job(
    base_url: str, filename: str, size: int, content_type: str = "audio/mpeg", options: dict[str, Any] | None = None
) -> requests.Response:
    return requests.post(
        f"{base_url}api/jobs",
        timeout=TIMEOUT_S,
        json={"filename": filename, "size": size, "contentType": content_type, "options": options or {}},
    )


def upload(job: dict[str, Any], data: bytes, filename: str, content_type: str) -> requests.Response:
    """The presigned POST: the policy's fields first, the file last, as S3 requires."""
    form = job["upload"]
    return requests.post(
        form["url"], data=form["fields"], files={"file": (filename, data, content_type)}, timeout=TIMEOUT_S
    )


def get_job(base_url: str, job_id: str) -> requests.Response:
    return requests.get(f"{base_url}api/jobs/{job_id}", timeout=TIMEOUT_S)


def poll_until_finished(base_url: str, job_id: str, timeout_s: float = 180.0) -> list[dict[str, Any]]:
    """Every view of the job seen while polling (as the web app does), the last READY or FAILED."""
    views: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = get_job(base_url, job_id)
        assert response.status_code == 200, response.text
        views.append(response.json())
        if views[-1]["status"] in ("READY", "FAILED"):
            return views
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {views[-1]['status']} after {timeout_s:.0f} s")


def convert(
    base_url: str, path: Path, content_type: str = "audio/mpeg", options: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Create, upload and poll one song: (the created job, the views seen)."""
    data = path.read_bytes()
    created = create_job(base_url, path.name, len(data), content_type, options)
    assert created.status_code == 201, created.text
    job = created.json()
    uploaded = upload(job, data, path.name, content_type)
    assert uploaded.status_code == 204, uploaded.text
    return job, poll_until_finished(base_url, job["jobId"])


def download(url: str) -> requests.Response:
    return requests.get(url, timeout=TIMEOUT_S)
