"""lucidnet.text.distilled: the teacher's logits kept in its run directory and read back by a later student."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.text.distilled import cached_soft_targets, soft_targets


class Counting(nn.Module):
    """A teacher that sums its tokens' embeddings and counts its calls."""

    def __init__(self):
        super().__init__()
        self.embedding, self.calls = nn.Embedding(10, 2, padding_idx=0), 0

    def forward(self, tokens, lengths):
        self.calls += 1
        return self.embedding(tokens).sum(1)


class Pad:
    pad_id = 0


@pytest.fixture
def teacher_run(tmp_path):
    ln.manual_seed(0)
    teacher = Counting()
    (tmp_path / "model.safetensors").write_bytes(b"weights")  # the cache key reads its size and time
    return tmp_path, teacher


def test_logits_are_computed_once_per_teacher_and_inputs(teacher_run):
    run, teacher = teacher_run
    ids = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6])]
    z = cached_soft_targets(run, teacher, Pad(), ids)
    assert z.dtype == np.float32 and z.shape == (3, 2) and teacher.calls == 1
    np.testing.assert_array_equal(z, soft_targets(teacher, Pad(), ids))
    assert len(list(run.glob("distill-logits-*.safetensors"))) == 1
    teacher.calls = 0
    np.testing.assert_array_equal(cached_soft_targets(run, teacher, Pad(), ids), z)
    assert teacher.calls == 0  # read back
    other = cached_soft_targets(run, teacher, Pad(), ids[:2] + [np.array([5, 7])])  # other inputs: computed
    assert teacher.calls == 1 and not np.array_equal(other[2], z[2])
    (run / "model.safetensors").write_bytes(b"retrained")  # another teacher: computed again
    cached_soft_targets(run, teacher, Pad(), ids)
    assert teacher.calls == 2 and len(list(run.glob("distill-logits-*.safetensors"))) == 3


def test_a_damaged_cache_is_computed_again(teacher_run):
    run, teacher = teacher_run
    ids = [np.array([1, 2]), np.array([3])]
    z = cached_soft_targets(run, teacher, Pad(), ids)
    (path,) = run.glob("distill-logits-*.safetensors")
    path.write_bytes(b"not a safetensors file")
    np.testing.assert_array_equal(cached_soft_targets(run, teacher, Pad(), ids), z)
    assert teacher.calls == 2
