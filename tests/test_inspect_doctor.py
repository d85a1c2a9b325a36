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
