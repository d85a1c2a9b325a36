"""The ``lucidnet`` command: ``train``, ``evaluate``, ``predict``, ``generate``, ``recommend`` and ``report``
(also ``python -m lucidnet``)."""
from __future__ import annotations

import argparse
import sys

from . import evaluate, generate, predict, recommend, report, train

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "generate": generate, "recommend": recommend,
            "report": report}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lucidnet",
        description="lucidnet: train, evaluate and use neural networks written on NumPy.",
        epilog="Run 'lucidnet COMMAND --help' for a command's options.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, mod in COMMANDS.items():
        mod.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (FileNotFoundError, ValueError, KeyError, TypeError, ImportError) as e:
        print(f"lucidnet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lucidnet {args.command}: interrupted", file=sys.stderr)
        return 130
