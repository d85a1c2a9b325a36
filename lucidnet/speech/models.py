"""The speech models: ``speech_cnn``, a CNN classifier of log-mel spectrograms (isolated words), and ``crnn_ctc``,
a convolutional front end, a bidirectional recurrent layer and per-frame class scores for CTC (word strings)."""
from __future__ import annotations

from typing import Sequence

from .. import nn
from ..models.registry import register
from ..tensor import Tensor

__all__ = ["SpeechCNN", "CRNN"]


def _block(cin: int, cout: int, pool: tuple[int, int] | None) -> list[nn.Module]:
    """conv3x3 (no bias) - batch norm - ReLU - max-pool ``pool`` (None: no pooling)."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return layers + ([nn.MaxPool2d(pool)] if pool else [])


def _check(who: str, x: Tensor, n_mels: int) -> None:
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != n_mels:
        raise ValueError(f"{who}: expected log-mel spectrograms of shape (N, 1, {n_mels}, frames), got shape "
                         f"{tuple(x.shape)}")


@register("speech_cnn")
class SpeechCNN(nn.Module):
    """(N, 1, n_mels, frames) log-mels -> (N, num_classes) logits: conv3x3-BN-ReLU stages of ``channels`` (each
    but the last followed by a 2x2 max-pool), an average over time (any number of frames), the channels of every
    remaining band flattened (which bands are active is what tells sounds apart), dropout and a linear layer.

    >>> import lucidnet as ln
    >>> SpeechCNN(n_mels=40, num_classes=10)(ln.randn(2, 1, 40, 63)).shape
    (2, 10)
    """

    def __init__(self, n_mels: int = 40, num_classes: int = 10, channels: Sequence[int] = (16, 32, 64, 64),
                 dropout: float = 0.3):
        super().__init__()
        if not channels or n_mels < 2 ** (len(channels) - 1):
            raise ValueError(f"SpeechCNN: {len(channels)} stages halve {n_mels} mel bands too often")
        self.n_mels = int(n_mels)
        self.config = {"n_mels": int(n_mels), "num_classes": int(num_classes), "channels": [int(c) for c in channels],
                       "dropout": float(dropout)}
        layers: list[nn.Module] = []
        cin = 1
        for i, c in enumerate(channels):
            layers += _block(cin, int(c), (2, 2) if i < len(channels) - 1 else None)
            cin = int(c)
        self.features = nn.Sequential(*layers)
        bands = int(n_mels) // 2 ** (len(channels) - 1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin * bands, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check("SpeechCNN", x, self.n_mels)
        return self.classifier(self.features(x).mean(-1))   # (N, C, bands, frames) -> (N, C, bands) -> logits


@register("crnn_ctc")
class CRNN(nn.Module):
    """(N, 1, n_mels, frames) log-mels -> (frames // 2, N, num_classes) per-frame logits (CTC's (T, N, C) layout;
    class 0 is the blank): a convolutional front end over time with the mel bands as channels (conv1d of
    ``kernel`` frames - BN - ReLU per entry of ``channels``, the first with stride 2), a bidirectional ``rnn``
    ("gru" or "lstm") of ``hidden`` units per direction (``num_layers`` deep), dropout and a linear layer.

    >>> import lucidnet as ln
    >>> CRNN(n_mels=40, num_classes=11, hidden=32)(ln.randn(2, 1, 40, 50)).shape
    (25, 2, 11)
    """

    def __init__(self, n_mels: int = 40, num_classes: int = 11, channels: Sequence[int] = (128, 128),
                 kernel: int = 5, hidden: int = 128, rnn: str = "gru", num_layers: int = 1, dropout: float = 0.2):
        super().__init__()
        if rnn not in ("gru", "lstm"):
            raise ValueError(f"CRNN: rnn must be 'gru' or 'lstm', got {rnn!r}")
        if not channels or kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"CRNN: need at least one conv stage and an odd kernel, got {list(channels)}, {kernel}")
        self.n_mels = int(n_mels)
        self.config = {"n_mels": int(n_mels), "num_classes": int(num_classes), "channels": [int(c) for c in channels],
                       "kernel": int(kernel), "hidden": int(hidden), "rnn": rnn, "num_layers": int(num_layers),
                       "dropout": float(dropout)}
        layers: list[nn.Module] = []
        cin = int(n_mels)
        for i, c in enumerate(channels):
            layers += [nn.Conv1d(cin, int(c), kernel, stride=2 if i == 0 else 1, padding=kernel // 2, bias=False),
                       nn.BatchNorm1d(int(c)), nn.ReLU()]
            cin = int(c)
        self.features = nn.Sequential(*layers)
        cls = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = cls(cin, hidden, num_layers=num_layers, bidirectional=True,
                       dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        _check("CRNN", x, self.n_mels)
        f = self.features(x.reshape(x.shape[0], x.shape[2], x.shape[3]))   # (N, C, T // 2)
        h, _ = self.rnn(f.permute(2, 0, 1))                                 # (T // 2, N, 2 * hidden)
        return self.out(self.drop(h))                                       # (T // 2, N, classes)

    @staticmethod
    def output_frames(frames: int) -> int:
        """How many output frames an input of ``frames`` frames gives (a stride-2 conv, padded)."""
        return (frames + 1) // 2
