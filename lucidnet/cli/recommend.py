"""``lucidnet recommend RUN_DIR --user 42 -k 10``: a trained recommender's top items for a user."""
from __future__ import annotations

from pathlib import Path

from .. import recsys
from ..recsys import Catalog
from ..train import rundir


def add_parser(sub) -> None:
    p = sub.add_parser("recommend", help="recommend items to a user with a trained recommender run",
                       description="Print the top items (titles and scores) for a user of a run directory written "
                                   "by 'lucidnet train --dataset ml-100k'. Scores are predicted ratings (mf, "
                                   "autorec) or probabilities (neumf, gmf, ncf_mlp). Items the user rated in "
                                   "training are left out unless --include-seen.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--user", required=True, type=int, help="the user's id as in the data (u.data)")
    p.add_argument("-k", "--top", type=int, default=10, help="how many items")
    p.add_argument("--include-seen", action="store_true", help="also rank items the user rated in training")
    p.set_defaults(run=run)


def load(run_dir: str):
    """(model with its catalog attached, config) from a recommender run directory."""
    model, config = rundir.load_run(run_dir)
    if not isinstance(model, recsys.Recommender):
        raise ValueError(f"{run_dir} holds a {config['model'].get('name')!r} model, not a recommender; "
                         "train one with: lucidnet train --dataset ml-100k --model mf")
    model.catalog = Catalog.load(Path(run_dir) / rundir.CATALOG)
    return model, config


def run(args) -> int:
    model, config = load(args.run_dir)
    rec = model.recommend(args.user, k=args.top, exclude_seen=not args.include_seen)
    kind = "probability" if model.implicit else "predicted rating"
    print(f"{config['model']['name']} on {config.get('dataset', '?')}: top {len(rec)} for user {rec.user_id} "
          f"(score: {kind})")
    for rank, (item, title, score) in enumerate(rec, 1):
        print(f"{rank:3d}. {score:7.3f}  {title}  [item {item}]")
    return 0
