"""Which application a run directory belongs to, from the task its ``config.json`` records."""
from __future__ import annotations

from types import ModuleType

from ..recsys import recipes as recsys_recipes
from ..speech import recipes as speech_recipes
from ..tables import recipes as table_recipes
from ..text import recipes as text_recipes
from ..train import rundir
from ..vision import recipes as vision_recipes
from ..vision.detection import recipes as detection_recipes

FAMILIES = (vision_recipes, detection_recipes, text_recipes, recsys_recipes, table_recipes, speech_recipes)
# the task names of run directories written before the recipes had one shape
_OLD_TASKS = {"explicit": "rating-prediction", "implicit": "ranking"}


def task_of(config: dict) -> str:
    task = config.get("task") or ("image-classification" if "input" in config else None)
    return _OLD_TASKS.get(task, task)


def family_of_run(run_dir: str) -> tuple[ModuleType, dict]:
    """(the application's recipes module, config) of a run directory."""
    config = rundir.load_config(run_dir)
    task = task_of(config)
    for family in FAMILIES:
        if task in family.TASKS:
            return family, config
    raise ValueError(f"{run_dir}: config.json names no task lucidnet knows ({task!r}); known: "
                     f"{', '.join(t for f in FAMILIES for t in f.TASKS)}")
