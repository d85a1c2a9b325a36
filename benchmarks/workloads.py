#!/usr/bin/env python3
"""lucidnet's side of the reference workloads of ../shared/bench/torch_anchor.py (same shapes, same optimizer).

Run one workload per process (never beside torch: two thread pools fight for the cores):
    python benchmarks/workloads.py WORKLOAD [--batch B] [--seconds S] [--capture]
``--capture``: the mlp, cnn, mf and ncf steps run their forward, loss and backward through ``lucidnet.compile``
(recorded twice, replayed after; the optimizer's step stays eager).
Prints one line:  WORKLOAD batch=B steps_per_s=... samples_per_s=... lucidnet=... blas=...
"""
from __future__ import annotations

import argparse

import numpy as np

import lucidnet as ln
from timing import steps_per_second
from lucidnet import nn, optim
from lucidnet.nn import functional as F

CAPTURE = False  # --capture: the forward + loss of the mlp, cnn, mf and ncf steps through ln.compile


def _loss_fn(model, loss):
    """``f(*inputs, target) -> loss(model(*inputs), target)``, captured with ``--capture``."""
    def f(*args):
        return loss(model(*args[:-1]), args[-1])
    return ln.compile(f, modules=model) if CAPTURE else f


def mlp(batch: int):
    m = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    return _classifier(m, optim.SGD(m.parameters(), lr=0.01), (batch, 784))


def _classifier(m, opt, x_shape: tuple, classes: int = 10):
    """A training step of classifier ``m`` on one fixed random batch, cross-entropy loss."""
    rng = np.random.default_rng(0)
    x = ln.tensor(rng.standard_normal(x_shape, dtype=np.float32))
    y = ln.tensor(rng.integers(0, classes, x_shape[0]))
    f = _loss_fn(m, F.cross_entropy)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = f(x, y)
        loss.backward()
        opt.step()
    return step


def cnn_model() -> nn.Module:
    """conv3x3(1->32)-ReLU-maxpool2, conv3x3(32->64)-ReLU-maxpool2, linear(3136->128)-ReLU-linear(10)."""
    from lucidnet.nn.conv import Conv2d
    from lucidnet.nn.pooling import MaxPool2d
    return nn.Sequential(Conv2d(1, 32, 3, padding=1), nn.ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                         MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn(batch: int, model: nn.Module | None = None):
    """``cnn_model()`` (or ``model``, the same network wrapped), SGD momentum, batch of (batch, 1, 28, 28)."""
    m = cnn_model() if model is None else model
    return _classifier(m, optim.SGD(m.parameters(), lr=0.01, momentum=0.9), (batch, 1, 28, 28))


def _recsys(model, loss, batch: int, target):
    """A training step of a recommender on random (user, item) pairs of MovieLens-100K's sizes, Adam(lr=1e-3)."""
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    u, i = ln.tensor(rng.integers(0, 943, batch)), ln.tensor(rng.integers(0, 1682, batch))
    t = ln.tensor(target(rng, batch).astype(np.float32))
    f = _loss_fn(model, loss)

    def step():
        opt.zero_grad(set_to_none=True)
        f(u, i, t).backward()
        opt.step()
    return step


def mf(batch: int):
    """Biased MF, 943 users x 1682 items, dim 64, MSE on ratings 1..5."""
    from lucidnet.recsys import BiasedMF
    return _recsys(BiasedMF(943, 1682, dim=64), F.mse_loss, batch, lambda rng, n: rng.integers(1, 6, n))


def ncf(batch: int):
    """NeuMF (GMF 32 + MLP 64-32-16 on 32-dim embeddings), BCE with logits on 0/1 labels."""
    from lucidnet.recsys import NeuMF
    return _recsys(NeuMF(943, 1682, gmf_dim=32, mlp_dim=32, layers=(64, 32, 16)), F.binary_cross_entropy_with_logits,
                   batch, lambda rng, n: rng.integers(0, 2, n))


def lstm(batch: int):
    """Char LM: vocab 65, embedding 64, 1-layer LSTM 256 (batch first), seq 64, linear to 65, cross-entropy over
    all steps, Adam(lr=2e-3)."""
    class CharLSTM(nn.Module):
        def __init__(self, vocab: int = 65):
            super().__init__()
            self.e, self.l, self.o = nn.Embedding(vocab, 64), nn.LSTM(64, 256, batch_first=True), nn.Linear(256, vocab)

        def forward(self, x):
            return self.o(self.l(self.e(x))[0])

    m = CharLSTM()
    opt = optim.Adam(m.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    x, y = ln.tensor(rng.integers(0, 65, (batch, 64))), ln.tensor(rng.integers(0, 65, (batch, 64)))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x).reshape(-1, 65), y.reshape(-1))
        loss.backward()
        opt.step()
    return step


class Bert(nn.Module):
    """MiniLM-L6-sized BERT encoder (post-LN, GELU): vocab 30522, positions 512, 6 layers, d 384, 12 heads, FFN
    1536, LayerNorm eps 1e-12; mean-pooled over the tokens, linear to 2 (torch_anchor.py's ``Bert``)."""

    def __init__(self, vocab: int = 30522, d: int = 384, layers: int = 6, heads: int = 12, ffn: int = 1536,
                 positions: int = 512):
        super().__init__()
        self.tok, self.pos, self.typ = nn.Embedding(vocab, d), nn.Embedding(positions, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.1, activation="gelu", batch_first=True,
                                           layer_norm_eps=1e-12)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, 2)

    def forward(self, x):
        pos = ln.arange(x.shape[1]).unsqueeze(0)
        h = self.ln(self.tok(x) + self.pos(pos) + self.typ(ln.zeros_like(x)))
        return self.head(self.enc(h).mean(1))


def _bert_batch(batch: int):
    rng = np.random.default_rng(0)
    return ln.tensor(rng.integers(0, 30522, (batch, 32))), ln.tensor(rng.integers(0, 2, batch))


def bert(batch: int):
    """A fine-tuning step of ``Bert`` on batch x 32 tokens, cross-entropy, AdamW(lr=2e-5)."""
    m = Bert()
    x, y = _bert_batch(batch)
    return _step(m, optim.AdamW(m.parameters(), lr=2e-5), lambda: F.cross_entropy(m(x), y))


def bert_infer(batch: int):
    """``Bert`` forward only, eval mode, no graph, batch x 32 tokens."""
    m = Bert().eval()
    x, _ = _bert_batch(batch)

    def step():
        with ln.no_grad():
            m(x)
    return step


class Seq2Seq(nn.Module):
    """nn.Transformer d 256, 8 heads, 3+3 layers, FFN 512, ReLU, post-LN, batch first; source and target vocab
    8000 with learned positions; causal target mask (torch_anchor.py's ``Seq2Seq``)."""

    def __init__(self, vocab: int = 8000, d: int = 256, positions: int = 128):
        super().__init__()
        self.se, self.te = nn.Embedding(vocab, d), nn.Embedding(vocab, d)
        self.sp, self.tp = nn.Embedding(positions, d), nn.Embedding(positions, d)
        self.t = nn.Transformer(d, 8, 3, 3, 512, dropout=0.1, batch_first=True)
        self.o = nn.Linear(d, vocab)

    def forward(self, src, tgt):
        ps, pt = ln.arange(src.shape[1]).unsqueeze(0), ln.arange(tgt.shape[1]).unsqueeze(0)
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        return self.o(self.t(self.se(src) + self.sp(ps), self.te(tgt) + self.tp(pt), tgt_mask=mask))


def seq2seq(batch: int):
    """A translation step: source 24 and target 24 (+1 shifted) tokens, cross-entropy, Adam(lr=5e-4)."""
    m = Seq2Seq()
    rng = np.random.default_rng(0)
    src, tgt = ln.tensor(rng.integers(0, 8000, (batch, 24))), rng.integers(0, 8000, (batch, 25))
    tin, tout = ln.tensor(tgt[:, :-1]), ln.tensor(tgt[:, 1:].reshape(-1))
    return _step(m, optim.Adam(m.parameters(), lr=5e-4),
                 lambda: F.cross_entropy(m(src, tin).reshape(-1, 8000), tout))


def _step(m, opt, loss_fn):
    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()
    return step


def mobilenet(batch: int):
    """torchvision's MobileNetV2 (width 1.0, ReLU6, batch norm), 1000 classes, batch x 3x224x224, training mode,
    cross-entropy, SGD(lr=0.01, momentum=0.9)."""
    from lucidnet.vision.models import mobilenet_v2
    m = mobilenet_v2()
    return _classifier(m, optim.SGD(m.parameters(), lr=0.01, momentum=0.9), (batch, 3, 224, 224), classes=1000)


def mobilenet_infer(batch: int):
    """The same network in eval mode, forward only under no_grad."""
    from lucidnet.vision.models import mobilenet_v2
    m = mobilenet_v2().eval()
    x = ln.tensor(np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32))

    def step():
        with ln.no_grad():
            m(x)
    return step


class CRNN(nn.Module):
    """Speech CRNN (torch_anchor.py's ``CRNN``): log-mels (B, 1, 40, T) -> conv3x3(1->32, stride (2, 1))-BN-ReLU,
    conv3x3(32->32, stride (2, 1))-BN-ReLU -> 32*10 features per frame -> 2-layer bidirectional GRU 128 -> linear
    to 11 (10 digits + blank) -> log-probabilities (T, B, 11)."""

    def __init__(self):
        super().__init__()
        self.c = nn.Sequential(nn.Conv2d(1, 32, 3, (2, 1), 1), nn.BatchNorm2d(32), nn.ReLU(),
                               nn.Conv2d(32, 32, 3, (2, 1), 1), nn.BatchNorm2d(32), nn.ReLU())
        self.g = nn.GRU(32 * 10, 128, 2, batch_first=True, bidirectional=True)
        self.o = nn.Linear(256, 11)

    def forward(self, x):
        h = self.c(x)
        b, c, f, t = h.shape
        return self.o(self.g(h.permute(0, 3, 1, 2).reshape(b, t, c * f))[0]).log_softmax(-1).transpose(0, 1)


def ctc(batch: int):
    """A ``CRNN`` step on batch x 40 log-mels x 120 frames, CTC loss against 4-digit targets, Adam(lr=1e-3)."""
    m = CRNN()
    rng = np.random.default_rng(0)
    x = ln.tensor(rng.standard_normal((batch, 1, 40, 120), dtype=np.float32))
    tg = ln.tensor(rng.integers(1, 11, (batch, 4)))
    il, tl = ln.full((batch,), 120, dtype=ln.int64), ln.full((batch,), 4, dtype=ln.int64)
    return _step(m, optim.Adam(m.parameters(), lr=1e-3), lambda: F.ctc_loss(m(x), tg, il, tl, blank=0))


WORKLOADS = {"mlp": (mlp, 128), "cnn": (cnn, 128), "mf": (mf, 1024), "ncf": (ncf, 1024), "lstm": (lstm, 32),
             "bert": (bert, 32), "bert-infer": (bert_infer, 32), "seq2seq": (seq2seq, 64),
             "mobilenet": (mobilenet, 8), "mobilenet-infer": (mobilenet_infer, 8), "ctc": (ctc, 32)}


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return ",".join(f"{i.get('internal_api')}:{i.get('architecture')}:{i.get('num_threads')}" for i in info)
    except ImportError:
        return "unknown"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--capture", action="store_true", help="mlp, cnn, mf, ncf: forward + loss through ln.compile")
    a = p.parse_args()
    if a.capture and a.workload not in ("mlp", "cnn", "mf", "ncf"):
        p.error(f"--capture applies to mlp, cnn, mf and ncf, not {a.workload}")
    global CAPTURE
    CAPTURE = a.capture
    make, default_batch = WORKLOADS[a.workload]
    batch = a.batch or default_batch
    ln.manual_seed(0)
    r = steps_per_second(make(batch), a.seconds)
    print(f"{a.workload} batch={batch} steps_per_s={r:.1f} samples_per_s={r * batch:.0f} "
          f"lucidnet={ln.__version__} blas={blas_info()}" + (" capture=on" if a.capture else ""))


if __name__ == "__main__":
    main()
