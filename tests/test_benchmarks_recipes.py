"""benchmarks/recipes.py (whole recipes, lucidnet's CLI beside PyTorch): its options, the scripts of both sides
well-formed, the PyTorch side's data readers loaded without lucidnet's engine. Nothing here is timed or trains."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lucidnet.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_recipes", ROOT / "benchmarks" / "recipes.py")
bench = sys.modules["bench_recipes"] = importlib.util.module_from_spec(_spec)  # dataclasses look their module up
_spec.loader.exec_module(bench)


def test_options_default_to_every_recipe_on_one_thread():
    a = bench.parse_args([])
    assert a.recipes == ["mlp", "cnn", "bilstm", "char-lstm", "neumf", "minilm"]
    assert (a.threads, a.rounds, a.quick) == (1, 1, False)
    a = bench.parse_args(["--recipes", "cnn", "neumf", "--threads", "2", "--rounds", "3", "--quick"])
    assert (a.recipes, a.threads, a.rounds, a.quick) == (["cnn", "neumf"], 2, 3, True)


@pytest.mark.parametrize("argv, message", [(["--recipes", "resnet"], "unknown recipe 'resnet'"),
                                           (["--threads", "0"], "must be positive"),
                                           (["--rounds", "0"], "must be positive")])
def test_bad_options_are_refused_with_a_reason(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert message in capsys.readouterr().err


def test_the_measurement_needs_the_data_folder(monkeypatch):
    monkeypatch.delenv("LUCIDNET_DATA", raising=False)
    with pytest.raises(SystemExit, match="LUCIDNET_DATA"):
        bench.main(["--recipes", "mlp", "--quick"])


@pytest.mark.parametrize("name", list(bench.RECIPES))
def test_each_recipe_is_a_cli_command_and_a_pytorch_script_of_the_same_metrics(name, tmp_path):
    r = bench.RECIPES[name]
    args = build_parser().parse_args(["train", *r.arguments(), "--out", str(tmp_path), "--quiet"])
    assert (args.dataset, args.model, args.epochs) == (r.cli[1], r.cli[3], r.epochs)
    compile(bench.TORCH_PRELUDE + r.torch, f"<pytorch {name}>", "exec")
    printed = set(re.findall(r'metric\("([\w@]+)"', r.torch))
    assert printed == set(r.metrics), f"{name}: the PyTorch script prints {printed}, lucidnet's run {r.metrics}"
    assert r.torch.count("trained()") == 1 and "STEPS" in r.torch   # marks the end of training; honours --quick
    assert 0 < r.quick_steps and (r.steps == 0 or r.quick_steps < r.steps)


def test_the_lucidnet_side_never_imports_torch():
    compile(bench.LUCIDNET_SIDE, "<lucidnet side>", "exec")
    assert not re.search(r"^\s*(import|from) torch", bench.LUCIDNET_SIDE, re.M)


def test_the_pytorch_side_reads_data_without_lucidnets_engine():
    """The readers every PyTorch script imports load, and nothing of lucidnet's engine (nor numba) comes with them."""
    imports = sorted(set(re.findall(r"^from (lucidnet[\w.]*) import", "".join(
        bench.TORCH_PRELUDE + r.torch for r in bench.RECIPES.values()), re.M)))
    assert "lucidnet.datasets.mnist" in imports and "lucidnet.recsys.evaluation" in imports
    probe = bench.READERS + "".join(f"import {m}\n" for m in imports) + (
        "bad = sorted(m for m in sys.modules if m in ('numba', 'torch') or m.startswith(('lucidnet.autograd', "
        "'lucidnet.nn', 'lucidnet.ops', 'lucidnet.backend')))\n"
        "assert not bad, bad\n"
        "import lucidnet.tensor as t\n"
        "try:\n    t.from_numpy(None)\nexcept RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", probe], env=bench.thread_env(1), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "the PyTorch side used lucidnet.tensor.from_numpy" in out.stdout


def test_a_side_reports_wall_and_cpu_time_to_the_trained_model():
    """Both sides print ``TRAINED <wall clock> <process CPU time>``; the driver splits train from final by the
    wall clock and keeps the CPU seconds spent up to that line (busy work before it counts, sleep does not)."""
    assert bench.LUCIDNET_SIDE.count("time.process_time()") == bench.TORCH_PRELUDE.count("time.process_time()") == 1
    script = ("import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass\n"
              "print('TRAINED', time.time(), time.process_time(), flush=True)\ntime.sleep(0.3)\n")
    train, final, rss, cpu, text = bench.run_process([sys.executable, "-c", script], bench.thread_env(1), "probe")
    assert 0.3 <= cpu < train + 0.05 and final >= 0.25 and rss > 0
    with pytest.raises(SystemExit, match="never reported the end of training"):
        bench.run_process([sys.executable, "-c", "pass"], bench.thread_env(1), "probe")
