"""Reading PyTorch .pth files without torch (``lucidnet.serialization.pth``): files written by ``torch.save`` in
both formats round-trip (dtypes, strides, offsets, shared storages, int64 scalars); pickles that would run
code are refused before anything runs; truncated and corrupt files give a clear error naming the file."""
import builtins
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from helpers import torch

from lucidnet.serialization.pth import PthError, load_pth

FORMATS = [pytest.param(True, id="zip"), pytest.param(False, id="legacy")]


def _save(th, obj, path, zip_format: bool):
    th.save(obj, path, _use_new_zipfile_serialization=zip_format)
    return path


def _state(th):
    g = th.Generator().manual_seed(0)
    base = th.randn(6, 8, generator=g)
    return OrderedDict([
        ("f32", th.randn(3, 4, generator=g)),
        ("f64", th.randn(5, generator=g, dtype=th.float64)),
        ("f16", th.randn(2, 3, generator=g).half()),
        ("i64", th.arange(-3, 9, dtype=th.int64).reshape(3, 4)),
        ("i32", th.tensor([1, -2, 2 ** 31 - 1], dtype=th.int32)),
        ("i16", th.tensor([-7, 300], dtype=th.int16)),
        ("i8", th.tensor([-128, 127], dtype=th.int8)),
        ("u8", th.tensor([0, 255, 17], dtype=th.uint8)),
        ("bool", th.tensor([True, False, True])),
        ("scalar", th.tensor(1431430)),                       # like num_batches_tracked
        ("empty", th.zeros(0, 3)),
        ("transposed", base.t()),                             # non-contiguous
        ("strided", base[1:5:2, ::3]),                        # offset and strides
        ("row", base[4]),                                     # offset into a shared storage
        ("shared", base),
    ])


@pytest.mark.parametrize("zip_format", FORMATS)
def test_round_trip_of_torch_save(tmp_path, zip_format):
    th = torch()
    sd = _state(th)
    got = load_pth(_save(th, sd, tmp_path / "w.pth", zip_format))
    assert isinstance(got, OrderedDict) and list(got) == list(sd)
    for k, v in sd.items():
        want = v.numpy()
        assert got[k].dtype == want.dtype, k
        assert got[k].shape == want.shape, k
        np.testing.assert_array_equal(got[k], want, err_msg=k)
    got["row"][0] = 1e6  # each tensor is an array of its own, even where torch's shared a storage
    assert got["shared"][4, 0] == sd["shared"][4, 0].item() != 1e6


@pytest.mark.parametrize("zip_format", FORMATS)
def test_bfloat16_is_widened_exactly_and_parameters_load(tmp_path, zip_format):
    th = torch()
    v = th.randn(4, 5, generator=th.Generator().manual_seed(1)).bfloat16()
    obj = {"bf16": v, "param": th.nn.Parameter(th.ones(2, 2)), "nested": {"x": th.arange(3)}}
    got = load_pth(_save(th, obj, tmp_path / "w.pth", zip_format))
    assert got["bf16"].dtype == np.float32
    np.testing.assert_array_equal(got["bf16"], v.float().numpy())
    np.testing.assert_array_equal(got["param"], np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(got["nested"]["x"], np.arange(3))


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Exec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.mark.parametrize("evil", [_System, _Exec])
def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path, evil):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"w": evil(marker)}, protocol=2))
    with pytest.raises(PthError, match=r"refusing to load .*evil\.pth: it wants (posix|os|nt|builtins|__builtin__)\.(system|exec)"):
        load_pth(path)
    assert not marker.exists()


@pytest.mark.parametrize("zip_format", FORMATS)
def test_code_hidden_in_a_torch_file_is_refused(tmp_path, zip_format):
    th = torch()
    marker = tmp_path / "marker"
    path = _save(th, {"w": th.ones(2), "evil": _System(marker)}, tmp_path / "evil.pth", zip_format)
    with pytest.raises(PthError, match="refusing to load .*evil.pth: it wants .*system; only state dicts"):
        load_pth(path)
    assert not marker.exists()


@pytest.mark.parametrize("zip_format", FORMATS)
def test_truncated_and_corrupt_files_name_the_file(tmp_path, zip_format):
    th = torch()
    raw = _save(th, _state(th), tmp_path / "w.pth", zip_format).read_bytes()
    for cut in (len(raw) - 5, len(raw) // 2, 60, 3):
        bad = tmp_path / f"cut{cut}.pth"
        bad.write_bytes(raw[:cut])
        with pytest.raises(PthError, match=f"cut{cut}.pth"):
            load_pth(bad)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file at all" * 10)
    with pytest.raises(PthError, match="junk.pth"):
        load_pth(junk)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_pth(tmp_path / "missing.pth")


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    th = torch()
    path = _save(th, th.ones(3), tmp_path / "t.pth", True)
    with pytest.raises(PthError, match="not a state dict"):
        load_pth(path)


def test_a_tensor_past_its_storage_is_refused(tmp_path):
    th = torch()
    path = tmp_path / "w.pth"
    _save(th, {"w": th.arange(6.0)}, path, False)
    raw = path.read_bytes()
    # the storage's element count (the int64 before the raw data) says 4, not 6: the tensor reaches past it
    i = raw.rindex((6).to_bytes(8, "little"))
    path.write_bytes(raw[:i] + (4).to_bytes(8, "little") + raw[i + 8:i + 8 + 16])
    with pytest.raises(PthError, match="w.pth"):
        load_pth(path)
