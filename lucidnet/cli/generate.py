"""``lucidnet generate RUN_DIR --prompt "ROMEO:" --length 500 --temperature 0.8 --top-k 40``: text sampled from a
character language model trained by ``lucidnet train --dataset tinyshakespeare``."""
from __future__ import annotations

from pathlib import Path

from ..random import manual_seed
from ..serialization.atomic import atomic_write
from ..text.generate import generate
from ..text.recipes import load_text_run


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="write text with a trained language model",
                       description="Sample text from a run directory written by 'lucidnet train --dataset "
                                   "tinyshakespeare': the prompt, then --length characters drawn one at a time "
                                   "(temperature below 1: safer choices; --top-k: only the k likeliest).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--prompt", default="\n", help="text to start from (default: a newline)")
    p.add_argument("--length", type=int, default=500, help="characters to generate")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: always the likeliest)")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest characters only")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: a different sample each time)")
    p.add_argument("--out", metavar="FILE", default=None, help="also write the text to FILE")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.length < 0:
        raise ValueError(f"--length must be >= 0, got {args.length}")
    if args.top_k is not None and args.top_k < 1:
        raise ValueError(f"--top-k must be positive, got {args.top_k}")
    model, _, vocab = load_text_run(args.run_dir, "language-model")
    if args.seed is not None:
        manual_seed(args.seed)
    text = generate(model, vocab, args.prompt, args.length, args.temperature, args.top_k)
    print(text)
    if args.out:
        atomic_write(Path(args.out), [text.encode("utf-8")])
    return 0
