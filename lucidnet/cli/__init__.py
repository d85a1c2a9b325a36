"""The ``lucidnet`` command: ``train``, ``evaluate``, ``predict``, ``generate``, ``translate``, ``recommend``,
``transcribe``, ``report``, ``export``, ``quantize``, ``prune`` and ``detect`` (also ``python -m lucidnet``)."""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from .. import __version__
from . import (detect, evaluate, export, generate, predict, prune, quantize, recommend, report, train, transcribe,
               translate)

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "generate": generate, "translate": translate,
            "recommend": recommend, "transcribe": transcribe, "report": report, "export": export,
            "quantize": quantize, "prune": prune, "detect": detect}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lucidnet",
        description="lucidnet: train, evaluate and use neural networks written on NumPy.",
        epilog="Run 'lucidnet COMMAND --help' for a command's options.")
    p.add_argument("--version", action="version", version=f"lucidnet {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, mod in COMMANDS.items():
        mod.add_parser(sub)
    return p


class _PipeSafe:
    """Standard output that survives its reader going away (``lucidnet train | head -2``): once the pipe is
    closed, further output goes to /dev/null and the work goes on."""

    def __init__(self, stream):
        self._stream = stream

    def _closed(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._closed()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as a user reads them: what happened, not the library's file and line."""
    print(f"lucidnet: warning: {message}", file=sys.stderr if file is None else file)


def _failed(code: int) -> int:
    """``code``, or in a data-parallel job (``mpiexec``) the end of the whole job: one rank's error would
    otherwise leave the others waiting for it."""
    from .. import distributed
    if distributed.is_initialized() and distributed.get_world_size() > 1:
        print(f"lucidnet.distributed: rank {distributed.get_rank()} of {distributed.get_world_size()} failed; "
              "aborting the job", file=sys.stderr)
        distributed.abort(code)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what ran, for a command that re-runs itself
    show_warning, warnings.showwarning = warnings.showwarning, _show_warning
    stdout = sys.stdout
    if not isinstance(stdout, _PipeSafe) and hasattr(stdout, "fileno"):
        try:
            stdout.fileno()
            sys.stdout = _PipeSafe(stdout)
        except (OSError, ValueError):  # no real file behind it (captured in tests): nothing to guard
            pass
    try:
        return int(args.run(args) or 0)
    except (OSError, ValueError, KeyError, TypeError, ImportError) as e:  # OSError: a missing file, a full disk
        print(f"lucidnet {args.command}: error: {e}", file=sys.stderr)
        return _failed(2)
    except KeyboardInterrupt:
        print(f"lucidnet {args.command}: interrupted", file=sys.stderr)
        return _failed(130)
    finally:
        sys.stdout, warnings.showwarning = stdout, show_warning
