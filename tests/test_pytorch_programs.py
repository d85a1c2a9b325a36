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
           (r"^import torch\.([\w.]+)( as \w+)?$", r"import lucidnet.\1\2"),
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


def test_what_is_torch_nn_really_from_scratch():
    """"What is torch.nn really?", its first part: weights made by hand (``requires_grad_()``), log-softmax
    and negative log-likelihood written with tensor ops and fancy indexing, updates under ``no_grad()`` with
    ``-=`` and ``grad.zero_()``, accuracy from ``argmax``."""
    same_numbers("""
        import math
        import numpy as np
        import torch

        rng = np.random.default_rng(0)
        x_train = torch.tensor(rng.standard_normal((256, 20)).astype(np.float32))
        y_train = torch.tensor((x_train.numpy()[:, :3].sum(1) > 0).astype(np.int64) + (x_train.numpy()[:, 3] > 1))
        weights = torch.tensor(rng.standard_normal((20, 3)).astype(np.float32)) / math.sqrt(20)
        weights.requires_grad_()
        bias = torch.zeros(3, requires_grad=True)

        def log_softmax(x):
            return x - x.exp().sum(-1).log().unsqueeze(-1)

        def model(xb):
            return log_softmax(xb @ weights + bias)

        def nll(input, target):
            return -input[range(target.shape[0]), target].mean()

        def accuracy(out, yb):
            return (torch.argmax(out, dim=1) == yb).float().mean()

        lr, bs = 0.5, 64
        for epoch in range(4):
            for i in range((len(x_train) - 1) // bs + 1):
                xb, yb = x_train[i * bs:(i + 1) * bs], y_train[i * bs:(i + 1) * bs]
                loss = nll(model(xb), yb)
                loss.backward()
                with torch.no_grad():
                    weights -= weights.grad * lr
                    bias -= bias.grad * lr
                    weights.grad.zero_()
                    bias.grad.zero_()
            print(f"{epoch}.0 {nll(model(x_train), y_train).item():.5f} {accuracy(model(x_train), y_train).item():.4f}")
    """, rtol=1e-3)


def test_time_sequence_prediction_with_lstm_cells_in_double_and_lbfgs():
    """The time-sequence-prediction example: two ``LSTMCell``s stepped by hand over sine waves in float64
    (``model.double()``, ``torch.double``), ``torch.cat``/``stack``/``chunk``, trained with LBFGS."""
    same_numbers("""
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.optim as optim

        rng = np.random.default_rng(0)
        t = np.arange(40) + rng.integers(-8, 8, (6, 1))
        data = np.sin(t / 4.0).astype(np.float64)
        inp, target = torch.from_numpy(data[:4, :-1]), torch.from_numpy(data[:4, 1:])

        class Sequence(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm1 = nn.LSTMCell(1, 12)
                self.lstm2 = nn.LSTMCell(12, 12)
                self.linear = nn.Linear(12, 1)
            def forward(self, input):
                outputs = []
                h_t = torch.zeros(input.size(0), 12, dtype=torch.double)
                c_t = torch.zeros(input.size(0), 12, dtype=torch.double)
                h_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
                c_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
                for input_t in input.chunk(input.size(1), dim=1):
                    h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                    h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                    outputs += [self.linear(h_t2)]
                return torch.cat(outputs, dim=1)

        seq = Sequence().double()
        with torch.no_grad():
            for p in seq.parameters():
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.2))
        criterion = nn.MSELoss()
        optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=6)
        for i in range(3):
            def closure():
                optimizer.zero_grad()
                loss = criterion(seq(inp), target)
                loss.backward()
                return loss
            optimizer.step(closure)
            with torch.no_grad():
                print(f"{i}.0 {criterion(seq(inp), target).item():.8f}")
    """, rtol=1e-6)


def test_top_k_accuracy_and_a_dcgan_style_step():
    """ImageNet's top-k accuracy helper (``topk``, ``t()``, ``eq``, ``view``/``expand_as``, ``reshape(-1)``),
    and one DCGAN step: ``weights_init`` with ``m.weight.data.normal_``/``bias.data.fill_`` (checked by its
    statistics: the draws differ), ``ConvTranspose2d``, ``BatchNorm2d``, ``BCELoss``, ``detach()``, two Adam
    optimizers with betas, ``torch.full`` labels, ``fill_``."""
    same_numbers("""
        import numpy as np
        import torch
        import torch.nn as nn

        def accuracy(output, target, topk=(1,)):
            with torch.no_grad():
                maxk = max(topk)
                batch_size = target.size(0)
                _, pred = output.topk(maxk, 1, True, True)
                pred = pred.t()
                correct = pred.eq(target.view(1, -1).expand_as(pred))
                return [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / batch_size) for k in topk]

        rng = np.random.default_rng(0)
        scores = torch.from_numpy(rng.standard_normal((50, 10)).astype(np.float32))
        labels = torch.from_numpy(rng.integers(0, 10, 50))
        print(" ".join(f"{a.item():.2f}" for a in accuracy(scores, labels, topk=(1, 3, 5))))

        netG = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 1, 0, bias=False), nn.BatchNorm2d(8), nn.ReLU(True),
                             nn.ConvTranspose2d(8, 1, 4, 2, 1, bias=False), nn.Tanh())
        netD = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                             nn.Conv2d(8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

        def weights_init(m):
            classname = m.__class__.__name__
            if classname.find("Conv") != -1:
                nn.init.normal_(m.weight.data, 0.0, 0.02)
            elif classname.find("BatchNorm") != -1:
                m.weight.data.normal_(1.0, 0.02)
                m.bias.data.fill_(0)

        for net in (netG, netD):
            net.apply(weights_init)
        w = netG[0].weight.detach().numpy()
        print(f"{abs(w.mean()) < 0.01:.1f} {abs(w.std() - 0.02) < 0.005:.1f} {netG[1].bias.abs().sum().item():.1f}")
        with torch.no_grad():
            for p in list(netG.parameters()) + list(netD.parameters()):
                p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.1 + (1.0 if p.dim() == 1 else 0.0)
                                          ).astype(np.float32)))
        criterion = nn.BCELoss()
        optD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
        optG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
        real = torch.from_numpy(rng.standard_normal((6, 1, 8, 8)).astype(np.float32)).tanh()
        noise = torch.from_numpy(rng.standard_normal((6, 4, 1, 1)).astype(np.float32))
        for it in range(3):
            netD.zero_grad()
            label = torch.full((6,), 1.0, dtype=torch.float)
            errD_real = criterion(netD(real).view(-1), label)
            errD_real.backward()
            fake = netG(noise)
            label.fill_(0.0)
            errD_fake = criterion(netD(fake.detach()).view(-1), label)
            errD_fake.backward()
            optD.step()
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(netD(fake).view(-1), label)
            errG.backward()
            optG.step()
            print(f"{(errD_real + errD_fake).item():.5f} {errG.item():.5f}")
    """, rtol=2e-3, atol=1e-5)


def test_micrograd_style_scalar_checks_and_an_lstm_over_image_rows():
    """micrograd's tests (``torch.Tensor([...]).double()``, ``x.requires_grad = True``, ``.data.item()``,
    ``.grad.item()``, relu, powers, division) and the MNIST-RNN example's model (``nn.LSTM`` over the rows
    of an image, ``batch_first``, the last step's output, ``log_softmax``, ``nll_loss``, gradient clipping)."""
    same_numbers("""
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        x = torch.Tensor([-4.0]).double()
        x.requires_grad = True
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        y = h + q + q * x
        y.backward()
        print(f"{y.data.item():.6f} {x.grad.item():.6f}")
        a = torch.Tensor([-4.0]).double()
        b = torch.Tensor([2.0]).double()
        a.requires_grad = True
        b.requires_grad = True
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + (b + a).relu()
        d = d + 3 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        g = g + 10.0 / f
        g.backward()
        print(f"{g.data.item():.6f} {a.grad.item():.6f} {b.grad.item():.6f}")

        rng = np.random.default_rng(0)
        images = torch.from_numpy(rng.standard_normal((16, 1, 7, 7)).astype(np.float32))
        labels = torch.from_numpy(rng.integers(0, 3, 16))

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.LSTM(input_size=7, hidden_size=12, batch_first=True)
                self.fc = nn.Linear(12, 3)
            def forward(self, x):
                x = x.reshape(-1, 7, 7)
                output, (hidden, cell) = self.rnn(x)
                return F.log_softmax(self.fc(output[:, -1, :]), dim=1)

        model = Net()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy((rng.standard_normal(tuple(p.shape)) * 0.3).astype(np.float32)))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(4):
            optimizer.zero_grad()
            loss = F.nll_loss(model(images), labels)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            print(f"{loss.item():.6f} {float(norm):.6f}")
    """, rtol=1e-4)


def test_the_tensors_tutorial():
    """The tensors tutorial: creation from lists, NumPy and other tensors, ``*_like``, indexing and slice
    assignment, ``cat``, ``@``/``matmul``/``mul`` with ``out=``, ``item()``, in-place ``add_``, memory shared
    with NumPy both ways, ``is_tensor``, ``numel``, ``Size``."""
    same_numbers("""
        import numpy as np
        import torch

        data = [[1, 2], [3, 4]]
        x_data = torch.tensor(data)
        x_np = torch.from_numpy(np.array(data))
        x_ones = torch.ones_like(x_data)
        x_rand = torch.rand_like(x_data, dtype=torch.float)
        print(f"{float(x_data.sum()):.1f} {float(x_np.sum()):.1f} {float(x_ones.sum()):.1f} {x_rand.shape[1]:.1f}")
        tensor = torch.ones(4, 4)
        if torch.accelerator.is_available():
            tensor = tensor.to(torch.accelerator.current_accelerator())
        tensor[:, 1] = 0
        print(" ".join(f"{v:.1f}" for v in tensor[0].tolist() + tensor[:, 1].tolist() + tensor[..., -1].tolist()))
        t1 = torch.cat([tensor, tensor, tensor], dim=1)
        y1, y2 = tensor @ tensor.T, tensor.matmul(tensor.T)
        y3 = torch.rand_like(y1)
        torch.matmul(tensor, tensor.T, out=y3)
        z3 = torch.rand_like(tensor)
        torch.mul(tensor, tensor, out=z3)
        print(f"{float(t1.sum()):.1f} {float((y1 - y2).abs().sum()):.1f} {float(y3.sum()):.1f} {float(z3.sum()):.1f}")
        agg = tensor.sum()
        print(f"{agg.item():.1f} {isinstance(agg.item(), float):.1f}")
        tensor.add_(5)
        t = torch.ones(5)
        n = t.numpy()
        t.add_(1)
        n2 = np.ones(5)
        t2 = torch.from_numpy(n2)
        np.add(n2, 1, out=n2)
        print(f"{float(tensor.sum()):.1f} {n.sum():.1f} {float(t2.sum()):.1f} {torch.is_tensor(t2):.1f}")
        print(f"{torch.numel(t1):.1f} {t1.size(1):.1f} {t1.shape == torch.Size([4, 12]):.1f}")
    """)
