"""Synthetic test signals, made in code with fixed seeds (same signal on every run); tests of every
tier use them through the ``signals`` fixture (tests/conftest.py)."""

import numpy as np
import scipy.signal

SAMPLE_RATE = 44100


def pink_noise(
    seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = 0, channels: int = 1, rms: float = 0.1
) -> np.ndarray:
    """Gaussian noise shaped to a 1/f power spectrum (-3 dB/octave) above 20 Hz; shape (channels, n)."""
    frames = int(round(seconds * sample_rate))
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal((channels, frames)), axis=-1)
    freqs_hz = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    spectrum *= np.where(freqs_hz >= 20.0, 1.0 / np.sqrt(np.maximum(freqs_hz, 20.0)), 0.0)
    noise = np.fft.irfft(spectrum, n=frames, axis=-1)
    return (noise * rms / np.sqrt(np.mean(noise**2, axis=-1, keepdims=True))).astype(np.float32)


def band_noise(
    seconds: float,
    low_hz: float,
    high_hz: float,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
    channels: int = 1,
    rms: float = 0.1,
) -> np.ndarray:
    """Noise with a flat spectrum exactly inside ``low_hz..high_hz`` and nothing outside (float64)."""
    frames = int(round(seconds * sample_rate))
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal((channels, frames)), axis=-1)
    freqs_hz = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    spectrum[:, (freqs_hz < low_hz) | (freqs_hz > high_hz)] = 0.0
    noise = np.fft.irfft(spectrum, n=frames, axis=-1)
    return noise * rms / np.sqrt(np.mean(noise**2, axis=-1, keepdims=True))


def sine(
    seconds: float, frequency_hz: float, amplitude: float = 0.5, sample_rate: int = SAMPLE_RATE, channels: int = 2
) -> np.ndarray:
    """The same sine in every channel, float32 (channels, n)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return np.tile(amplitude * np.sin(2 * np.pi * frequency_hz * t), (channels, 1)).astype(np.float32)


def music_like(seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A stereo, music-like mix (float32, (2, n)): chords of harmonic tones changing every 0.5 s
    (spread left/right), a kick every 0.5 s in the centre, hi-hat noise bursts and a quiet pink bed.
    Content covers 40 Hz-16 kHz at every moment, as a dense pop mix does.
    """
    rng = np.random.default_rng(seed)
    frames = int(round(seconds * sample_rate))
    mix = 0.5 * pink_noise(seconds, sample_rate, seed=seed + 1, channels=2, rms=0.03).astype(np.float64)
    beat = int(0.5 * sample_rate)
    local_t = np.arange(beat) / sample_rate
    envelope = np.exp(-local_t / 0.6)
    kick = 0.4 * np.sin(2 * np.pi * (50 + 80 * np.exp(-local_t / 0.03)) * local_t) * np.exp(-local_t / 0.12)
    table_len = 4096
    for start in range(0, frames, beat):
        count = min(beat, frames - start)
        for pan in (0.3, 0.7, 0.5):
            f0 = 110.0 * 2 ** (rng.integers(0, 24) / 12)
            # one period of a band-limited sawtooth-like tone (harmonics 1/k up to 16 kHz), read as a wavetable
            harmonics = np.zeros(table_len // 2 + 1, dtype=complex)
            k = np.arange(1, int(min(16000.0 / f0, 40)))
            harmonics[k] = np.exp(1j * rng.uniform(0, 2 * np.pi, len(k))) / k
            table = np.fft.irfft(harmonics, n=table_len) * table_len / 2
            tone = table[(f0 * local_t[:count] * table_len).astype(np.int64) % table_len]
            mix[0, start : start + count] += 0.05 * (1 - pan) * envelope[:count] * tone
            mix[1, start : start + count] += 0.05 * pan * envelope[:count] * tone
        hat = rng.standard_normal(count) * np.exp(-((local_t[:count] - 0.25) % 0.25) / 0.02)
        mix[:, start : start + count] += kick[:count] + 0.03 * np.diff(hat, prepend=0.0)
    return mix.astype(np.float32)


def loud_master(seconds: float, drive_db: float, sample_rate: int = SAMPLE_RATE, seed: int = 3) -> np.ndarray:
    """``music_like`` mastered loud the way records are: peak-normalised, driven ``drive_db`` into
    another limiter (pedalboard's: threshold -1 dB, release 60 ms), then clipped at -0.2 dBFS.
    Drives of 8 / 12 / 16 dB give about -10.3 / -9.0 / -8.2 LUFS, true peaks 2-4 dB over full
    scale, as loud masters have. float32, (2, n)."""
    from pedalboard import Gain, Limiter, Pedalboard

    music = music_like(seconds, sample_rate, seed)
    board = Pedalboard([Gain(drive_db), Limiter(threshold_db=-1.0, release_ms=60)])
    return np.clip(board(music / np.abs(music).max(), sample_rate), -0.98, 0.98).astype(np.float32)


def bass_line_mix(seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A bass line over a bed (float32, (2, n)): stereo pink noise (independent channels, RMS 0.05)
    and, in the centre, a note every other quarter second (110-196 Hz, a sine with 0.3 of its
    second harmonic, RMS 0.1 over the song, 10 ms ramps). Its notes make its peaks, as a loud
    master's bass and drums do: a limiter pulls the bed down with them."""
    rng = np.random.default_rng(seed)
    bed = pink_noise(seconds, sample_rate, seed=seed, channels=2, rms=0.05).astype(np.float64)
    t = np.arange(bed.shape[1]) / sample_rate
    note_s = 0.25
    index = (t // note_s).astype(np.int64)
    frequency_hz = rng.choice([110.0, 123.5, 146.8, 164.8, 196.0], size=index[-1] + 1)[index]
    ramp = np.minimum(1.0, np.minimum(t % note_s, note_s - t % note_s) / 0.01)
    phase = 2 * np.pi * np.cumsum(frequency_hz) / sample_rate
    bass = (np.sin(phase) + 0.3 * np.sin(2 * phase)) * (index % 2 == 0) * ramp
    return (bed + 0.1 * bass / np.sqrt(np.mean(bass**2))).astype(np.float32)


def held_note_mix(
    seconds: float,
    frequency_hz: float,
    period_s: float,
    from_turn: float,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
) -> np.ndarray:
    """A note held while an orbit of ``period_s`` passes one side (float32, (2, n)): stereo pink noise
    (independent channels, RMS 0.03) and, the same in both channels, a tone of three harmonics
    (amplitudes 0.08 / k, those under 13 kHz) sounding for half of each period from ``from_turn``
    of it (50 ms ramps), as a pad or a held chord plays while an 8D source goes round."""
    bed = pink_noise(seconds, sample_rate, seed=seed, channels=2, rms=0.03).astype(np.float64)
    t = np.arange(bed.shape[1]) / sample_rate
    sounding = ((t / period_s - from_turn) % 1.0 < 0.5).astype(np.float64)
    ramp = np.hanning(int(0.05 * sample_rate))
    sounding = np.convolve(sounding, ramp / ramp.sum(), "same")
    harmonics = [k for k in (1, 2, 3) if frequency_hz * k < 13000.0]
    note = sum(0.08 / k * np.sin(2 * np.pi * frequency_hz * k * t) for k in harmonics) * sounding
    return (bed + note).astype(np.float32)


def band_shared_pink(
    seconds: float,
    sample_rate: int = SAMPLE_RATE,
    shares: tuple[tuple[float, float], ...] = ((0.0, 1.0),),
    seed: int = 0,
) -> np.ndarray:
    """Stereo pink noise (float32, (2, n)) whose channels share ``rho`` of their power from each
    ``(from_hz, rho)`` of ``shares`` up to the next (zero-phase 4th-order Butterworth band edges):
    a mix whose stereo image changes from band to band, as real ones do."""
    common, own = (pink_noise(seconds, sample_rate, seed=seed + i)[0] for i in (0, 1))
    left, right = np.zeros_like(common), np.zeros_like(common)
    for index, (low_hz, rho) in enumerate(shares):
        high_hz = shares[index + 1][0] if index + 1 < len(shares) else None
        shared, alone = common, own
        for edge_hz, kind in ((low_hz, "highpass"), (high_hz, "lowpass")):
            if edge_hz:
                sos = scipy.signal.butter(4, edge_hz, kind, fs=sample_rate, output="sos")
                shared, alone = scipy.signal.sosfiltfilt(sos, shared), scipy.signal.sosfiltfilt(sos, alone)
        left += shared
        right += rho * shared + np.sqrt(1 - rho**2) * alone
    return np.stack([left, right]).astype(np.float32)
