"""``lucidnet train`` is strict: every option that a task's recipe has no setting for is refused, naming the
option, the dataset and the model, before any work starts; the options that apply reach the recipe and the
saved config records every setting that ran."""
import pytest

from lucidnet.cli import build_parser, main
from lucidnet.cli.train import (BATCH_SIZE, NON_NEGATIVE_INT, POSITIVE_INT, SETTING_OPTIONS, TASKS, image_size_arg,
                                resolve, split_arg)
from lucidnet.train.recipe import Recipe


def _resolve(*argv):
    return resolve(build_parser().parse_args(["train", *argv]))


# one task per row: a dataset and model, then options that do not apply to it
REFUSED = [
    (["--dataset", "fashion-mnist-bundled", "--model", "mlp"],
     ["--embed-dim", "8", "--seq-len", "4", "--split", "u2", "--negatives", "2", "--min-freq", "2"]),
    (["--dataset", "sst2", "--model", "bilstm"],
     ["--augment", "--label-smoothing", "0.1", "--weight-decay", "0.1", "--split", "u2", "--clip", "1"]),
    (["--dataset", "sst2", "--model", "textcnn"], ["--hidden-size", "8", "--pooling", "max", "--seq-len", "4"]),
    (["--dataset", "tinyshakespeare", "--model", "char-lstm"],
     ["--augment", "crop-flip", "--min-freq", "2", "--val-split", "0.1", "--pooling", "max"]),
    (["--dataset", "ml-100k", "--model", "mf"], ["--augment", "--schedule", "onecycle", "--negatives", "2", "--resume"]),
    (["--dataset", "ml-100k", "--model", "neumf"], ["--split", "u2", "--val-split", "0.1", "--label-smoothing", "0.1"]),
]


@pytest.mark.parametrize("task, extra", REFUSED, ids=[f"{t[1]}-{t[3]}" for t, _ in REFUSED])
def test_inapplicable_options_are_refused_by_name(task, extra, capsys, tmp_path):
    assert main(["train", *task, *extra, "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    flags = [a for a in extra if a.startswith("--")]
    assert f"do{'' if len(flags) > 1 else 'es'} not apply to {task[0]} {task[1]} {task[2]} {task[3]}" in err, err
    for flag in flags:
        assert flag in err.split("not apply")[0], (flag, err)
    assert not (tmp_path / "run").exists()        # refused before any work


def test_every_option_is_refused_exactly_where_the_recipe_lacks_its_setting():
    """All options x all (dataset, model) pairs: accepted where the recipe has the setting, refused elsewhere."""
    for flag, kwargs in SETTING_OPTIONS.items():
        value = [] if kwargs.get("nargs") == "?" or kwargs.get("action") == "store_true" else \
            [str((kwargs.get("choices") or ["0.5"])[0])]
        if kwargs.get("type") in (POSITIVE_INT, BATCH_SIZE, NON_NEGATIVE_INT):
            value = ["1"]
        if kwargs.get("type") is image_size_arg:
            value = ["32x48"]
        if kwargs.get("type") is split_arg:
            value = ["u2"]
        for dataset, (family, _) in TASKS.items():
            for name, recipe in family.RECIPES.items():
                if dataset not in recipe.datasets:
                    continue
                try:
                    _resolve("--dataset", dataset, "--model", name, flag, *value)
                    refused = False
                except ValueError as e:
                    refused = True
                    assert flag in str(e), (flag, dataset, name, e)
                assert refused == (flag[2:].replace("-", "_") not in recipe.settings(dataset)), (flag, dataset, name)


def test_every_setting_option_sets_a_recipe_setting():
    settings = {k for family, _ in TASKS.values() for r in family.RECIPES.values() for k in r.settings()}
    assert all(flag[2:].replace("-", "_") in settings for flag in SETTING_OPTIONS)


def test_applicable_options_reach_the_recipe():
    recipe, overrides = _resolve("--dataset", "sst2", "--model", "lstm", "--hidden-size", "32", "--lr", "0.01",
                                 "--optimizer", "sgd")
    assert isinstance(recipe, Recipe) and recipe.name == "lstm"
    assert overrides == {"hidden_size": 32, "lr": 0.01, "optimizer": "sgd", "dataset": "sst2"}
    r = recipe.with_overrides(overrides)
    assert (r.model["hidden_size"], r.train["lr"], r.train["optimizer"]) == (32, 0.01, "sgd")
    recipe, overrides = _resolve("--dataset", "fashion-mnist", "--augment")
    assert recipe.name == "mlp" and overrides == {"augment": "crop-flip", "dataset": "fashion-mnist"}


def test_download_does_not_apply_to_the_bundled_subset(capsys, tmp_path):
    assert main(["train", "--download", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "download does not apply to fashion-mnist-bundled" in capsys.readouterr().err


def test_options_that_cannot_apply_to_a_recipe_run_are_refused_before_work(capsys, tmp_path):
    out = str(tmp_path / "r")
    assert main(["train", "--dataset", "fashion-mnist-bundled", "--data", str(tmp_path), "--out", out, "--quiet"]) == 2
    assert "a data directory (--data) does not apply to fashion-mnist-bundled" in capsys.readouterr().err
    from lucidnet.text.recipes import train_char_lm
    with pytest.raises(ValueError, match="with max_minutes the schedule is cosine over the time budget or constant"):
        train_char_lm("char-lstm", "abcdefgh" * 100, "abcdefgh" * 10, overrides={"max_minutes": 1.0,
                                                                                  "schedule": "onecycle"})
    assert main(["train", "--dataset", "ml-100k", "--val-split", "0", "--data", str(tmp_path), "--out", out,
                 "--quiet"]) == 2
    assert "val_split must be in (0, 1)" in capsys.readouterr().err
