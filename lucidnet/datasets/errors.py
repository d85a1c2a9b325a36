"""Errors of the dataset readers: they name the file and what is wrong with it."""
from __future__ import annotations

__all__ = ["DatasetError", "DatasetNotFoundError"]


class DatasetError(ValueError):
    """A dataset file is missing, corrupt or inconsistent; the message names the file and the problem."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset's files are not where lucidnet looked; the message lists the places and how to get them."""
