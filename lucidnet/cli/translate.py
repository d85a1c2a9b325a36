"""``lucidnet translate RUN_DIR "Ein Mann fährt Fahrrad."``: sentences translated by a model trained with
``lucidnet train --dataset multi30k`` (several sentences as arguments, one per line of ``--file``, or of
standard input when neither is given), one translation per line in the same order."""
from __future__ import annotations

import sys
from pathlib import Path

from ..text.recipes import translate_texts


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="translate sentences with a trained translation model",
                       description="Translate sentences with a run directory written by 'lucidnet train --dataset "
                                   "multi30k': the SENTENCE arguments, else the lines of --file, else the lines of "
                                   "standard input; one translation per line.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("sentences", nargs="*", metavar="SENTENCE")
    p.add_argument("--file", metavar="FILE", default=None, help="a UTF-8 text file, one sentence per line")
    p.add_argument("--beam", type=int, default=None, help="beam width (default: the run's; 1 = greedy search)")
    p.set_defaults(run=run)


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"--file {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def run(args) -> int:
    if args.beam is not None and args.beam < 1:
        raise ValueError(f"--beam must be a positive int, got {args.beam}")
    if args.sentences and args.file:
        raise ValueError("give sentences as arguments or --file, not both")
    lines = args.sentences or (_read(args.file) if args.file else sys.stdin.read().splitlines())
    blank = [i + 1 for i, s in enumerate(lines) if not s.strip()]
    if blank:
        where = f"line {blank[0]}" if not args.sentences else f"sentence {blank[0]}"
        raise ValueError(f"{where} is blank: every line to translate needs text")
    if not lines:
        raise ValueError("nothing to translate: give sentences, --file FILE, or lines on standard input")
    for out in translate_texts(args.run_dir, lines, args.beam):
        print(out)
    return 0
