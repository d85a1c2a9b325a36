"""lucidnet.config (switches, threads, show_config), the import's laziness and the scoped BLAS takeover."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code: str, **env) -> str:
    """Run ``code`` in a fresh interpreter (this checkout first on the path); its stdout. ``NAME=None``
    leaves the variable NAME out of the child's environment."""
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]), **env}
    environ = {k: v for k, v in environ.items() if v is not None}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


HEAVY = ["numba", "scipy", "matplotlib", "lucidnet.vision", "lucidnet.text", "lucidnet.recsys", "lucidnet.inspect",
         "lucidnet.cli"]


def test_import_lucidnet_imports_no_heavy_or_application_module():
    code = f"import json, sys, lucidnet; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    assert json.loads(_run(code)) == []


def test_applications_are_attributes_imported_on_first_use():
    code = ("import sys, lucidnet; assert 'lucidnet.text' not in sys.modules; "
            "print(lucidnet.text.CharVocab.__name__, lucidnet.vision.__name__, lucidnet.recsys.__name__, "
            "lucidnet.inspect.__name__)")
    assert _run(code).split() == ["CharVocab", "lucidnet.vision", "lucidnet.recsys", "lucidnet.inspect"]
    with pytest.raises(AttributeError):
        ln.no_such_thing  # noqa: B018


@pytest.mark.parametrize("config", [
    {"name": "char_lstm", "vocab_size": 20, "embed_dim": 8, "hidden_size": 16, "num_layers": 1},
    {"name": "mf", "n_users": 5, "n_items": 7, "dim": 4},
])
def test_models_build_a_registered_application_model_in_a_fresh_process(config):
    """The registry's plugin table imports the module that registers the name on the first build."""
    code = (f"import lucidnet; m = lucidnet.models.build({config!r}); "
            f"print(lucidnet.models.config_of(m)['name'], type(m).__module__)")
    name, module = _run(code).split()
    assert name == config["name"] and module.startswith("lucidnet.")


def test_every_plugin_name_builds_its_registered_class():
    from lucidnet.models import registry
    for name, module in registry.PLUGINS.items():
        assert registry.lookup(name).__module__ == module
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        ln.models.build({"name": "nope"})


def test_show_config_lists_versions_kernels_threads_and_settings(capsys):
    ln.show_config()
    out = capsys.readouterr().out
    for word in ("numpy", "numba", "threadpoolctl", "safetensors", "kernels:", "threads:", "BLAS",
                 "LUCIDNET_ALLOCATOR_CACHE=0", "NUMBA_THREADING_LAYER", "workqueue", "lucidnet.set_num_threads"):
        assert word in out, word


def test_numba_switch_is_read_from_the_environment():
    code = "from lucidnet import kernels; print(kernels.numba_enabled(), kernels.status()[0])"
    assert _run(code, LUCIDNET_NUMBA="0").split() == ["False", "NumPy"]


def test_set_num_threads_sets_numba_blas_and_row_workers():
    pytest.importorskip("threadpoolctl")
    code = ("import json, numpy as np, lucidnet as ln; from threadpoolctl import threadpool_info; "
            "ln.set_num_threads(1); ln.nn.LSTM(4, 8)(ln.randn(3, 2, 4)); import numba; "
            "print(json.dumps([ln.get_num_threads(), numba.get_num_threads(), "
            "[i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']]))")
    got, nb, blas = json.loads(_run(code))
    assert got == 1 and nb == 1 and set(blas) == {1}


def test_blas_threads_of_a_linear_are_the_same_before_and_after_an_lstm():
    """The recurrent kernels set BLAS to one thread only for their own duration."""
    pytest.importorskip("threadpoolctl")
    if not kernels.numba_available():
        pytest.skip("numba is not installed")
    code = """
import json, lucidnet as ln
from threadpoolctl import threadpool_info, threadpool_limits
def blas():  # NumPy's BLAS (numba loads scipy's too, later)
    return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
threadpool_limits(2, user_api="blas")
lin, lstm = ln.nn.Linear(256, 256), ln.nn.LSTM(16, 32)  # a GEMM large enough for the row workers
lin(ln.randn(512, 256))
before = blas()
y, _ = lstm(ln.randn(5, 8, 16, requires_grad=True))
y.sum().backward()
lin(ln.randn(512, 256)).sum().backward()
print(json.dumps([before, blas()]))
"""
    # LUCIDNET_NUM_THREADS, when the calling environment sets it, is applied to every BLAS numba loads: left out
    before, after = json.loads(_run(code, LUCIDNET_NUM_THREADS=None))
    assert before and all(after[lib] == n for lib, n in before.items()), (before, after)


def test_own_blas_restores_the_limit_and_nests(monkeypatch):
    from lucidnet.kernels import threads
    calls = []

    class Lib:
        num_threads = 4

        def set_num_threads(self, n):
            calls.append(n)
            self.num_threads = n

    lib = Lib()
    monkeypatch.setattr(threads, "_blas", lambda: [lib])
    monkeypatch.setattr(threads, "_threads", lambda: 2)
    monkeypatch.setattr(ln.config, "_num_threads", None)
    with threads.own_blas():
        assert lib.num_threads == 1 and threads._owned
        with threads.own_blas():
            assert lib.num_threads == 1
        assert threads._owned
    assert lib.num_threads == 4 and not threads._owned and calls == [1, 4]
    monkeypatch.setattr(ln.config, "_num_threads", 2)  # an explicit setting governs: BLAS left alone
    with threads.own_blas():
        assert lib.num_threads == 4 and threads._owned
    assert calls == [1, 4]


def test_kernel_families_select_compiled_or_numpy():
    f32, f64 = np.zeros(1, np.float32), np.zeros(1, np.float64)
    assert kernels.select("rnn", f64).__name__ == "lucidnet.kernels.rnn_numpy"
    assert kernels.select("optim", f64).__name__ == "lucidnet.kernels.optim_numpy"
    assert kernels.compiled("norm", f64) is None
    previous = kernels.set_numba(False)
    try:
        assert kernels.compiled("rnn", f32) is None
    finally:
        kernels.set_numba(previous)
    if kernels.numba_available():
        assert kernels.select("rnn", f32).__name__ == "lucidnet.kernels.rnn_numba"
    with pytest.raises(ValueError, match="no NumPy twin"):
        previous = kernels.set_numba(False)
        try:
            kernels.select("norm", f32)
        finally:
            kernels.set_numba(previous)
