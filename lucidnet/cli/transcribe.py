"""``lucidnet transcribe RUN_DIR FILE.wav ...``: the digits spoken in audio files, with a speech run (``lucidnet
train --dataset fsdd``): a ``crnn-ctc`` run prints the digit string of each file, a ``cnn`` run the digit and its
most probable classes with their probabilities."""
from __future__ import annotations

from ..speech.recipes import transcribe


def add_parser(sub) -> None:
    p = sub.add_parser("transcribe", help="the digits spoken in audio files, with a speech run",
                       description="Transcribe audio files (WAV; FLAC, OGG and others with soundfile) with a run of "
                                   "'lucidnet train --dataset fsdd': each file is read at the run's sample rate "
                                   "(resampled if it differs, mixed down to mono). A crnn-ctc run prints the digit "
                                   "string; a cnn run (one digit per file) the digit and its top classes.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("files", metavar="FILE", nargs="+", help="audio files")
    p.add_argument("-k", "--top", type=int, default=3, help="a cnn run: how many classes to print (default: 3)")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.top < 1:
        raise ValueError(f"--top must be positive, got {args.top}")
    for r in transcribe(args.run_dir, args.files, top=args.top):
        line = f"{r['path']}: {r['digits'] or '(nothing)'}"
        if "top" in r:
            line += "   (" + ", ".join(f"{c} {p:.3f}" for c, p in r["top"]) + ")"
        print(line)
    return 0
