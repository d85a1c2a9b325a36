"""Speech: spoken-digit recognition on FSDD, isolated (a CNN classifier of log-mels) and connected (a CRNN trained
with CTC), as recipes (``lucidnet train --dataset fsdd --model cnn|crnn-ctc``), with their evaluation and
``transcribe`` for audio files. ``data`` reads the splits and builds features and connected-digit utterances,
``models`` holds the networks, ``scoring`` the digit error rate."""
from .recipes import RECIPES, evaluate, transcribe

__all__ = ["RECIPES", "evaluate", "transcribe"]
