"""Small PyTorch programs in the style of the official examples and tutorials (our own code), each run twice
in subprocesses: once with PyTorch, once with only its imports renamed to lucidnet (``import lucidnet as
torch``). What they print must match within a tolerance (issue 24). Weights start from NumPy draws, so
both runs start from the same point."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

RENAMES = [(r"^import torch$", "import lucidnet as torch"),
           (r"^import torch\.nn as nn$", "import lucidnet.nn as nn"),
           (r"^import torch\.nn\.functional as F$", "import lucidnet.nn.functional as F"),
           (r"^from torch\.(\w+(?:\.\w+)*) import", r"from lucidnet.\1 import"),
           (r"^from torch import", "from lucidnet import")]


def renamed(source: str) -> str:
    """``source`` with only its import lines changed from torch to lucidnet."""
    lines = []
    for line in source.splitlines():
        for pattern, repl in RENAMES:
            line = re.sub(pattern, repl, line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def run(source: str) -> list[float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", r.stdout)]


def same_numbers(program: str, rtol: float = 1e-4, atol: float = 1e-5) -> list[float]:
    program = textwrap.dedent(program)
    theirs, ours = run(program), run(renamed(program))
    assert len(ours) == len(theirs) > 0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, rel=rtol, abs=atol), f"number {i}: lucidnet {a} vs PyTorch {b}"
    return ours


def test_renaming_touches_only_import_lines():
    src = "import torch\nimport torch.nn as nn\nfrom torch.optim import SGD\nx = torch.zeros(2)  # torch\n"
    assert renamed(src) == ("import lucidnet as torch\nimport lucidnet.nn as nn\nfrom lucidnet.optim import SGD\n"
                            "x = torch.zeros(2)  # torch\n")


def test_polynomial_fit_with_tensors_and_autograd_updates_in_place():
    """The tutorial's third-order polynomial fitted to sin(x) with a hand-written update under no_grad():
    the update that used to rebind the names and train nothing (issue 24's silent no-op)."""
    losses = same_numbers("""
        import math
        import torch

        dtype, device = torch.float, torch.device("cpu")
        x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
        y = torch.sin(x)
        a = torch.tensor(0.1, device=device, dtype=dtype, requires_grad=True)
        b = torch.tensor(-0.2, device=device, dtype=dtype, requires_grad=True)
        c = torch.tensor(0.05, device=device, dtype=dtype, requires_grad=True)
        d = torch.tensor(0.3, device=device, dtype=dtype, requires_grad=True)
        learning_rate = 1e-6
        for t in range(600):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum()
            if t % 100 == 99:
                print(f"{t} {loss.item():.4f}")
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
        print(f"{a.item():.5f} {b.item():.5f} {c.item():.5f} {d.item():.5f}")
    """, rtol=1e-3)
    assert losses[-5] < 0.5 * losses[1]               # the loss fell: the parameters really changed


def test_a_module_trained_with_data_updates_devices_and_formatted_losses():
    """A word-language-model-style loop: the model moved to the device, the parameters updated through
    ``p.data.add_(p.grad, alpha=-lr)``, gradients cleared with ``zero_grad``, losses printed with format specs,
    labels converted with ``.long()``."""
    same_numbers("""
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        rng = np.random.default_rng(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(inplace=True), nn.Linear(16, 3)).to(device)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.3).astype(np.float32)))
        x = torch.from_numpy(rng.standard_normal((64, 4)).astype(np.float32)).to(device)
        y = torch.from_numpy((x.numpy()[:, 0] > 0).astype(np.float32) + (x.numpy()[:, 1] > 0)).long()
        lr = 0.5
        for step in range(40):
            model.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            if step % 10 == 0:
                print(f"step {step:3d} loss {loss:.5f}")
        acc = (model(x).argmax(1) == y).float().mean()
        print(f"accuracy {acc.item():.4f} {y.dtype == torch.long}")
    """)


def test_quickstart_with_a_dataset_class_dataloader_and_a_cnn():
    """The quickstart tutorial's loop: a Dataset subclass, DataLoader (batch_size, a sampler, num_workers,
    pin_memory), a CNN, CrossEntropyLoss, SGD with momentum, train/test functions with ``model.train()``,
    ``model.eval()``, ``torch.no_grad()`` and ``(pred.argmax(1) == y).type(torch.float).sum().item()``."""
    same_numbers("""
        import numpy as np
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, Dataset

        rng = np.random.default_rng(0)
        images = rng.standard_normal((96, 1, 8, 8)).astype(np.float32)
        labels = (images[:, 0, :4].mean(axis=(1, 2)) > images[:, 0, 4:].mean(axis=(1, 2))).astype(np.int64)

        class Pictures(Dataset):
            def __init__(self, lo, hi):
                self.lo, self.hi = lo, hi
            def __len__(self):
                return self.hi - self.lo
            def __getitem__(self, i):
                return torch.from_numpy(images[self.lo + i]), int(labels[self.lo + i])

        device = "cuda" if torch.cuda.is_available() else "cpu"
        order = rng.permutation(64).tolist()
        train = DataLoader(Pictures(0, 64), batch_size=16, sampler=order, num_workers=2, pin_memory=True)
        test = DataLoader(Pictures(64, 96), batch_size=16)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3, padding=1)
                self.pool = nn.MaxPool2d(2)
                self.fc = nn.Linear(4 * 4 * 4, 2)
            def forward(self, x):
                x = self.pool(torch.relu(self.conv(x)))
                return self.fc(torch.flatten(x, 1))

        model = Net().to(device)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.3).astype(np.float32)))
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def train_epoch():
            model.train()
            total = 0.0
            for X, y in train:
                X, y = X.to(device), y.to(device)
                loss = loss_fn(model(X), y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                total += loss.item()
            return total / len(train)

        def evaluate():
            model.eval()
            correct, loss = 0.0, 0.0
            with torch.no_grad():
                for X, y in test:
                    pred = model(X)
                    loss += loss_fn(pred, y).item()
                    correct += (pred.argmax(1) == y).type(torch.float).sum().item()
            return loss / len(test), correct / len(test.dataset)

        for epoch in range(3):
            print(f"epoch {epoch} train {train_epoch():.5f} test loss {evaluate()[0]:.5f} acc {evaluate()[1]:.4f}")
    """, rtol=2e-3, atol=1e-4)


def test_saving_and_loading_a_checkpoint_then_training_on():
    """The tutorial's "saving and loading a general checkpoint": ``torch.save({...}, f)`` with the model's and
    optimizer's state dicts, epoch and loss, to a file object and to a path; ``torch.load``; training goes on."""
    same_numbers("""
        import io, os, tempfile
        import numpy as np
        import torch
        import torch.nn as nn

        rng = np.random.default_rng(0)
        x = torch.from_numpy(rng.standard_normal((32, 5)).astype(np.float32))
        y = torch.from_numpy(rng.standard_normal((32, 1)).astype(np.float32))

        def build():
            model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.5).astype(np.float32)))
            return model, torch.optim.Adam(model.parameters(), lr=0.01)

        def train(model, opt, steps):
            for _ in range(steps):
                opt.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                opt.step()
            return loss

        model, opt = build()
        loss = train(model, opt, 5)
        buf = io.BytesIO()
        torch.save({"epoch": 5, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": opt.state_dict(), "loss": loss.item()}, buf)
        with tempfile.TemporaryDirectory() as d:
            torch.save(model.state_dict(), os.path.join(d, "weights.pt"))
            weights = torch.load(os.path.join(d, "weights.pt"), weights_only=True)
        buf.seek(0)
        ckpt = torch.load(buf, weights_only=True)
        model2, opt2 = build()
        model2.load_state_dict(ckpt["model_state_dict"])
        opt2.load_state_dict(ckpt["optimizer_state_dict"])
        print(f"{ckpt['epoch']}.0 {ckpt['loss']:.6f} {float(weights['0.weight'].sum()):.6f}")
        print(f"{train(model, opt, 5).item():.6f} {train(model2, opt2, 5).item():.6f}")
    """)
