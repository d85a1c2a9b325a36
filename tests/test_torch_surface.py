"""PyTorch's names for devices, dtypes and 0-d tensors (issue 24, points 2, 3, 5, 7 and randint of 8), each
against PyTorch where it computes something."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn


@pytest.fixture(scope="module")
def th():
    return pytest.importorskip("torch")


def test_the_cpu_is_the_device_and_queries_answer_no_gpu():
    dev = ln.device("cuda" if ln.cuda.is_available() else "cpu")
    assert dev == ln.device("cpu") == "cpu" and str(dev) == "cpu" and repr(dev) == "device(type='cpu')"
    assert str(ln.device("cuda:1")) == "cuda:1" and ln.device("cuda", 0).index == 0
    assert not ln.cuda.is_available() and ln.cuda.device_count() == 0
    assert not ln.backends.mps.is_available() and not ln.accelerator.is_available()
    ln.cuda.manual_seed(0)                      # ignored without a GPU, as in PyTorch
    ln.cuda.manual_seed_all(0)
    ln.backends.cudnn.deterministic = True      # a flag that changes nothing on the CPU
    with pytest.raises(RuntimeError, match="device type"):
        ln.device("tpu")
    x = ln.ones(2, 3)
    assert x.device == ln.device("cpu") and x.is_cuda is False
    assert x.to("cpu") is x and x.to(dev) is x and x.cpu() is x and x.to(ln.device("cpu"), ln.float32) is x
    assert x.to("cpu", copy=True) is not x
    for move in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: x.to(ln.device("mps"))):
        with pytest.raises(RuntimeError, match="CPU only"):
            move()
    m = nn.Linear(3, 2)
    assert m.to(dev) is m and m.cpu() is m and m.to("cpu", ln.float64).weight.dtype == np.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()


@pytest.mark.parametrize("make", [
    lambda d: ln.zeros(2, 3, device=d), lambda d: ln.ones(2, device=d), lambda d: ln.full((2,), 1.5, device=d),
    lambda d: ln.empty(2, device=d), lambda d: ln.arange(4, device=d), lambda d: ln.linspace(0, 1, 3, device=d),
    lambda d: ln.eye(2, device=d), lambda d: ln.randn(2, device=d), lambda d: ln.rand(2, device=d),
    lambda d: ln.randint(0, 3, (2,), device=d), lambda d: ln.randperm(3, device=d),
    lambda d: ln.tensor([1.0], device=d), lambda d: ln.as_tensor([1.0], device=d),
    lambda d: ln.zeros_like(ln.ones(2), device=d), lambda d: ln.ones_like(ln.ones(2), device=d),
])
def test_creation_functions_take_device(make):
    assert make("cpu").device == ln.device("cpu") and make(ln.device("cpu")).device == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        make("cuda")


def test_dtype_names_and_conversions_match_pytorch(th):
    pairs = {"float": np.float32, "double": np.float64, "half": np.float16, "long": np.int64, "int": np.int32,
             "short": np.int16, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_, "float32": np.float32,
             "float64": np.float64, "int64": np.int64}
    for name, dt in pairs.items():
        assert getattr(ln, name) == np.dtype(dt), name
        t = getattr(th, name)                   # the same width and kind as PyTorch's dtype of that name
        assert t.itemsize == np.dtype(dt).itemsize and t.is_floating_point == (np.dtype(dt).kind == "f"), name
    x, tx = ln.tensor([1.7, -2.5, 0.0]), th.tensor([1.7, -2.5, 0.0])
    for method in ("long", "int", "float", "double", "bool"):
        a, b = getattr(x, method)(), getattr(tx, method)()
        assert a.tolist() == b.tolist(), method
    assert x.type() == tx.type() == "torch.FloatTensor"
    assert x.long().type() == tx.long().type() == "torch.LongTensor"
    assert x.type(ln.float64).dtype == np.float64
    assert x.to(ln.long).tolist() == tx.to(th.long).tolist()
    assert ln.zeros(2, dtype=ln.long).dtype == np.int64


def test_0d_tensors_work_as_python_numbers(th):
    loss, tloss = ln.tensor(0.123456), th.tensor(0.123456)
    assert f"{loss:.3f}" == f"{tloss:.3f}" == "0.123"
    assert f"{ln.tensor(7):5d}" == f"{th.tensor(7):5d}"
    i, ti = ln.tensor(2), th.tensor(2)
    assert [10, 20, 30][i] == [10, 20, 30][ti] == 30
    assert range(5)[i] == 2 and float(loss) == pytest.approx(0.123456) and int(i) == 2 and bool(i)
    with pytest.raises(TypeError):
        [1, 2][ln.tensor(1.0)]                  # a float tensor is no index, in PyTorch either
    with pytest.raises(TypeError):
        [1, 2][ti.float()]


def test_randint_takes_pytorchs_two_forms():
    ln.manual_seed(0)
    a = ln.randint(10, (3, 2))
    b = ln.randint(5, 8, (4,))
    assert a.shape == (3, 2) and a.dtype == np.int64 and 0 <= a.numpy().min() and a.numpy().max() < 10
    assert b.shape == (4,) and 5 <= b.numpy().min() and b.numpy().max() < 8
    with pytest.raises(TypeError, match="size"):
        ln.randint(0, 5)


def test_out_writes_into_the_given_tensor_as_in_pytorch(th):
    a, b = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.ones((3, 2), np.float32)
    for name, args in [("add", (a, a)), ("mul", (a, a)), ("matmul", (a, b)), ("exp", (a,)), ("cumsum", (a, 1)),
                       ("sum", (a, 1)), ("clamp", (a, 1.0, 4.0)), ("cat", ([a, a],))]:
        conv = [ln.tensor(x) if isinstance(x, np.ndarray) else [ln.tensor(v) for v in x] if isinstance(x, list)
                else x for x in args]
        tconv = [th.tensor(x) if isinstance(x, np.ndarray) else [th.tensor(v) for v in x] if isinstance(x, list)
                 else x for x in args]
        out, tout = ln.empty(0), th.empty(0)
        assert getattr(ln, name)(*conv, out=out) is out
        getattr(th, name)(*tconv, out=tout)
        np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-6)
        assert out.shape == tuple(tout.shape)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ln.exp(ln.ones(2, requires_grad=True), out=ln.empty(2))
    with pytest.raises(RuntimeError, match="can't be cast"):
        ln.add(ln.ones(2), 0.5, out=ln.zeros(2, dtype=ln.long))
    with ln.no_grad():
        assert ln.exp(ln.zeros(2, requires_grad=True), out=ln.empty(2)).tolist() == [1.0, 1.0]
