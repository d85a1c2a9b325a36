#!/usr/bin/env python3
"""Learning from few labels on Fashion-MNIST: 10, 50 and 100 labelled training images per class (drawn with
seed 0), tested on the full test set (10,000 images), three ways: SimpleCNN from scratch, SimpleCNN with
augmentation (random crops and flips), and MobileNetV2 pretrained on ImageNet and fine-tuned (images resized
to 96x96, grey repeated into RGB). Each run is the recipe of ``lucidnet train`` with ``--labels-per-class``:

    LUCIDNET_DATA=../shared/data python benchmarks/few_labels.py [--per-class 10 50 100] [--only cnn ...]

Prints one line per run and a Markdown table at the end.
"""
from __future__ import annotations

import argparse
import time

from lucidnet.train.recipe import run
from lucidnet.vision.recipes import RECIPES

# name -> (recipe, overrides); epochs chosen so the smallest set still gets ~100 steps
SETUPS = {
    "cnn": ("cnn", {"batch_size": 32}),
    "cnn + augment": ("cnn", {"batch_size": 32, "augment": "crop-flip"}),
    "mobilenet (pretrained)": ("mobilenet", {"batch_size": 32}),
}
EPOCHS = {"cnn": {10: 30, 50: 30, 100: 30}, "mobilenet": {10: 15, 50: 15, 100: 15}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, nargs="+", default=[10, 50, 100])
    p.add_argument("--only", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    table: dict[tuple[str, int], float] = {}
    for n in a.per_class:
        for name in a.only:
            recipe, overrides = SETUPS[name]
            epochs = EPOCHS[recipe].get(n, 15)
            t0 = time.perf_counter()
            r = run(RECIPES[recipe], {**overrides, "labels_per_class": n, "epochs": epochs,
                                      "dataset": "fashion-mnist"}, seed=a.seed, verbose=0)
            acc = r.metrics["test_accuracy"]
            table[name, n] = acc
            print(f"{name:24s} {n:4d}/class  epochs {epochs:3d}  test accuracy {acc:.4f}  "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    print("\n| model | " + " | ".join(f"{n}/class" for n in a.per_class) + " |")
    print("|---|" + "---:|" * len(a.per_class))
    for name in a.only:
        print(f"| {name} | " + " | ".join(f"{100 * table[name, n]:.1f}%" for n in a.per_class) + " |")


if __name__ == "__main__":
    main()
