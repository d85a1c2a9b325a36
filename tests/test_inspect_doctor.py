"""The network doctor: broken networks get named problems (layer, evidence, suggestion); a well-set one is
healthy."""
import math
import warnings

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.inspect import Diagnosis, Monitor, diagnose


def data(n=512, d=20, k=4, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, k))
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x, np.argmax(x @ w, axis=1).astype(np.int64)


def mlp(act, depth, width=64, d=20, k=4):
    layers, sizes = [], [d] + [width] * depth
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], k))


def train(model, optimizer="sgd", lr=0.1, epochs=5, val=False, every=5):
    x, y = data()
    val_data = tuple(a[512:] for a in data(1024)) if val else None
    monitor = Monitor(every=every)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a diverging run overflows on purpose
        history = ln.fit(model, (x, y), loss="cross_entropy", optimizer=optimizer, lr=lr, epochs=epochs,
                         batch_size=32, val_data=val_data, callbacks=[monitor], verbose=0)
    return diagnose(monitor, history, num_classes=4), monitor


def test_deep_sigmoid_network_with_a_poor_initialisation_has_vanishing_gradients():
    model = mlp(nn.Sigmoid, 8)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.05)
    d, _ = train(model)
    assert not d.healthy
    f = next(f for f in d.findings if f.problem == "vanishing_gradients")
    assert f.layer == "0 (Linear)" and f.severity == "error"  # the first layer is the one starved of gradient
    assert "relative gradient" in f.evidence and "of the last layer's (16 (Linear)" in f.evidence
    assert "ReLU" in f.suggestion and "initialisation" in f.suggestion
    assert "stuck_loss" in d.problems()  # and the symptom: it does not learn
    stuck = next(f for f in d.findings if f.problem == "stuck_loss")
    assert "log(4)" in stuck.evidence  # chance level for 4 classes
    assert d.problems().index("vanishing_gradients") < d.problems().index("stuck_loss")  # cause before symptom


def test_relu_network_with_a_large_negative_bias_has_dead_units():
    model = mlp(nn.ReLU, 3)
    for m in list(model)[:-1]:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.bias, -5.0)
    d, _ = train(model, lr=0.05)
    f = next(f for f in d.findings if f.problem == "dead_relu")
    assert f.layer == "1 (ReLU), 3 (ReLU), 5 (ReLU)" and f.severity == "error"
    assert "100% in 1 (ReLU)" in f.evidence
    assert "bias" in f.suggestion and "LeakyReLU" in f.suggestion
    assert "vanishing_gradients" not in d.problems()  # explained by the dead units, not reported twice


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_learning_rate_10_diverges(optimizer):
    d, monitor = train(mlp(nn.ReLU, 3), optimizer=optimizer, lr=10.0)
    assert d.findings[0].problem == "diverging_loss" and d.findings[0].severity == "error"
    f = d.findings[0]
    assert "lower the learning rate (it was 10; try 1)" in f.suggestion
    assert "started at" in f.evidence or "its start" in f.evidence


def test_a_well_set_network_is_healthy():
    d, monitor = train(mlp(nn.ReLU, 3), optimizer="adam", lr=1e-3, val=True)
    assert d.healthy, str(d)
    assert d.findings == [] and d.skipped == []
    assert set(d.checked) >= {"the loss", "gradients", "dead ReLUs", "saturated activations", "update sizes",
                              "overfitting"}
    assert str(d).startswith("Doctor: healthy.")
    assert monitor.log.loss[-1] < 0.8 * monitor.log.loss[0]


def test_a_well_set_tanh_network_is_healthy_too():
    d, _ = train(mlp(nn.Tanh, 3), optimizer="adam", lr=1e-3)
    assert d.healthy, str(d)
    assert d.skipped == ["overfitting (no validation data)"]


def test_saturated_sigmoid_units():
    model = mlp(nn.Sigmoid, 2)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 4.0)
    d, _ = train(model, lr=0.01, epochs=2)
    f = next(f for f in d.findings if f.problem == "saturated")
    assert f.title == "saturated sigmoid units" and "1 (Sigmoid)" in f.layer
    assert "below 0.01 or above 0.99" in f.evidence and "Xavier" in f.suggestion


def test_exploding_gradients():
    """Large weights in a deep linear stack: gradients far larger than the weights themselves."""
    model = mlp(nn.Identity, 6)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.5)
    d, _ = train(model, lr=1e-6, epochs=1)
    f = next(f for f in d.findings if f.problem == "exploding_gradients")
    assert f.severity == "error" and "x its weight norm" in f.evidence and "clip" in f.suggestion


def test_large_updates():
    d, _ = train(mlp(nn.Tanh, 2), optimizer="sgd", lr=1.0, epochs=2)
    assert d.problems() == ["large_updates"]
    f = d.findings[0]
    assert f.layer == "4 (Linear)" and "of the weight's norm" in f.evidence and "try 0.1" in f.suggestion


def test_a_high_adam_learning_rate_saturates_tanh():
    d, _ = train(mlp(nn.Tanh, 2), optimizer="adam", lr=0.5, epochs=2)
    assert d.problems()[0] == "saturated" and "lower the learning rate" in d.findings[0].suggestion


def test_overfitting_from_the_history_alone():
    hist = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.1], "val_loss": [1.1, 0.8, 0.7, 0.75, 0.85, 0.95],
            "accuracy": [0.6, 0.8, 0.9, 0.92, 0.95, 0.99], "val_accuracy": [0.55, 0.7, 0.75, 0.74, 0.73, 0.72]}
    d = diagnose(history=hist)
    assert d.problems() == ["overfitting"]
    f = d.findings[0]
    assert "lowest at epoch 3 (0.7)" in f.evidence and "EarlyStopping" in f.suggestion
    assert "layer statistics (no Monitor in the run)" in d.skipped
    hist["val_loss"] = [1.1, 0.8, 0.7, 0.69, 0.68, 0.67]  # no rise, but a 27-point accuracy gap
    d = diagnose(history=hist)
    assert d.problems() == ["overfitting"] and "train/validation gap" in d.findings[0].title


def test_a_history_with_a_nan_loss_diverged():
    d = diagnose(history={"loss": [2.3, 5.0, math.nan]})
    assert d.problems() == ["diverging_loss"] and "epoch 2" in d.findings[0].evidence


def test_diagnosis_prints_and_serialises():
    d = diagnose(history={"loss": [2.3, 2.3, 2.3, 2.3]})
    assert d.problems() == ["stuck_loss"]
    text = str(d)
    assert text.startswith("Doctor: 1 problem found.") and "evidence:" in text and "suggestion:" in text
    assert d.to_dict()["findings"][0]["problem"] == "stuck_loss" and d.to_dict()["healthy"] is False
    assert isinstance(d, Diagnosis)


def test_diagnose_errors():
    with pytest.raises(ValueError, match="nothing to read"):
        diagnose()
    with pytest.raises(TypeError, match="Monitor"):
        diagnose(monitor=3)


def log_of(loss, layers, kinds=None, every=1):
    """A MonitorLog made by hand: ``layers`` maps a name to its statistics per monitored step."""
    from lucidnet.inspect import MonitorLog

    log = MonitorLog()
    n = len(next(iter(layers.values()))["grad_norm"])
    log.every, log.loss = every, list(loss)
    log.steps, log.epochs, log.lr = list(range(0, n * every, every)), [0] * n, [0.01] * n
    log.layers = layers
    log.kinds = kinds or {k: "weight" for k in layers}
    log.types = {k: "Linear" for k in layers}
    return log


def test_a_non_finite_gradient_with_a_finite_loss_is_exploding():
    st = {"weight_norm": [1.0] * 4, "update_ratio": [1e-3] * 4}
    log = log_of([1.0, 0.9, 0.8, 0.7], {"0": {**st, "grad_norm": [0.1, 0.2, math.inf, 0.1]},
                                        "1": {**st, "grad_norm": [0.1] * 4}})
    d = diagnose(log)
    assert d.problems() == ["exploding_gradients"]
    assert d.findings[0].layer == "0 (Linear)" and "became inf at step 2" in d.findings[0].evidence


def test_zero_gradients_everywhere_and_tiny_updates():
    st = {"weight_norm": [1.0] * 25, "grad_norm": [0.0] * 25, "update_ratio": [0.0] * 25}
    d = diagnose(log_of([1.0] * 25, {"0": dict(st), "1": dict(st)}))
    assert d.problems() == ["vanishing_gradients", "stuck_loss"] and d.findings[0].title == "no gradient at all"
    st = {"weight_norm": [1.0] * 25, "grad_norm": [1e-3] * 25, "update_ratio": [1e-8] * 25}
    d = diagnose(log_of([1.0] * 25, {"0": dict(st), "1": dict(st)}))
    assert d.problems() == ["stuck_loss"] and d.findings[0].suggestion.startswith("raise the learning rate")


# ---- what misled new users (issue: the network doctor) ---------------------------------------------------
@pytest.mark.parametrize("hist", [
    {"loss": [0.7, 0.5, 0.4, 0.3, 0.2], "val_accuracy": [0.70, 0.80, 0.78, 0.74, 0.72]},  # dev accuracy only
    {"loss": [1.2, 1.0, 0.9, 0.8, 0.7], "val_rmse": [1.00, 0.93, 0.95, 0.99, 1.02]},  # a recommender's val RMSE
    {"loss": [0.6, 0.5, 0.4, 0.3, 0.2], "val_hr": [0.50, 0.60, 0.58, 0.55, None]}])  # missing epochs skipped
def test_overfitting_is_judged_on_any_validation_metric(hist):
    d = diagnose(history=hist)
    assert "overfitting" in d.checked and not any("overfitting" in s for s in d.skipped)
    assert d.problems() == ["overfitting"]
    f = d.findings[0]
    assert "at epoch 2" in f.evidence and "validation" in f.evidence and "training loss fell" in f.evidence


def test_a_validation_metric_that_keeps_improving_is_no_overfitting():
    d = diagnose(history={"loss": [0.7, 0.5, 0.4, 0.3], "val_loss": [0.6, 0.5, 0.45, 0.44],
                          "val_accuracy": [0.7, 0.8, 0.82, 0.83], "accuracy": [0.7, 0.8, 0.85, 0.88]})
    assert d.healthy and "overfitting" in d.checked
    d = diagnose(history={"loss": [0.7, 0.5, 0.4, 0.3]})
    assert d.skipped[-1] == "overfitting (no validation data)"
    d = diagnose(history={"loss": [0.7, 0.5], "val_accuracy": [None, 0.8]})
    assert d.skipped[-1] == "overfitting (validation metrics of one epoch only)"


def test_with_nothing_checked_the_doctor_never_says_healthy():
    d = diagnose(history={"loss": [0.7], "lr": [0.01]})  # one epoch, no monitor, no validation
    assert d.checked == [] and not d.healthy and d.findings == []
    text = str(d)
    assert "healthy" not in text.lower() and text.startswith("Doctor: nothing could be checked.")
    assert "Not checked: the loss (fewer than 2 values); layer statistics (no Monitor in the run)" in text
    assert d.to_dict()["healthy"] is False


def embedding_log(grad_norm, used_weight_norm=None):
    """An Embedding table of 10,000 rows (norm 100) whose batches touch 1% of the rows, before a Linear."""
    n = 25
    emb = {"weight_norm": [100.0] * n, "grad_norm": [grad_norm] * n, "update_ratio": [1e-4] * n}
    if used_weight_norm is not None:
        emb.update(used_weight_norm=[used_weight_norm] * n, rows_used=[0.01] * n)
    fc = {"weight_norm": [1.0] * n, "grad_norm": [0.1] * n, "update_ratio": [1e-3] * n}
    log = log_of(np.linspace(0.7, 0.3, n), {"embedding": emb, "fc": fc})
    log.types["embedding"] = "Embedding"
    return log


def test_an_embedding_gradient_is_judged_over_the_rows_its_batches_used():
    # |g| / |table| = 5e-5 is 5e-4 of the last layer's 0.1: vanishing over the table, but the 1% of rows used
    # have norm 10: 5e-3 / 0.1 = 0.05 of the last layer's, a healthy gradient
    d = diagnose(embedding_log(5e-3, used_weight_norm=10.0))
    assert "vanishing_gradients" not in d.problems() and d.healthy, str(d)
    d = diagnose(embedding_log(5e-6, used_weight_norm=10.0))  # vanishing even per used row: still found
    f = next(f for f in d.findings if f.problem == "vanishing_gradients")
    assert f.layer == "embedding (Embedding)" and "over the rows the batches used" in f.evidence
    d = diagnose(embedding_log(5e-3))  # a monitor.json from before the per-row statistics: not judged
    assert "vanishing_gradients" not in d.problems()


def test_the_monitor_records_an_embeddings_used_rows():
    ln.manual_seed(0)
    net = nn.Sequential(nn.Embedding(1000, 8), nn.Flatten(), nn.Linear(16, 2))
    x = np.random.default_rng(0).integers(0, 20, (64, 2))  # only ids 0..19 of 1000
    monitor = Monitor(every=1)
    ln.fit(net, (x, (x[:, 0] > 9).astype(np.int64)), loss="cross_entropy", lr=0.01, epochs=1, batch_size=32,
           callbacks=[monitor], verbose=0)
    st = monitor.log.layers["0"]
    assert all(0 < r <= 0.02 for r in st["rows_used"])
    w = net[0].weight.data
    assert st["used_weight_norm"][-1] <= np.linalg.norm(w[:20]) + 1e-4 < st["weight_norm"][-1]


@pytest.mark.parametrize("where", ["monitor", "history"])
def test_a_non_finite_learning_rate_is_named_not_lowered(where):
    loss = [1.0, 0.9, math.nan, math.nan]
    if where == "monitor":
        st = {"weight_norm": [1.0] * 4, "grad_norm": [0.1] * 4, "update_ratio": [1e-3] * 4}
        log = log_of(loss, {"0": dict(st), "1": dict(st)})
        log.lr = [0.01, math.inf, math.inf, math.inf]
        d = diagnose(log)
    else:
        d = diagnose(history={"loss": loss, "lr": [0.01, math.nan, math.nan, math.nan]})
    f = d.findings[0]
    assert f.problem == "diverging_loss" and "lower the learning rate" not in f.suggestion
    assert "the learning rate itself was" in f.suggestion and ("inf" in f.suggestion or "nan" in f.suggestion)


def test_a_loss_non_finite_from_the_first_batch_points_at_the_input():
    st = {"weight_norm": [1.0] * 4, "grad_norm": [0.1] * 4, "update_ratio": [1e-3] * 4}
    d = diagnose(log_of([math.nan] * 25, {"0": dict(st), "1": dict(st)}))
    f = d.findings[0]
    assert f.title == "the loss became non-finite" and "before any optimizer step" in f.evidence
    assert f.suggestion.startswith("check the inputs and targets for NaN/inf")
    # steady, small steps, then NaN at step 30: a bad batch, not a learning rate too high
    d = diagnose(log_of([0.7] * 30 + [math.nan] * 5, {"0": {**st, "grad_norm": [0.1] * 4},
                                                      "1": {**st, "grad_norm": [0.1] * 4}}, every=10))
    assert "bad input" in d.findings[0].evidence and "steady 0.7" in d.findings[0].evidence


class _UnusedBranch(nn.Module):
    """An MLP with a second head whose output forward computes and drops (the loss never sees it)."""

    def __init__(self):
        super().__init__()
        self.body, self.head, self.spare = mlp(nn.ReLU, 1), nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        h = self.body(x)
        self.spare(h)
        return self.head(h)


def test_a_layer_that_gets_no_gradient_is_unused_not_exploding():
    d, monitor = train(_UnusedBranch())
    assert d.problems() == ["unused_parameters"], d
    f = d.findings[0]
    assert f.layer == "spare (Linear)" and f.severity == "warning" and "no gradient reached" in f.evidence
    assert set(monitor.log.layers["spare"]["no_grad"]) == {1.0} and set(monitor.log.layers["head"]["no_grad"]) == {0.0}
