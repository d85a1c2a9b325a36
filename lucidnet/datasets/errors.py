"""Errors of the dataset readers: they name the file and what is wrong with it."""
from __future__ import annotations

__all__ = ["DatasetError", "DatasetNotFoundError", "not_found"]


class DatasetError(ValueError):
    """A dataset file is missing, corrupt or inconsistent; the message names the file and the problem."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset's files are not where lucidnet looked; the message lists the places and how to get them."""


def not_found(who: str, files, candidates, how: str) -> DatasetNotFoundError:
    """The error for ``files`` missing from every ``(directory, note)`` candidate; ``how`` says how to get them."""
    lines = [f"{who}: the data was not found. Looked for {', '.join(files)} in:"]
    for path, note in candidates:
        why = ("a file, not a directory" if path.is_file() else "directory does not exist" if not path.is_dir()
               else "missing " + ", ".join(f for f in files if not (path / f).is_file()))
        lines.append(f"  {path}  ({note}): {why}")
    lines.append(f"To get it: {how}")
    return DatasetNotFoundError("\n".join(lines))
