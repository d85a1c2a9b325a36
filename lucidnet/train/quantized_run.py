"""``quantize_run(src, out)``: an int8 copy of a trained run directory (what ``lucidnet quantize`` writes).

The model of ``src`` is quantized by ``lucidnet.quantization``: dynamically (int8 weights, activations
quantized at run time) when it has no convolution, statically when it has (BatchNorm folded into the
convolutions, activation ranges calibrated on the ``calibration`` inputs). ``out`` receives the quantized
``model.safetensors`` (int8 values with their scales), ``config.json`` with a ``quantization`` entry (the
replaced layers, so ``rundir.load_run`` rebuilds the model) and the files a run needs to be used (vocabulary,
tokenizer, catalog, preprocessing). Training history, metrics and reports stay with the float run.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any, Iterable

from .. import nn
from ..quantization import DEFAULT_DYNAMIC_SPEC, quantize_dynamic, quantize_static, spec_of
from ..serialization import save
from . import rundir

__all__ = ["quantize_run", "has_convolutions", "COPIED", "RUN_DYNAMIC_SPEC"]

COPIED = (rundir.VOCAB, rundir.TOKENIZER, rundir.CATALOG, rundir.PREPROCESS)
# a run's dynamic quantization: PyTorch's default layers and the embedding tables (weight-only, per row)
RUN_DYNAMIC_SPEC = DEFAULT_DYNAMIC_SPEC | {nn.Embedding}


def has_convolutions(model: nn.Module) -> bool:
    """Whether static quantization (calibrated) is the scheme for ``model``: it has 2-D convolutions."""
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def quantize_run(src: str | Path, out: str | Path, calibration: Iterable[Any] | None = None,
                 observer: str = "minmax", overwrite: bool = False) -> dict[str, Any]:
    """Quantize the run in ``src`` into the run directory ``out``; returns its ``config.json``. ``calibration``:
    input batches (Tensors) for a model with convolutions; refused for one without."""
    src, out = Path(src), Path(out)
    model, config = rundir.load_run(src)
    if "quantization" in config:
        raise ValueError(f"{src}: this run is already quantized ({config['quantization'].get('scheme')} int8)")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; choose another --out (or --overwrite)")
    if out.resolve() == src.resolve():
        raise ValueError(f"--out {out} is the float run itself; quantize into a directory of its own")
    if has_convolutions(model):
        if calibration is None:
            raise ValueError(f"{src}: the model has convolutions, which are quantized statically: calibration "
                             "inputs are needed")
        qmodel, scheme = quantize_static(model, calibration, observer=observer), "static"
    else:
        if calibration is not None:
            raise ValueError(f"{src}: the model has no convolutions and is quantized dynamically (activation ranges "
                             "measured at run time): calibration does not apply")
        with warnings.catch_warnings():  # the cells of the default spec, absent or not, are no news to a run
            warnings.filterwarnings("ignore", message=r"quantize_dynamic: .*(LSTMCell|GRUCell|RNNCell)")
            qmodel, scheme = quantize_dynamic(model, RUN_DYNAMIC_SPEC), "dynamic"
    spec = spec_of(qmodel)
    spec["scheme"] = scheme
    if scheme == "static":
        spec["observer"] = observer
    config = {**config, "quantization": spec, "float_run": str(src)}
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)
    save(qmodel.state_dict(), out / rundir.MODEL)
    rundir.write_json(out / rundir.CONFIG, config)
    return config
