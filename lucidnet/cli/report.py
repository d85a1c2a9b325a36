"""``lucidnet report RUN_DIR``: rebuild a run's report.html (and run the doctor again) from its files."""
from __future__ import annotations

from pathlib import Path

from ..inspect import MonitorLog
from ..inspect.report import build_report
from ..train import rundir
from . import tasks


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="rebuild a run's report.html and print the doctor's findings",
                       description="Rebuild report.html in a run directory written by 'lucidnet train' from the "
                                   "files there (history.csv, monitor.json, predictions.npz, config.json, "
                                   "metrics.json, the model), and print the doctor's findings.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(run=run)


def run(args) -> int:
    d = Path(args.run_dir)
    model, config = rundir.load_run(d)
    history = rundir.read_history(d / rundir.HISTORY) if (d / rundir.HISTORY).is_file() else {}
    log = MonitorLog.load(d / rundir.MONITOR) if (d / rundir.MONITOR).is_file() else None
    metrics = rundir.read_json(d / rundir.METRICS) if (d / rundir.METRICS).is_file() else None
    # an application's own figures (drawn from the test data at the end of training) are kept as they were drawn
    try:
        family = tasks.family_of_run(str(d))[0]
    except ValueError:  # a run of no known application: the generic report
        family = None
    figures = [(key, title, (d / rundir.PLOTS / f"{key}.png").read_bytes(), caption)
               for key, (title, caption) in getattr(family, "FIGURES", {}).items()
               if (d / rundir.PLOTS / f"{key}.png").is_file()]
    diagnosis = build_report(d, history, log, model, config=config, metrics=metrics, figures=figures)
    print(diagnosis)
    print(f"report written to {d / rundir.REPORT}")
    return 0
