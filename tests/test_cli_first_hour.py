"""What a new user trips over with ``lucidnet train`` (issue 23), each run as a user would, in a subprocess:
resume, shared run directories, numbers out of range, messages, broken pipes, big images."""
import json
import os
import subprocess
import sys

import pytest

SMALL = ["--epochs", "1", "--batch-size", "256"]


def _lucidnet(*argv, **kw):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-m", "lucidnet", *argv], capture_output=True, text=True, env=env,
                          timeout=300, **kw)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "done"
    r = _lucidnet("train", *SMALL, "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def test_resume_with_nothing_to_resume_is_an_error(tmp_path, finished):
    r = _lucidnet("train", *SMALL, "--resume", "--out", str(tmp_path / "empty"), "--quiet")
    assert r.returncode == 2 and "nothing to resume" in r.stderr and "holds no run" in r.stderr
    before = (finished / "model.safetensors").read_bytes()
    r = _lucidnet("train", *SMALL, "--resume", "--out", str(finished), "--quiet")
    assert r.returncode == 2 and "holds a finished run" in r.stderr
    assert (finished / "model.safetensors").read_bytes() == before      # never retrained over


def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path, finished):
    before = (finished / "metrics.json").read_text()
    r = _lucidnet("train", *SMALL, "--out", str(finished), "--quiet")
    assert r.returncode == 2 and "already holds a finished run" in r.stderr and "--overwrite" in r.stderr
    assert (finished / "metrics.json").read_text() == before
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in finished.iterdir():
        if f.is_file():
            (copy / f.name).write_bytes(f.read_bytes())
    (copy / "mine.txt").write_text("not lucidnet's")
    r = _lucidnet("train", *SMALL, "--lr", "0.01", "--out", str(copy), "--overwrite", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((copy / "config.json").read_text())["train"]["lr"] == 0.01
    assert (copy / "mine.txt").read_text() == "not lucidnet's"           # only the run's own files are replaced


def test_resume_refuses_changed_settings_with_the_differences(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.safetensors").write_bytes(b"")   # an interrupted run: its checkpoint and run.json
    (out / "run.json").write_text(json.dumps({"recipe": "mlp", "seed": 0, "status": "running", "settings": {
        "epochs": 4, "lr": None}}))
    r = _lucidnet("train", "--epochs", "8", "--lr", "0.01", "--resume", "--out", str(out), "--quiet")
    assert r.returncode == 2 and "other settings than it started with" in r.stderr
    assert "epochs: 4 -> 8" in r.stderr and "lr: None -> 0.01" in r.stderr


def test_a_run_directory_in_use_is_refused_naming_the_process(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(str(holder.pid))
        r = _lucidnet("train", *SMALL, "--out", str(out), "--quiet")
        assert r.returncode == 2 and f"in use by another run (process {holder.pid})" in r.stderr
        assert not (out / "history.csv").exists()
    finally:
        holder.kill()
        holder.wait()
    r = _lucidnet("train", *SMALL, "--out", str(out), "--quiet")        # a stale lock is taken over
    assert r.returncode == 0, r.stderr
    assert not (out / ".lock").exists() and json.loads((out / "run.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("option, value, expected", [
    ("--lr", "nan", "finite"), ("--lr", "inf", "finite"), ("--lr", "0", "(0.0, inf)"),
    ("--weight-decay", "-1", "[0.0, inf)"), ("--label-smoothing", "1", "[0.0, 1.0)"), ("--dropout", "1.5", "[0.0"),
    ("--epochs", "0", "[1, inf)"), ("--batch-size", "2.5", "integer"), ("--val-split", "nan", "finite")])
def test_numbers_out_of_range_are_refused(option, value, expected, tmp_path):
    r = _lucidnet("train", option, value, "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and f"argument {option}" in r.stderr and expected in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "RuntimeWarning" not in r.stderr and not (tmp_path / "r").exists()


def test_a_model_of_another_application_is_named_as_such(tmp_path):
    r = _lucidnet("train", "--model", "lstm", "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "--dataset fashion-mnist-bundled takes --model cnn, mlp, mobilenet, resnet, vgg; got 'lstm'" \
        in r.stderr and "recommender" not in r.stderr


def test_run_files_are_readable_like_any_new_file(finished):
    """safetensors re-creates the model file with mode 0o600; lucidnet gives it the mode of its other files."""
    mode = lambda name: (finished / name).stat().st_mode & 0o777  # noqa: E731
    assert mode("model.safetensors") == mode("config.json") == mode("metrics.json")


def test_output_to_a_closed_pipe_does_not_kill_training(tmp_path):
    out = tmp_path / "piped"
    cmd = f"{sys.executable} -m lucidnet train {' '.join(SMALL)} --out {out} | head -1"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    assert r.returncode == 0 and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert (out / "metrics.json").is_file()                                # the run went on to the end


def test_predict_refuses_a_decompression_bomb(tmp_path, finished):
    Image = pytest.importorskip("PIL.Image")
    big = tmp_path / "big.png"
    Image.new("L", (10_000, 10_000)).save(big)                          # 100 MP: over Pillow's limit
    r = _lucidnet("predict", str(finished), str(big))
    assert r.returncode == 2 and "too large to read safely" in r.stderr and "Traceback" not in r.stderr


def test_version_and_the_data_option_named_for_a_file(tmp_path):
    r = _lucidnet("--version")
    assert r.returncode == 0 and r.stdout.startswith("lucidnet ")
    f = tmp_path / "notadir"
    f.write_text("x")
    r = _lucidnet("train", "--dataset", "mnist", "--data", str(f), "--out", str(tmp_path / "r"), "--quiet")
    assert r.returncode == 2 and "a file, not a directory" in r.stderr and "root=" not in r.stderr.split("(")[0]


def test_without_matplotlib_the_run_says_so_first_and_writes_the_report_without_plots(tmp_path):
    block = ("import sys\n"
             "class NoMatplotlib:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] == 'matplotlib':\n"
             "            raise ImportError('no matplotlib here')\n"
             "sys.meta_path.insert(0, NoMatplotlib())\n"
             "from lucidnet.cli import main\n"
             f"sys.exit(main(['train', '--epochs', '1', '--out', {str(tmp_path / 'r')!r}, '--quiet']))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith('note: matplotlib is not installed, so report.html will have no plots: '
                               'pip install "lucidnet[report]"')
    assert "lucidnet: warning: " in r.stderr and "report.py" not in r.stderr    # no library file paths
    assert (tmp_path / "r" / "report.html").is_file()
