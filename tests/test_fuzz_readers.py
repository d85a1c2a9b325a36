"""Fuzzed readers: every reader of outside bytes, given mutated valid files (truncated, bit-flipped, lengths and
counts inflated, wrong magic, huge dimensions, and format-aware faults: re-signed safetensors, PNG headers with
valid CRCs, zip bombs and escaping members), returns a result or raises its own error naming the file; never
another exception, a hang, or more memory than the file justifies (``fuzz_mutations.check``).

CI runs a few hundred inputs per reader (``LUCIDNET_FUZZ_EXAMPLES``, default 200); ``python benchmarks/faults.py``
runs ten thousand."""
import os
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_mutations import check, memory_cap
from fuzz_targets import TARGET_NAMES, all_targets

settings.register_profile("lucidnet-ci", max_examples=int(os.environ.get("LUCIDNET_FUZZ_EXAMPLES", 200)),
                          deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
CI = settings.get_profile("lucidnet-ci")


@pytest.fixture(scope="module")
def targets():
    return all_targets()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_mutated_files_give_a_result_or_the_readers_error(name, targets, workdir):
    target = targets[name]
    if name.startswith("pth"):
        pytest.importorskip("torch")
    assert check(target, target.seed(workdir), workdir) == "ok", "the valid file is not read"
    outcomes = []

    @CI
    @given(st.data())
    def run(data):
        raw, edited = data.draw(target.inputs(workdir))
        outcomes.append(check(target, raw, workdir, exact=edited and target.checksummed))

    with memory_cap(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the readers' warnings (odd PNG chunks, duplicate zip members) are not faults
        run()
    assert "refused" in outcomes, "no mutation was refused: the fuzzing does not reach the reader's checks"
