"""``lucidnet export RUN_DIR --format onnx``: a trained run's model as an ONNX file, for runtimes without lucidnet.

The graph takes what the model takes: images normalised as ``config.json``'s ``input`` says (N, C, H, W), token
ids from the run's vocabulary (N, T), a table's preprocessed features; its batch axis is dynamic (fixed with
``--batch-size``), and so is the sequence axis of a text model. An int8 run (``lucidnet quantize``) exports with
integer ONNX operators (``lucidnet.onnx.quantized``) that ONNX Runtime runs with its int8 kernels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import nn
from ..onnx import OnnxExporterError, export
from ..quantization import QuantizedEmbedding
from ..tables.recipes import TASKS as TABLE_TASKS
from ..tensor import Tensor
from ..train import rundir
from . import tasks

FORMATS = ("onnx",)
EXAMPLE_LENGTH = 16  # the token ids' example length (the sequence axis is dynamic)
_TEXT_TASKS = ("text-classification", "language-model")
_CLASSIFIERS = ("image-classification", "text-classification", "tabular-classification")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a trained run's model as an ONNX file",
                       description="Write the model of a run directory written by 'lucidnet train' as an ONNX file "
                                   "(checked with onnx.checker) that ONNX Runtime and other runtimes run without "
                                   "lucidnet. Image, text classifier, language model and table runs, float or int8 (lucidnet "
                                   "quantize: integer ONNX operators); the graph takes the model's own inputs "
                                   "(normalised images, token ids, preprocessed features).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", default="onnx", help=f"the file format (default onnx; one of {', '.join(FORMATS)})")
    p.add_argument("--out", metavar="FILE", default=None, help="where to write it (default: RUN_DIR/model.onnx)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="a fixed batch size (default: a dynamic batch axis)")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.format not in FORMATS:
        raise ValueError(f"--format {args.format!r} is not supported; formats: {', '.join(FORMATS)}")
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {args.batch_size}")
    task = tasks.task_of(tasks.family_of_run(args.run_dir)[1])
    model, config = rundir.load_run(args.run_dir)
    inputs, names, axes = example_inputs(model, config, task, args.batch_size or 2)
    dynamic = {n: {k: v for k, v in ax.items() if args.batch_size is None or k != 0} for n, ax in zip(names, axes)}
    out = Path(args.out) if args.out else Path(args.run_dir) / "model.onnx"
    try:
        export(model, inputs, out, input_names=names, dynamic_axes=dynamic,
               output_names=["logits"] if task in _CLASSIFIERS else None)
    except OnnxExporterError as e:
        raise ValueError(str(e)) from None
    shapes = ", ".join(f"{n} {_shape(t, dynamic[n])}" for n, t in zip(names, inputs))
    int8 = f", int8 ({config['quantization'].get('scheme')})" if "quantization" in config else ""
    print(f"{config['model'].get('name')} written to {out} (ONNX{int8}; inputs: {shapes})")
    return 0


def _shape(t: Tensor, axes: dict) -> str:
    return "(" + ", ".join(axes.get(i, str(n)) for i, n in enumerate(t.shape)) + ")"


def example_inputs(model: nn.Module, config: dict, task: str, batch: int) -> tuple[tuple, list, list]:
    """(example tensors, input names, {axis: symbol} per input) of a run's model."""
    rng = np.random.default_rng(0)
    if task == "image-classification":
        shape = tuple(config["input"]["shape"])
        return (Tensor(rng.standard_normal((batch, *shape)).astype(np.float32)),), ["images"], [{0: "batch"}]
    if task in _TEXT_TASKS:
        emb = next((m for m in model.modules() if isinstance(m, (nn.Embedding, QuantizedEmbedding))), None)
        vocab = emb.num_embeddings if emb is not None else 2
        length = max(EXAMPLE_LENGTH, int(getattr(model, "min_length", 1)))
        ids = rng.integers(1, max(vocab, 2), size=(batch, length))
        return (Tensor(ids.astype(np.int64)),), ["tokens"], [{0: "batch", 1: "sequence"}]
    if task in TABLE_TASKS:
        m = config["model"]
        x = Tensor(rng.standard_normal((batch, int(m["num_features"]))).astype(np.float32))
        cards = m.get("cardinalities") or []
        if not cards:
            return (x,), ["features"], [{0: "batch"}]
        codes = np.stack([rng.integers(0, c, size=batch) for c in cards], axis=1).astype(np.int64)
        return (x, Tensor(codes)), ["features", "codes"], [{0: "batch"}, {0: "batch"}]
    raise ValueError(f"lucidnet export writes image, text classifier, language model and table runs; this run's task "
                     f"is {task!r}")
