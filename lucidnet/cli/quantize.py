"""``lucidnet quantize RUN_DIR --out RUN_INT8 [--calibrate N]``: an int8 copy of a trained run.

Text and other models without convolutions are quantized dynamically (int8 weights; activations quantized at
run time); image models statically, calibrated on N training images (BatchNorm folded first). The result is a
run directory that ``lucidnet evaluate`` (and predict, export) read like any other.
"""
from __future__ import annotations

from ..tensor import from_numpy
from ..train import rundir
from ..train.quantized_run import has_convolutions, quantize_run
from ..vision import recipes as vision_recipes
from . import tasks

OBSERVERS = ("minmax", "percentile", "entropy")
DEFAULT_CALIBRATION = 512
CALIBRATION_BATCH = 64


def add_parser(sub) -> None:
    p = sub.add_parser("quantize", help="write an int8 copy of a trained run",
                       description="Quantize the model of a run directory to int8 into a new run directory: "
                                   "dynamically (Linear and recurrent layers; activations quantized at run time) "
                                   "for models without convolutions, statically for image models (convolutions and "
                                   "Linear layers, BatchNorm folded, activation ranges calibrated on training "
                                   "images). 'lucidnet evaluate RUN_INT8' then measures it.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="DIR", required=True, help="the new run directory (must not exist or be empty)")
    p.add_argument("--calibrate", type=int, metavar="N", default=None,
                   help=f"image models: calibrate on N training images (default {DEFAULT_CALIBRATION}); "
                        "refused for models quantized dynamically")
    p.add_argument("--observer", choices=OBSERVERS, default=None,
                   help="image models: how a layer's input range is chosen from the calibration images (default "
                        "minmax; percentile: 99.99th; entropy: the histogram's KL-optimal clip)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="image models: the dataset's directory (default: the one the run was trained on)")
    p.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    p.set_defaults(run=run)


def run(args) -> int:
    family, config = tasks.family_of_run(args.run_dir)
    model, _ = rundir.load_run(args.run_dir)
    calibration = None
    if has_convolutions(model):
        if family is not vision_recipes:
            raise ValueError(f"{args.run_dir}: static quantization (a model with convolutions) calibrates on images; "
                             f"this is a {tasks.task_of(config)} run")
        n = DEFAULT_CALIBRATION if args.calibrate is None else args.calibrate
        x = vision_recipes.calibration_images(args.run_dir, n, args.data)
        calibration = [from_numpy(x[i:i + CALIBRATION_BATCH]) for i in range(0, len(x), CALIBRATION_BATCH)]
    else:
        for flag, value in (("--calibrate", args.calibrate), ("--observer", args.observer), ("--data", args.data)):
            if value is not None:
                raise ValueError(f"{flag} does not apply: {config['model'].get('name')} has no convolutions and is "
                                 "quantized dynamically (activation ranges measured at run time)")
    out = quantize_run(args.run_dir, args.out, calibration, observer=args.observer or "minmax",
                       overwrite=args.overwrite)
    q = out["quantization"]
    extra = f", calibrated on {sum(len(b) for b in calibration)} images ({q['observer']})" if calibration else ""
    print(f"{config['model'].get('name')} quantized to int8 ({q['scheme']}{extra}): {len(q['layers'])} layers replaced; "
          f"written to {args.out}")
    return 0
