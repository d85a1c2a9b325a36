"""``lucidnet detect RUN_DIR IMAGE... --out annotated.png``: pedestrians found by a detector or segmenter run
(``lucidnet train --dataset pennfudan``), printed as boxes with scores and drawn (boxes, scores, masks)."""
from __future__ import annotations

import time
from pathlib import Path

from ..serialization.atomic import atomic_write
from . import tasks


def add_parser(sub) -> None:
    p = sub.add_parser("detect", help="find and outline pedestrians in photos with a pennfudan run",
                       description="Detect pedestrians in image files with a detector run (boxes, scores and "
                                   "instance masks) or segment them with a segmenter run (the person mask), and "
                                   "draw them. With one image, --out is the annotated file; with several, a folder.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="PNG, JPEG or other Pillow-readable photos")
    p.add_argument("--out", metavar="PATH", default=None,
                   help="where the annotated PNG goes (several images: a folder, one NAME.png each); default: none")
    p.add_argument("--score-threshold", type=float, default=0.3,
                   help="the least score of a box shown (default: %(default)s)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..vision.detection.draw import draw_detections, png_bytes
    from ..vision.detection.recipes import TASKS, detect_files
    task = tasks.task_of(tasks.family_of_run(args.run_dir)[1])
    if task not in TASKS:
        raise ValueError(f"{args.run_dir} holds a {task} run; lucidnet detect needs a detector or segmenter run "
                         "(lucidnet train --dataset pennfudan --model detector|segmenter)")
    if not 0 <= args.score_threshold <= 1:
        raise ValueError(f"--score-threshold must be in [0, 1], got {args.score_threshold}")
    t0 = time.perf_counter()
    results = detect_files(args.run_dir, args.images, args.score_threshold)
    seconds = time.perf_counter() - t0
    for path, (image, p) in zip(args.images, results):
        found = ", ".join(f"[{b[0]:.0f} {b[1]:.0f} {b[2]:.0f} {b[3]:.0f}] {s:.2f}" for b, s in zip(p.boxes, p.scores))
        people = f"{len(p.boxes)} pedestrian{'s' if len(p.boxes) != 1 else ''}" if p.masks is not None or len(p.boxes) \
            else "person mask"
        extra = f", person pixels {int((p.person > 0.5).sum())}" if p.person is not None else ""
        print(f"{path}: {people}{': ' + found if found else ''}{extra}")
    if args.out is not None:
        out = Path(args.out)
        if len(results) > 1:
            out.mkdir(parents=True, exist_ok=True)
        for path, (image, p) in zip(args.images, results):
            masks = p.masks if p.masks is not None and len(p.boxes) else \
                None if p.person is None else (p.person > 0.5)[None]
            target = out / f"{Path(path).stem}.png" if len(results) > 1 else out
            atomic_write(target, [png_bytes(draw_detections(image, p.boxes, p.scores, masks))])
        print(f"annotated: {out}")
    print(f"{seconds / len(results):.2f} s per image (reading the run and the images included)")
    return 0
