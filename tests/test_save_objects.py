"""``lucidnet.save`` / ``lucidnet.load`` with PyTorch's ``torch.save`` / ``torch.load`` semantics (issue 24,
point 6): whole checkpoints (nests of dicts, lists, tuples, numbers and tensors), paths or file objects,
Tensors back, never pickle."""
import io
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy as st

import lucidnet as ln
from lucidnet import nn
from lucidnet.serialization import CheckpointError


def _model():
    ln.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


def _steps(model, opt, n, x, y):
    for _ in range(n):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return loss.item()


@pytest.mark.parametrize("to_file", [False, True])
def test_a_training_checkpoint_round_trips_and_training_continues_identically(tmp_path, to_file):
    x, y = ln.randn(16, 3), ln.randn(16, 1)
    model = _model()
    opt = ln.optim.Adam(model.parameters(), lr=0.01)
    _steps(model, opt, 3, x, y)
    ckpt = {"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
            "loss": 0.25, "notes": ["adam", None, (1, 2.5)]}
    if to_file:
        target = io.BytesIO()
        ln.save(ckpt, target)
        target.seek(0)
    else:
        target = tmp_path / "ckpt.pt"
        ln.save(ckpt, target)
    back = ln.load(target, map_location="cpu", weights_only=True)
    assert back["epoch"] == 3 and back["loss"] == 0.25 and back["notes"] == ["adam", None, (1, 2.5)]
    assert all(isinstance(v, ln.Tensor) for v in back["model_state_dict"].values())
    model2 = _model()
    opt2 = ln.optim.Adam(model2.parameters(), lr=0.01)
    model2.load_state_dict(back["model_state_dict"])
    opt2.load_state_dict(back["optimizer_state_dict"])
    assert _steps(model2, opt2, 4, x, y) == _steps(model, opt, 4, x, y)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_state_dict_stays_a_plain_safetensors_file_and_loads_as_tensors(tmp_path):
    model = _model()
    path = tmp_path / "m.safetensors"
    ln.save(model.state_dict(), path)
    raw = st.load_file(str(path))                       # any safetensors reader takes it
    assert set(raw) == set(model.state_dict())
    back = ln.load(path)
    assert isinstance(back, OrderedDict) and list(back) == list(model.state_dict())
    assert all(isinstance(v, ln.Tensor) and v.dtype == np.float32 for v in back.values())
    ln.save(model.state_dict(), path, metadata={"epochs": 3})
    sd, meta = ln.load(path, return_metadata=True)
    assert meta == {"epochs": 3} and isinstance(sd["0.weight"], ln.Tensor)


def test_what_cannot_be_saved_or_loaded_is_refused_clearly(tmp_path):
    with pytest.raises(TypeError, match=r"Sequential object itself.*state_dict\(\)"):
        ln.save(_model(), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="a set"):
        ln.save({"s": {1, 2}}, tmp_path / "s.pt")
    with pytest.raises(TypeError, match="path or a binary file object"):
        ln.save({"a": 1}, 42)
    assert not list(tmp_path.iterdir())                 # nothing half-written
    buf = io.BytesIO()
    ln.save({"a": ln.ones(3), "b": 1}, buf)
    broken = io.BytesIO(buf.getvalue()[:-5])
    with pytest.raises(CheckpointError, match="file object"):
        ln.load(broken)
    with pytest.raises(RuntimeError, match="CPU only"):
        ln.load(io.BytesIO(buf.getvalue()), map_location="cuda:0")
    assert ln.load(io.BytesIO(buf.getvalue()), map_location=lambda storage, loc: storage)["b"] == 1
