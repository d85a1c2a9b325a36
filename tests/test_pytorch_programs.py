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
           (r"^import torch\.([\w.]+)$", r"import lucidnet.\1"),
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
    src = ("import torch\nimport torch.nn as nn\nimport torch.nn.parallel\nfrom torch.optim import SGD\n"
           "x = torch.zeros(2)  # torch\n")
    assert renamed(src) == ("import lucidnet as torch\nimport lucidnet.nn as nn\nimport lucidnet.nn.parallel\n"
                            "from lucidnet.optim import SGD\nx = torch.zeros(2)  # torch\n")


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


def test_a_new_autograd_function_fits_a_legendre_polynomial():
    """The tutorial on defining new autograd functions: a static-method Function (``ctx.save_for_backward``)
    inside a hand-written training loop."""
    same_numbers("""
        import math
        import torch

        class LegendrePolynomial3(torch.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return 0.5 * (5 * input ** 3 - 3 * input)

            @staticmethod
            def backward(ctx, grad_output):
                input, = ctx.saved_tensors
                return grad_output * 1.5 * (5 * input ** 2 - 1)

        x = torch.linspace(-math.pi, math.pi, 2000)
        y = torch.sin(x)
        a = torch.full((), 0.0, requires_grad=True)
        b = torch.full((), -1.0, requires_grad=True)
        c = torch.full((), 0.0, requires_grad=True)
        d = torch.full((), 0.3, requires_grad=True)
        learning_rate = 5e-6
        for t in range(500):
            P3 = LegendrePolynomial3.apply
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            if t % 100 == 99:
                print(f"{t} {loss.item():.4f}")
            loss.backward()
            with torch.no_grad():
                for p in (a, b, c, d):
                    p -= learning_rate * p.grad
                    p.grad = None
        print(f"{a.item():.5f} {b.item():.5f} {c.item():.5f} {d.item():.5f}")
    """, rtol=1e-3)


def test_a_tiny_causal_language_model():
    """A small GPT-style fragment: token and position embeddings, a causal mask from ``tril`` and
    ``masked_fill``, attention written with ``@`` and ``transpose``, AdamW, and greedy decoding with ``topk``
    and ``torch.cat``."""
    same_numbers("""
        import numpy as np
        import torch
        import torch.nn as nn
        from torch.nn import functional as F

        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        text = "hello world, hello lucid networks. " * 8
        chars = sorted(set(text))
        stoi = {ch: i for i, ch in enumerate(chars)}
        data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
        V, T, C = len(chars), 8, 16

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.key, self.query, self.value = (nn.Linear(C, C, bias=False) for _ in range(3))
                self.register_buffer("tril", torch.tril(torch.ones(T, T)))
            def forward(self, x):
                B, L, _ = x.shape
                k, q, v = self.key(x), self.query(x), self.value(x)
                wei = q @ k.transpose(-2, -1) * C ** -0.5
                wei = wei.masked_fill(self.tril[:L, :L] == 0, float("-inf"))
                return F.softmax(wei, dim=-1) @ v

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.tok = nn.Embedding(V, C)
                self.pos = nn.Embedding(T, C)
                self.head = Head()
                self.ln = nn.LayerNorm(C)
                self.out = nn.Linear(C, V)
            def forward(self, idx):
                x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
                return self.out(self.ln(x + self.head(x)))

        model = Model()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if not name.endswith("tril"):
                    p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.2).astype(np.float32)))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        starts = rng.integers(0, len(data) - T - 1, (20, 16))
        for step, ix in enumerate(starts):
            xb = torch.stack([data[i:i + T] for i in ix.tolist()])
            yb = torch.stack([data[i + 1:i + T + 1] for i in ix.tolist()])
            loss = F.cross_entropy(model(xb).view(-1, V), yb.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 5 == 4:
                print(f"step {step} loss {loss.item():.5f}")
        idx = data[:4].unsqueeze(0)
        with torch.no_grad():
            for _ in range(6):
                logits = model(idx[:, -T:])[:, -1, :]
                idx = torch.cat((idx, logits.topk(1, dim=-1).indices), dim=1)
        print(" ".join(f"{float(i):.1f}" for i in idx[0].tolist()))
    """, rtol=2e-3, atol=2e-4)


def test_super_resolution_with_pixel_shuffle_adadelta_lbfgs_and_the_in_place_errors():
    """The super-resolution example's sub-pixel network (``nn.PixelShuffle``) trained with Adadelta then
    LBFGS (``step(closure)``), and the errors PyTorch raises for unsafe in-place use: on a leaf that
    requires grad, and on an array saved for backward (an optimizer step between forward and backward)."""
    same_numbers("""
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.parallel

        rng = np.random.default_rng(0)
        low = torch.from_numpy(rng.standard_normal((4, 1, 6, 6)).astype(np.float32))
        high = torch.from_numpy(rng.standard_normal((4, 1, 12, 12)).astype(np.float32))
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, 4, 3, padding=1),
                              nn.PixelShuffle(2))
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.2).astype(np.float32)))
        net = nn.DataParallel(model)
        criterion = nn.MSELoss()
        opt = torch.optim.Adadelta(net.parameters(), lr=0.5)
        for step in range(5):
            opt.zero_grad()
            loss = criterion(net(low), high)
            loss.backward()
            opt.step()
            print(f"adadelta {loss.item():.6f}")
        lbfgs = torch.optim.LBFGS(net.parameters(), lr=0.5, max_iter=5)
        def closure():
            lbfgs.zero_grad()
            loss = criterion(net(low), high)
            loss.backward()
            return loss
        for step in range(2):
            print(f"lbfgs {lbfgs.step(closure).item():.6f}")
        w = model[0].weight
        try:
            w += 1.0
        except RuntimeError:
            print("1.0")
        loss = criterion(model(low), high)
        opt.step()
        try:
            loss.backward()
        except RuntimeError as e:
            print("2.0" if "modified by an inplace operation" in str(e).replace("in-place", "inplace") else "0.0")
    """, rtol=2e-3, atol=1e-5)
