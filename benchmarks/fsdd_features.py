#!/usr/bin/env python3
"""Feature extraction of all 3,000 FSDD recordings, one command:

    LUCIDNET_DATA=../shared/data python benchmarks/fsdd_features.py [--rounds 3]

Each measurement is a process of its own, the sides interleaved round by round:
  read       lucidnet.audio.read_audio of every file (soundfile), no features
  lucidnet   read + the speech recipes' features (lucidnet.speech.data.log_mels: 40 log-mels of 32 ms windows
             every 16 ms over a 1 s window), and MFCCs (13) with deltas and delta-deltas of the whole recordings
  librosa    read (soundfile) + the same log-mels and MFCC + deltas with librosa, one file at a time

Prints the median seconds per side and the load average (the machine is shared: the figures are noisy).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import os, sys, time
from pathlib import Path
import numpy as np
side = sys.argv[1]
files = sorted((Path(os.environ.get("LUCIDNET_DATA", "")) / "fsdd" / "recordings").glob("*.wav"))
t0 = time.perf_counter()
if side == "librosa":
    import librosa, soundfile
    for f in files:
        y, sr = soundfile.read(f, dtype="float32")
        n = 8000
        y1 = np.zeros(n, np.float32)
        if len(y) <= n:
            y1[(n - len(y)) // 2:(n - len(y)) // 2 + len(y)] = y
        else:
            y1 = y[:n]
        s = librosa.power_to_db(librosa.feature.melspectrogram(y=y1, sr=sr, n_fft=256, hop_length=128, n_mels=40,
                                                                fmax=4000))
        m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, n_fft=256, hop_length=128, n_mels=40, fmax=4000)
        if m.shape[1] >= 9:
            np.concatenate([m, librosa.feature.delta(m), librosa.feature.delta(m, order=2)])
else:
    from lucidnet.audio import read_audio, mfcc, with_deltas
    from lucidnet.speech.data import log_mels
    waves = [read_audio(f)[0] for f in files]
    if side == "lucidnet":
        log_mels(waves)
        for y in waves:
            m = mfcc(y, 8000, n_mfcc=13, n_fft=256, hop_length=128, n_mels=40, fmax=4000)
            if m.shape[1] >= 9:
                with_deltas(m)
print(time.perf_counter() - t0)
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sides = ["read", "lucidnet", "librosa"]
    times: dict[str, list[float]] = {s: [] for s in sides}
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for side in sides:
            out = subprocess.run([sys.executable, "-c", CHILD, side], env=env, check=True, capture_output=True,
                                 text=True).stdout
            times[side].append(float(out.strip().splitlines()[-1]))
    print(f"FSDD, 3,000 files, median of {args.rounds} rounds (load average {load:.1f} -> {os.getloadavg()[0]:.1f}):")
    for side in sides:
        print(f"  {side:9s} {statistics.median(times[side]):7.2f} s   {[round(t, 2) for t in times[side]]}")


if __name__ == "__main__":
    main()
