"""``lucidnet report RUN_DIR``: rebuild a run's report.html (and run the doctor again) from its files."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..inspect import MonitorLog
from ..inspect.report import MONITOR, REPORT, build_report
from . import rundir


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="rebuild a run's report.html and print the doctor's findings",
                       description="Rebuild report.html in a run directory written by 'lucidnet train' from the "
                                   "files there (history.csv, monitor.json, predictions.npz, config.json, "
                                   "metrics.json, the model), and print the doctor's findings.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(run=run)


def read_history(path: Path) -> dict[str, list]:
    """``history.csv`` (written by ``CSVLogger``) as ``{column: [float or None per epoch]}``, without ``epoch``."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], [r for r in rows[1:] if r]
    return {k: [float(r[i]) if i < len(r) and r[i] != "" else None for r in body]
            for i, k in enumerate(header) if k != "epoch"}


def run(args) -> int:
    d = Path(args.run_dir)
    model, config = rundir.load_run(d)
    history = read_history(d / rundir.HISTORY) if (d / rundir.HISTORY).is_file() else {}
    log = MonitorLog.load(d / MONITOR) if (d / MONITOR).is_file() else None
    metrics = json.loads((d / rundir.METRICS).read_text()) if (d / rundir.METRICS).is_file() else None
    diagnosis = build_report(d, history, log, model, config=config, metrics=metrics)
    print(diagnosis)
    print(f"report written to {d / REPORT}")
    return 0
