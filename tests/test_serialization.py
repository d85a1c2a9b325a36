"""Saving and loading: safetensors files, training checkpoints, corruption and crash safety."""
import copy
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy as st

import lucidnet as ln
from lucidnet import nn
from lucidnet.data import DataLoader, TensorDataset
from lucidnet.optim import lr_scheduler
from lucidnet.serialization import CheckpointError, load_checkpoint, save_checkpoint
from lucidnet.serialization import load as sd_load
from lucidnet.serialization import save as sd_save
from lucidnet.serialization import tensorfile
from lucidnet.serialization.statedict import KEY_VERSION


def assert_same(a, b, where="value"):
    """Deep equality that also demands equal types and dtypes (tuple is not list, float32 is not float64); a
    tensor is compared as its array."""
    a, b = (v.numpy() if isinstance(v, ln.Tensor) else v for v in (a, b))
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


# ---- save / load ---------------------------------------------------------------------------------------
def test_save_load_round_trip_keeps_order_dtypes_shapes(tmp_path):
    g = np.random.default_rng(1)
    sd = {
        "w32": g.standard_normal((3, 4)).astype(np.float32),
        "w64": g.standard_normal(5),
        "half": g.standard_normal((2, 2)).astype(np.float16),
        "scalar": np.array(2.5, np.float32),                    # 0-d stays 0-d
        "empty": np.zeros((0, 7), np.float32),
        "idx": np.arange(-3, 3, dtype=np.int64),
        "u8": np.arange(250, 256, dtype=np.uint8),
        "i8": np.array([-128, 127], np.int8), "i16": np.array([-1], np.int16), "u16": np.array([65535], np.uint16),
        "i32": np.array([2**31 - 1], np.int32), "u32": np.array([2**32 - 1], np.uint32),
        "u64": np.array([2**64 - 1], np.uint64), "mask": np.array([True, False, True]),
        "cplx": np.array([1 + 2j], np.complex64),
        "strided": np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2].T,   # not contiguous
        "bigendian": np.arange(4, dtype=">f8"),
        "tensor": ln.tensor([[1.0, 2.0]]),
        "nan": np.array([np.nan, np.inf, -np.inf, -0.0], np.float32),
    }
    path = tmp_path / "sd.safetensors"
    sd_save(sd, path)
    out = sd_load(path)
    assert list(out) == list(sd)
    for k, v in sd.items():
        v = v.array if isinstance(v, ln.Tensor) else v
        expected = v.astype(v.dtype.newbyteorder("=")) if k == "bigendian" else v
        assert_same(expected, out[k], k)
        assert out[k].flags.writeable and out[k].flags.aligned
    assert out["nan"].view(np.uint32)[3] == np.float32(-0.0).view(np.uint32)   # sign of zero kept
    assert os.listdir(tmp_path) == ["sd.safetensors"]


def test_metadata_round_trips_exactly(tmp_path):
    meta = {"epochs": 3, "lr": 0.1, "name": "mlp", "betas": (0.9, 0.999), "by_id": {1: "a", 2: "b"},
            "nested": [{"x": None, "y": True}], "loss": float("nan"), "big": 2**100, "f32": np.float32(0.1)}
    path = tmp_path / "m.safetensors"
    sd_save({"w": np.ones(2, np.float32)}, path, metadata=meta)
    sd, back = sd_load(path, return_metadata=True)
    assert_same(meta, back)
    with pytest.raises(TypeError, match="metadata.*arrays are not allowed"):
        sd_save({"w": np.ones(2)}, tmp_path / "x.safetensors", metadata={"arr": np.ones(2)})


def test_interop_with_the_safetensors_package(tmp_path):
    sd = {"b": np.arange(3, dtype=np.int64), "a": np.ones((2, 3), np.float32), "c": np.array([True])}
    ours = tmp_path / "ours.safetensors"
    sd_save(sd, ours, metadata={"k": 1})
    theirs = st.load_file(str(ours))
    assert set(theirs) == set(sd) and all(np.array_equal(theirs[k], v) for k, v in sd.items())

    other = tmp_path / "theirs.safetensors"
    st.save_file(sd, str(other), metadata={"format": "np"})
    back, meta = sd_load(other, return_metadata=True)
    assert meta == {"format": "np"}
    data = other.read_bytes()
    header = json.loads(data[8:_header_len(data)])
    assert list(back) == [k for k in header if k != "__metadata__"]      # the order of their header
    for k, v in sd.items():
        assert_same(v, back[k], k)
        assert back[k].flags.writeable


def test_loaded_arrays_are_writable_and_own_their_memory(good_file):
    a, b = sd_load(good_file).values()
    assert not np.shares_memory(a, b)
    a[...] = -1                                 # writing to one array changes neither the other nor the file
    assert sd_load(good_file)["w"][0, 1] == 1 and b[1] == 1


def test_views_that_are_not_owned_are_copied(tmp_path):
    own = np.arange(4, dtype=np.float32)
    assert tensorfile._owned(own) is own
    assert tensorfile._owned(own[1:]).base is own                # a view of an array's own memory is kept
    ro = np.frombuffer(own.tobytes(), np.float32)                 # read-only
    np.save(tmp_path / "m.npy", own)
    mapped = np.load(tmp_path / "m.npy", mmap_mode="r+")         # writable, but the pages of a file
    for view in (ro, mapped):
        out = tensorfile._owned(view)
        assert type(out) is np.ndarray and out.flags.owndata and out.flags.writeable
        assert_same(own, out)


def test_missing_safetensors_package_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    for call in (lambda: sd_save({"w": np.ones(2)}, tmp_path / "w.safetensors"),
                 lambda: sd_load(tmp_path / "w.safetensors")):
        with pytest.raises(ImportError, match=r'safetensors package.*pip install safetensors'):
            call()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("obj, match", [
    (nn.Linear(2, 2), r"model.state_dict\(\)"),
    ({1: np.ones(2)}, "names must be strings"),
    ({"opt": {"state": {}}}, "save_checkpoint"),
    ({"x": [1.0, 2.0]}, "expected a NumPy array or Tensor"),
    ({"o": np.array(["a"], dtype=object)}, "dtype object"),
    ({"__metadata__": np.ones(2)}, "invalid tensor name"),
])
def test_save_rejects_what_it_cannot_store_and_writes_nothing(tmp_path, obj, match):
    with pytest.raises((TypeError, ValueError), match=match):
        sd_save(obj, tmp_path / "bad.safetensors")
    assert os.listdir(tmp_path) == []


# ---- corrupted files -----------------------------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    sd_save({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.arange(3, dtype=np.int64)}, path,
            metadata={"note": "ok"})
    return path


def _header_len(data: bytes) -> int:
    return 8 + int.from_bytes(data[:8], "little")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.safetensors: empty file"):
        sd_load(path)


def test_truncated_at_every_offset(good_file):
    data = good_file.read_bytes()
    header_end = _header_len(data)
    for cut in range(1, len(data)):
        good_file.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as e:
            sd_load(good_file)
        msg = str(e.value)
        assert str(good_file) in msg
        if cut < 8:
            assert "too short" in msg
        elif cut < header_end:
            assert f"truncated: the header alone needs {header_end} bytes, the file has {cut}" in msg
        else:
            assert f"truncated: expected {len(data)} bytes, found {cut}" in msg


def test_trailing_bytes(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(data + b"\0" * 5)
    with pytest.raises(CheckpointError, match=f"expected {len(data)} bytes, found {len(data) + 5}"):
        sd_load(good_file)


@pytest.mark.parametrize("delta", [8, -8, 1, 2**40, 2**63])
def test_wrong_header_length(good_file, delta):
    data = bytearray(good_file.read_bytes())
    n = int.from_bytes(data[:8], "little")
    data[:8] = ((n + delta) % 2**64).to_bytes(8, "little")
    good_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"bad header|truncated|not a safetensors file"):
        sd_load(good_file)


def test_random_bytes_are_refused(tmp_path):
    g = np.random.default_rng(0)
    path = tmp_path / "noise.safetensors"
    for size in (1, 8, 9, 100, 4096):
        for _ in range(5):
            path.write_bytes(g.integers(0, 256, size, dtype=np.uint8).tobytes())
            with pytest.raises(CheckpointError, match="noise.safetensors"):
                sd_load(path)
    # noise behind a plausible header length
    path.write_bytes((40).to_bytes(8, "little") + g.integers(0, 256, 100, dtype=np.uint8).tobytes())
    with pytest.raises(CheckpointError, match="bad header"):
        sd_load(path)


def test_every_single_bit_flip_is_caught(good_file):
    """Never garbage: each one-bit corruption anywhere in the file (length, header, metadata, checksum,
    tensor bytes) is refused."""
    data = good_file.read_bytes()
    missed = []
    for i in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            good_file.write_bytes(flipped)
            try:
                sd_load(good_file, return_metadata=True)
            except CheckpointError as e:
                assert str(good_file) in str(e)
                continue
            missed.append((i, bit))
    assert missed == []


def test_checksum_catches_flipped_tensor_byte(good_file):
    data = bytearray(good_file.read_bytes())
    data[-1] ^= 0x01
    good_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        sd_load(good_file)


def _raw(header: dict, payload: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + payload


@pytest.mark.parametrize("header, payload, match", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [1],
      "data_offsets": [4, 8]}}, bytes(8), "offset for tensor `v`.*without gaps or overlaps"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8), "offset for tensor `w`.*without gaps"),
    ({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, bytes(2), "dtype 'BF16'.*cannot load"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4), "integer `-1`, expected usize"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8), "do not span the bytes that its shape"),
    ({"w": {"dtype": "F32", "shape": [2]}}, bytes(8), "missing field `data_offsets`"),
    ({"__metadata__": {"k": 1}}, b"", "integer `1`, expected a string"),
    ([1, 2], b"", "bad header: not a JSON object"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"lucidnet.x": "1"}}, bytes(8),
     "lucidnet.sha256 checksum that lucidnet writes is missing"),
])
def test_malformed_headers(tmp_path, header, payload, match):
    path = tmp_path / "h.safetensors"
    path.write_bytes(_raw(header, payload))
    with pytest.raises(CheckpointError, match="h.safetensors: .*" + match):
        sd_load(path)


def test_order_that_does_not_match_the_tensors_is_refused(tmp_path):
    path = tmp_path / "o.safetensors"
    sd_save({"a": np.ones(1), "b": np.ones(1)}, path)
    arrays, meta = tensorfile.read(path)
    meta[tensorfile.ORDER_KEY] = '["a","a"]'
    meta[tensorfile.DIGEST_KEY] = tensorfile._digest(arrays, meta)  # a consistent checksum: only the order is wrong
    st.save_file(dict(arrays), str(path), metadata=meta)
    with pytest.raises(CheckpointError, match="lucidnet.order does not list the tensors"):
        sd_load(path)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        sd_load(tmp_path / "nope.safetensors")


# ---- atomic writes -------------------------------------------------------------------------------------
def _old_and_new(tmp_path):
    path = tmp_path / "w.safetensors"
    old = {"w": np.full(1000, 1.0, np.float32)}
    sd_save(old, path)
    return path, old, {"w": np.full(1000, 2.0, np.float32)}


def test_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path, old, new = _old_and_new(tmp_path)
    real_save = st.save

    def partial(tensors, filename, metadata=None):   # the header and half the data reach the disk, then the "crash"
        data = real_save(tensors, metadata)
        with open(filename, "wb") as f:
            f.write(data[: len(data) - 2000])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st, "save_file", partial)
    with pytest.raises(OSError, match="No space left"):
        sd_save(new, path)
    assert_same(old["w"], sd_load(path)["w"])
    assert os.listdir(tmp_path) == ["w.safetensors"]        # no temporary file left behind


@pytest.mark.parametrize("exc", [OSError("fsync failed"), KeyboardInterrupt()])
def test_failed_fsync_or_interrupt_keeps_the_old_file(tmp_path, monkeypatch, exc):
    path, old, new = _old_and_new(tmp_path)
    from lucidnet.serialization import atomic

    def boom(fd):
        raise exc

    monkeypatch.setattr(atomic.os, "fsync", boom)
    with pytest.raises(type(exc)):
        sd_save(new, path)
    monkeypatch.undo()
    assert_same(old["w"], sd_load(path)["w"])
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_process_killed_mid_write_keeps_the_old_file(tmp_path):
    path, old, _ = _old_and_new(tmp_path)
    child = textwrap.dedent(f"""
        import os, numpy as np, safetensors.numpy as st
        from lucidnet.serialization import save
        def dying(tensors, filename, metadata=None):
            with open(filename, "wb") as f:
                f.write(st.save(tensors, metadata)[:-3000])
            os._exit(9)                     # no cleanup, no exception handlers: like SIGKILL
        st.save_file = dying
        save({{"w": np.full(1000, 2.0, np.float32)}}, {str(path)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    assert proc.returncode == 9, proc.stderr.decode()
    assert_same(old["w"], sd_load(path)["w"])                # the destination was never touched


def test_header_too_large_for_readers_is_refused_and_keeps_the_old_file(tmp_path, monkeypatch):
    path, old, new = _old_and_new(tmp_path)
    monkeypatch.setattr(tensorfile, "MAX_HEADER", 2000)
    with pytest.raises(ValueError, match="more than the format's limit of 2000; store large data as arrays"):
        sd_save(new, path, metadata={"notes": "x" * 3000})
    assert_same(old["w"], sd_load(path)["w"])
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_save_into_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        sd_save({"w": np.ones(2)}, tmp_path / "no" / "such" / "dir.safetensors")
    assert os.listdir(tmp_path) == []


# ---- checkpoints: an interrupted run continues bit for bit ----------------------------------------------
N, BATCH, EPOCHS = 40, 8, 3


def _setup(opt_kind, seed):
    """Model with dropout (draws from the RNG), optimizer, scheduler, shuffled loader."""
    ln.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    if opt_kind == "sgd":
        opt = ln.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
        sched = lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    else:
        opt = ln.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
        sched = lr_scheduler.MultiStepLR(opt, milestones=[1, 2], gamma=0.5)
    g = np.random.default_rng(7)
    ds = TensorDataset(g.standard_normal((N, 5)).astype(np.float32), g.standard_normal((N, 3)).astype(np.float32))
    return model, opt, sched, DataLoader(ds, batch_size=BATCH, shuffle=True)


def _train(model, opt, sched, loader, epoch, step, history, stop_at=None, path=None):
    """The loop of a fit(): per-batch steps, one scheduler step per epoch. At ``stop_at`` (epoch, batches
    done in it) it saves a checkpoint and returns None, as a run would before being killed."""

    def stop_here(batches_done):
        if stop_at != (epoch, batches_done):
            return False
        save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, loader=loader, epoch=epoch,
                        step=step, history=history)
        return True

    while epoch < EPOCHS:
        if stop_here(0):
            return None
        for x, y in loader:
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            step += 1
            history["loss"].append(float(loss.data))
            if stop_here(loader.state_dict()["position"]):
                return None
        sched.step()
        epoch += 1
        history["lr"].append(sched.get_last_lr()[0])
    return step


@pytest.mark.parametrize("opt_kind", ["sgd", "adam"])
@pytest.mark.parametrize("stop_at", [(1, 2), (2, 0)], ids=["mid-epoch", "epoch-start"])
def test_resumed_run_is_bit_identical(tmp_path, opt_kind, stop_at):
    path = tmp_path / "ckpt.safetensors"
    ref = _setup(opt_kind, seed=3)
    ref_hist = {"loss": [], "lr": []}
    ref_steps = _train(*ref, 0, 0, ref_hist)

    first = _setup(opt_kind, seed=3)
    assert _train(*first, 0, 0, {"loss": [], "lr": []}, stop_at=stop_at, path=path) is None
    ln.manual_seed(12345)                     # the RNG moves on before the resume (a new process would differ too)
    resumed = _setup(opt_kind, seed=99)       # fresh objects with different weights
    ckpt = load_checkpoint(path, model=resumed[0], optimizer=resumed[1], scheduler=resumed[2], loader=resumed[3])
    hist = ckpt["history"]
    steps = _train(*resumed, ckpt["epoch"], ckpt["step"], hist)

    assert steps == ref_steps
    assert_same(ref_hist, hist)
    for (name, a), b in zip(ref[0].state_dict().items(), resumed[0].state_dict().values()):
        assert a.dtype == b.dtype == np.float32
        assert np.array_equal(a, b), name
    assert_same(ref[1].state_dict(), resumed[1].state_dict())


def test_resume_without_the_rng_diverges(tmp_path):
    """The check above can fail: skip the RNG and dropout masks / the next shuffle differ."""
    path = tmp_path / "ckpt.safetensors"
    ref = _setup("adam", seed=3)
    _train(*ref, 0, 0, {"loss": [], "lr": []})
    first = _setup("adam", seed=3)
    _train(*first, 0, 0, {"loss": [], "lr": []}, stop_at=(1, 2), path=path)
    ln.manual_seed(12345)
    resumed = _setup("adam", seed=99)
    ckpt = load_checkpoint(path, model=resumed[0], optimizer=resumed[1], scheduler=resumed[2], loader=resumed[3],
                           restore_rng=False)
    _train(*resumed, ckpt["epoch"], ckpt["step"], ckpt["history"])
    assert not np.array_equal(ref[0].state_dict()["0.weight"], resumed[0].state_dict()["0.weight"])


def test_every_piece_of_state_round_trips_exactly(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched, loader = _setup("adam", seed=0)
    _train(model, opt, sched, loader, 0, 0, {"loss": [], "lr": []}, stop_at=(1, 3), path=path)
    history = {"loss": [np.float32(0.5), float("inf")], "val": {"acc": [0.1]}}
    extra = {"best": (np.float64(0.25), 7), "arr": np.arange(3, dtype=np.int16), 3: None, "big": 2**130}
    rng = ln.get_rng_state()
    save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, loader=loader, epoch=1, step=7,
                    history=history, extra=extra)
    ln.manual_seed(5)
    m2, o2, s2, l2 = _setup("adam", seed=42)
    ckpt = load_checkpoint(path, model=m2, optimizer=o2, scheduler=s2, loader=l2)
    assert ckpt["epoch"] == 1 and ckpt["step"] == 7 and ckpt["format_version"] == 1
    assert ckpt["lucidnet_version"] == ln.__version__
    assert_same(history, ckpt["history"])
    assert_same(extra, ckpt["extra"])
    assert_same(rng, ln.get_rng_state())
    assert_same(model.state_dict(), m2.state_dict())
    assert_same(opt.state_dict(), o2.state_dict())
    assert_same(sched.state_dict(), s2.state_dict())
    assert_same(loader.state_dict(), l2.state_dict())
    # the raw sections come back too, and can be inspected without any object
    bare = load_checkpoint(path, restore_rng=False)
    assert_same(opt.state_dict(), bare["optimizer_state_dict"])
    assert_same(model.state_dict(), bare["model_state_dict"])


def test_checkpoint_tensors_are_plain_safetensors(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched, loader = _setup("adam", seed=0)
    _train(model, opt, sched, loader, 0, 0, {"loss": [], "lr": []}, stop_at=(0, 2), path=path)
    flat = sd_load(path)
    assert [k for k in flat if k.startswith("model.")] == ["model." + k for k in model.state_dict()]
    assert "optimizer.state.0.exp_avg" in flat and "loader.permutation" in flat


def test_tied_weights_are_stored_once_and_restored(tmp_path):
    path = tmp_path / "tied.safetensors"
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    save_checkpoint(path, model=model)
    assert len([k for k in sd_load(path) if k.endswith("weight")]) == 1
    c, d = nn.Linear(4, 4), nn.Linear(4, 4)
    d.weight = c.weight
    fresh = nn.Sequential(c, d)
    load_checkpoint(path, model=fresh)
    assert np.array_equal(fresh[1].weight.data, a.weight.data) and fresh[0].weight is fresh[1].weight


# ---- checkpoints: errors -------------------------------------------------------------------------------
def test_shape_mismatch_names_the_parameter_and_changes_nothing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched, loader = _setup("sgd", seed=0)
    _train(model, opt, sched, loader, 0, 0, {"loss": [], "lr": []}, stop_at=(0, 2), path=path)
    other = nn.Sequential(nn.Linear(5, 17), nn.ReLU(), nn.Dropout(0.3), nn.Linear(17, 3))
    o2 = ln.optim.SGD(other.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    before = copy.deepcopy(other.state_dict())  # state_dict() shares the model's memory
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, model=other, optimizer=o2)
    msg = str(e.value)
    assert str(path) in msg and "Sequential" in msg
    assert "shape mismatch for '0.weight': (16, 5) in the checkpoint, (17, 5) in the model" in msg
    assert "'3.weight'" in msg and "'0.bias'" in msg
    assert_same(before, other.state_dict())
    assert o2.state_dict()["state"] == {}


def test_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model=nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)))
    bigger = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1), nn.Linear(1, 1))
    with pytest.raises(CheckpointError, match=r"missing from the checkpoint: '2.weight', '2.bias'"):
        load_checkpoint(path, model=bigger)
    smaller = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(CheckpointError, match=r"in the checkpoint but not in the model: '1.weight', '1.bias'"):
        load_checkpoint(path, model=smaller)
    load_checkpoint(path, model=bigger, strict=False)      # loads the matching part
    assert np.array_equal(bigger[0].weight.data, sd_load(path)["model.0.weight"])


def test_wrong_kind_of_object_or_missing_section(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched, loader = _setup("adam", seed=0)
    save_checkpoint(path, model=model, optimizer=opt)
    sgd = ln.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(CheckpointError, match="state of a Adam optimizer, which cannot be loaded into a SGD"):
        load_checkpoint(path, model=model, optimizer=sgd)
    with pytest.raises(CheckpointError, match="holds no scheduler state"):
        load_checkpoint(path, model=model, scheduler=sched)
    state_dict_file = tmp_path / "sd.safetensors"
    sd_save(model.state_dict(), state_dict_file)
    with pytest.raises(CheckpointError, match="not a lucidnet checkpoint.*lucidnet.load"):
        load_checkpoint(state_dict_file, model=model)


def test_failed_restore_puts_back_what_was_restored(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched, loader = _setup("sgd", seed=0)
    _train(model, opt, sched, loader, 0, 0, {"loss": [], "lr": []}, stop_at=(1, 1), path=path)
    m2, o2, s2, _ = _setup("sgd", seed=1)
    other_loader = DataLoader(loader.dataset, batch_size=BATCH + 1, shuffle=True)
    sched_before, model_before, rng_before = s2.state_dict(), copy.deepcopy(m2.state_dict()), ln.get_rng_state()
    with pytest.raises(CheckpointError, match=r"restoring the loader \(DataLoader\) failed: .*batch_size=8"):
        load_checkpoint(path, model=m2, optimizer=o2, scheduler=s2, loader=other_loader)
    assert_same(sched_before, s2.state_dict())
    assert_same(model_before, m2.state_dict())
    assert_same(rng_before, ln.get_rng_state())
    assert o2.state_dict()["state"] == {}


def test_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model=nn.Linear(2, 2), epoch=1)
    arrays, meta = tensorfile.read(path)
    meta[KEY_VERSION] = "2"
    tensorfile.write(path, arrays, meta)                      # a valid file (checksum recomputed)
    with pytest.raises(CheckpointError, match="format 2.*reads format 1 and older: upgrade lucidnet"):
        load_checkpoint(path)


def test_state_referring_to_a_missing_tensor(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model=nn.Linear(2, 2))
    arrays, meta = tensorfile.read(path)
    del arrays["model.bias"]
    tensorfile.write(path, arrays, meta)
    with pytest.raises(CheckpointError, match="refers to a tensor 'model.bias'"):
        load_checkpoint(path)


def test_checksum_covers_the_json_state(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model = nn.Linear(2, 2)
    save_checkpoint(path, model=model, optimizer=ln.optim.SGD(model.parameters(), lr=0.125))
    data = path.read_bytes()
    assert data.count(b"0.125") == 1
    path.write_bytes(data.replace(b"0.125", b"0.375"))         # same length: only the checksum can tell
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched, loader = _setup("adam", seed=0)
    _train(model, opt, sched, loader, 0, 0, {"loss": [], "lr": []}, stop_at=(0, 2), path=path)
    data = path.read_bytes()
    for cut in (0, 5, 100, _header_len(data) - 1, _header_len(data) + 10, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="ckpt.safetensors: (empty|truncated|not a safetensors)"):
            load_checkpoint(path, model=model, optimizer=opt)


def test_unsaveable_values_are_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    with pytest.raises(TypeError, match=r"cannot save 'extra.fn': it is a builtins.function"):
        save_checkpoint(path, model=nn.Linear(2, 2), extra={"fn": lambda: 0})
    with pytest.raises(TypeError, match=r"'history.seen': it is a set"):
        save_checkpoint(path, model=nn.Linear(2, 2), history={"seen": {1, 2}})
    with pytest.raises(TypeError, match="epoch must be an int"):
        save_checkpoint(path, model=nn.Linear(2, 2), epoch=1.5)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("edit, match", [
    (lambda st: "{not json", "bad checkpoint state"),
    (lambda st: json.dumps({**json.loads(st), "optimizer": 5}), "malformed optimizer section"),
    (lambda st: json.dumps({**json.loads(st), "epoch": "three"}), "epoch should be an int"),
    (lambda st: json.dumps({k: v for k, v in json.loads(st).items() if k != "rng"}), r"missing \['rng'\]"),
    (lambda st: json.dumps({**json.loads(st), "extra": {"__numpy__": ["object", 1]}}), "unknown dtype"),
])
def test_malformed_checkpoint_state(tmp_path, edit, match):
    """Files with a valid checksum but a state no lucidnet wrote (hand-made, or a bug) are refused clearly."""
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model=nn.Linear(2, 2))
    arrays, meta = tensorfile.read(path)
    meta["lucidnet.state"] = edit(meta["lucidnet.state"])
    tensorfile.write(path, arrays, meta)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path, model=nn.Linear(2, 2))


def test_saved_files_take_the_usual_mode(tmp_path):
    """Model files are readable like any new file (0o666 less the umask), although safetensors re-creates the
    file it writes with mode 0o600: other users of a shared run directory can read them."""
    import stat

    old = os.umask(0o022)
    try:
        sd_save({"w": ln.zeros(3)}, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.safetensors").st_mode) == 0o644
