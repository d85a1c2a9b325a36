"""Reading audio files: WAV (and, with ``soundfile``, whatever libsndfile reads: FLAC, OGG, AIFF...), mixed down
to mono and resampled to the rate a model expects.

``read_audio(path)`` returns float32 samples in [-1, 1] and the file's rate. A RIFF/WAVE file's chunks are
checked first (a ``fmt `` and a ``data`` chunk, the data no longer than what follows it, whole frames), so a
truncated or damaged file is an :class:`AudioError` naming it instead of a short signal or a library's own
exception. The samples are decoded by ``soundfile`` (``pip install "lucidnet[speech]"``) or, without it, by the
standard library's ``wave`` (integer PCM WAV only).

>>> import tempfile, os, wave
>>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
>>> with wave.open(path, "wb") as w:
...     w.setnchannels(2); w.setsampwidth(2); w.setframerate(16000)
...     w.writeframes(np.full((160, 2), 16384, np.int16).tobytes())
>>> x, rate = read_audio(path)
>>> x.shape, x.dtype, rate, float(x[0])
((160,), dtype('float32'), 16000, 0.5)
>>> read_audio(path, sample_rate=8000)[0].shape
(80,)
"""
from __future__ import annotations

import importlib.util
import os
import struct
import wave
from pathlib import Path

import numpy as np

from ..datasets.errors import DatasetError
from .resample import resample

__all__ = ["AudioError", "read_audio", "wav_info", "write_wav", "backend"]

MAX_CHANNELS = 64
RATES = (1000, 1_000_000)  # the sample rates (Hz) read: anything outside is a damaged header, not audio


class AudioError(DatasetError):
    """An audio file that cannot be read: missing, truncated, not audio; the message names the file."""


def backend() -> str:
    """The decoder in use: ``"soundfile"`` when it is installed, else ``"wave"`` (integer PCM WAV only)."""
    return "soundfile" if importlib.util.find_spec("soundfile") is not None else "wave"


def wav_info(path: str | os.PathLike) -> dict:
    """The ``fmt `` fields of a RIFF/WAVE file (``channels``, ``rate``, ``bits``, ``format``, ``frames``), after
    checking its chunks: an :class:`AudioError` naming the file when it is truncated or not a WAV file.

    A RIFF file is a 12-byte header (``RIFF``, a size, ``WAVE``) and chunks of an 8-byte header (id, size) and
    the size's bytes (padded to even); the ``data`` chunk's size must fit in the file and hold whole frames."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            raise AudioError(f"{path}: not a WAV file (expected a RIFF/WAVE header, found {head[:12]!r})")
        if head[:4] == b"RIFX":
            raise AudioError(f"{path}: a big-endian WAV file (RIFX), which lucidnet does not read")
        fmt, data = None, None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, csize = struct.unpack("<4sI", f.read(8))
            if cid == b"fmt ":
                if csize < 16 or pos + 8 + csize > size:
                    raise AudioError(f"{path}: a 'fmt ' chunk of {csize} bytes (expected at least 16 within the "
                                     f"file's {size} bytes): the file is truncated or damaged")
                fmt = struct.unpack("<HHIIHH", f.read(16))
            elif cid == b"data":
                if pos + 8 + csize > size:
                    raise AudioError(f"{path}: truncated: the data chunk declares {csize} bytes of samples but "
                                     f"only {size - pos - 8} follow")
                data = csize
                if fmt is not None:
                    break
            pos += 8 + csize + (csize & 1)
        if fmt is None or data is None:
            missing = " and ".join(n for n, v in (("'fmt '", fmt), ("'data'", data)) if v is None)
            raise AudioError(f"{path}: no {missing} chunk: the file is truncated or not a WAV file")
    tag, channels, rate, _, align, bits = fmt
    if not 1 <= channels <= MAX_CHANNELS or not RATES[0] <= rate <= RATES[1] or bits < 1 or align < 1:
        raise AudioError(f"{path}: invalid WAV format: {channels} channels, {rate} Hz, {bits} bits, "
                         f"{align}-byte frames (expected 1 to {MAX_CHANNELS} channels at {RATES[0]} to {RATES[1]} Hz)")
    pcm = tag in (1, 3, 0xFFFE)  # integer PCM, IEEE float, extensible: one frame per block
    if pcm and data % align:
        raise AudioError(f"{path}: truncated: {data} bytes of samples are not a whole number of "
                         f"{align}-byte frames")
    return {"channels": channels, "rate": rate, "bits": bits, "format": tag,
            "frames": data // align if pcm else None}


def read_audio(path: str | os.PathLike, sample_rate: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """(float32 samples in [-1, 1], rate) of an audio file: ``(frames,)`` mixed down to mono (the mean of the
    channels), or ``(frames, channels)`` with ``mono=False``; with ``sample_rate``, resampled to it when the
    file's rate differs (:func:`lucidnet.audio.resample`), and that rate returned."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file" if not path.exists() else f"{path}: not a file")
    with open(path, "rb") as f:
        riff = f.read(4) in (b"RIFF", b"RIFX")
    info = wav_info(path) if riff or backend() == "wave" else None
    x, rate = _decode_soundfile(path) if backend() == "soundfile" else _decode_wave(path, info)
    if info is not None and info["frames"] is not None and x.shape[0] != info["frames"]:
        raise AudioError(f"{path}: decoded {x.shape[0]} frames, the header declares {info['frames']}: the file is "
                         "damaged")
    if not np.isfinite(x).all():
        raise AudioError(f"{path}: the samples hold NaN or infinite values")
    if mono:
        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
    if sample_rate is not None and sample_rate != rate:
        x = resample(x, rate, sample_rate, axis=0)
        rate = sample_rate
    return np.ascontiguousarray(x, dtype=np.float32), int(rate)


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf
    try:
        x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, ValueError, EOFError, MemoryError, OverflowError) as e:
        # soundfile.LibsndfileError (a RuntimeError): not audio, or an encoding libsndfile does not know
        raise AudioError(f"{path}: cannot be read as audio ({e})") from None
    if x.shape[1] < 1 or x.shape[1] > MAX_CHANNELS or not RATES[0] <= rate <= RATES[1]:
        raise AudioError(f"{path}: {x.shape[1]} channels at {rate} Hz: not audio lucidnet reads")
    return x, int(rate)


def _decode_wave(path: Path, info: dict) -> tuple[np.ndarray, int]:
    """Integer PCM WAV (8-bit unsigned, 16/24/32-bit signed) with the standard library."""
    if info["format"] not in (1, 0xFFFE) or info["bits"] not in (8, 16, 24, 32):
        raise AudioError(f"{path}: WAV format {info['format']} with {info['bits']}-bit samples needs soundfile: "
                         'pip install "lucidnet[speech]" (without it lucidnet reads integer PCM WAV only)')
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError, struct.error, ValueError) as e:
        raise AudioError(f"{path}: cannot be read as a PCM WAV file ({e})") from None
    if len(raw) != n * channels * width:
        raise AudioError(f"{path}: truncated: {len(raw)} bytes of samples for {n} frames")
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        ints = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        x = (((ints << 8) >> 8).astype(np.float32)) / float(1 << 23)
    else:
        dtype = np.int16 if width == 2 else np.int32
        x = np.frombuffer(raw, dtype).astype(np.float32) / float(1 << (8 * width - 1))
    return x.reshape(-1, channels), rate


def write_wav(path: str | os.PathLike, x: np.ndarray, sample_rate: int) -> None:
    """Write float samples in [-1, 1] (``(frames,)`` or ``(frames, channels)``) as a 16-bit PCM WAV file."""
    x = np.asarray(x, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    ints = np.clip(np.rint(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(ints.tobytes())
