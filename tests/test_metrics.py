"""Metrics: values against hand-computed ones, exactness over batches, shapes, names, state round-trips."""
import math

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.train import metrics as M


def onehot_scores(pred, c):
    """Scores whose argmax is ``pred``."""
    s = np.zeros((len(pred), c), np.float32)
    s[np.arange(len(pred)), pred] = 1.0
    return s


# ---- accuracy ------------------------------------------------------------------------------------

def test_accuracy_by_hand():
    out = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], np.float32)
    assert M.accuracy(out, np.array([1, 1, 1, 0])) == 0.75
    # Tensors are accepted as well as arrays
    assert M.accuracy(ln.tensor(out), ln.tensor([1, 1, 1, 0])) == 0.75


def test_accuracy_is_exact_over_the_epoch_not_a_mean_of_batches():
    acc = M.Accuracy()
    acc.update(onehot_scores([0, 1], 3), np.array([0, 1]))        # 2 of 2
    acc.update(onehot_scores([0, 0, 0], 3), np.array([1, 2, 0]))  # 1 of 3
    assert acc.result() == pytest.approx(3 / 5)
    assert acc.result() != pytest.approx((1.0 + 1 / 3) / 2)
    acc.reset()
    assert math.isnan(acc.result())


def test_accuracy_class_axis_second_and_last():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(4, 5, 7)).astype(np.float32)  # (N, C, L) as PyTorch's cross_entropy takes it
    tgt = rng.integers(0, 5, size=(4, 7))
    expected = np.mean(out.argmax(1) == tgt)
    assert M.accuracy(out, tgt) == pytest.approx(expected)
    last = np.moveaxis(out, 1, -1)  # (N, L, C): a language model's (B, T, V)
    assert M.accuracy(last, tgt) == pytest.approx(expected)


def test_accuracy_binary_and_categorical_same_shape():
    probs = np.array([0.9, 0.2, 0.6, 0.4], np.float32)
    tgt = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    assert M.accuracy(probs, tgt) == 0.75
    assert M.accuracy(probs[:, None], tgt) == 0.75  # (N, 1) against (N,)
    logits = np.array([2.0, -1.0, 0.3, -0.2], np.float32)
    assert M.Accuracy(threshold=0.0)(logits, tgt) == 0.75
    onehot = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    scores = np.array([[3, 1, 0], [0, 1, 2], [5, 1, 0]], np.float32)
    assert M.accuracy(scores, onehot, kind="categorical") == pytest.approx(2 / 3)


def test_accuracy_rejects_mismatched_shapes():
    msg = r"Accuracy: cannot match output of shape \(4, 3\) with target of shape \(5,\)"
    with pytest.raises(ValueError, match=msg):
        M.accuracy(np.zeros((4, 3)), np.zeros(5, np.int64))
    with pytest.raises(TypeError, match="class-index targets must be integers"):
        M.accuracy(np.zeros((4, 3)), np.zeros(4))


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.1, 0.5, 0.3, 0.1],   # order 1, 2, 0/3
                       [0.7, 0.1, 0.15, 0.05],  # order 0, 2, 1, 3
                       [0.2, 0.2, 0.5, 0.1]], np.float32)
    tgt = np.array([2, 1, 3])
    assert M.top_k_accuracy(scores, tgt, k=1) == 0.0
    assert M.top_k_accuracy(scores, tgt, k=2) == pytest.approx(1 / 3)
    assert M.top_k_accuracy(scores, tgt, k=3) == pytest.approx(2 / 3)
    assert M.top_k_accuracy(scores, tgt, k=4) == 1.0
    assert M.get("top3_accuracy").k == 3 and M.get("top3_accuracy").name == "top3_accuracy"
    with pytest.raises(ValueError, match=r"target classes must lie in \[0, 4\)"):
        M.top_k_accuracy(scores, np.array([0, 1, 4]), k=2)


# ---- confusion matrix, precision, recall, F1 ----------------------------------------------------------

Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 0, 2])


def test_confusion_matrix_by_hand():
    cm = M.confusion_matrix(onehot_scores(Y_PRED, 3), Y_TRUE)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    assert cm.dtype == np.int64


def test_precision_recall_f1_by_hand():
    out = onehot_scores(Y_PRED, 3)
    # tp = [1, 2, 1], fp = [1, 1, 0], fn = [1, 0, 1]
    assert M.precision(out, Y_TRUE) == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert M.recall(out, Y_TRUE) == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert M.f1_score(out, Y_TRUE) == pytest.approx((2 / 4 + 4 / 5 + 2 / 3) / 3)
    np.testing.assert_allclose(M.precision(out, Y_TRUE, average=None), [1 / 2, 2 / 3, 1])
    for fn in (M.precision, M.recall, M.f1_score):  # micro-averaging gives the accuracy
        assert fn(out, Y_TRUE, average="micro") == pytest.approx(4 / 6)
    # weighted by support: supports (2, 2, 2) are equal, so it is the macro value
    assert M.f1_score(out, Y_TRUE, average="weighted") == pytest.approx(M.f1_score(out, Y_TRUE))


def test_macro_average_over_the_classes_that_occur():
    out = onehot_scores(Y_PRED, 5)  # classes 3 and 4 never occur in targets or predictions
    assert M.precision(out, Y_TRUE) == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert M.confusion_matrix(out, Y_TRUE).shape == (5, 5)
    # a class predicted but never true counts, with recall 0 (zero_division=0)
    out2 = onehot_scores(np.array([0, 0, 1, 1, 3, 2]), 4)
    assert M.recall(out2, Y_TRUE) == pytest.approx((1 + 1 + 0.5 + 0) / 4)


def test_binary_precision_recall():
    probs = np.array([0.9, 0.8, 0.3, 0.6, 0.1], np.float32)
    tgt = np.array([1, 0, 1, 1, 0])
    # predicted positive: 0, 1, 3; true positive: 0, 2, 3 -> tp=2, fp=1, fn=1
    assert M.Precision(average="binary")(probs, tgt) == pytest.approx(2 / 3)
    assert M.Recall(average="binary")(probs, tgt) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(M.confusion_matrix(probs, tgt), [[1, 1], [1, 2]])


def _reference_macro_f1(y_true, y_pred):
    """F1 per label by loops over samples, averaged over the labels present (scikit-learn's definition)."""
    labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    scores = []
    for c in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred) if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(scores))


def test_f1_over_batches_matches_a_loop_reference():
    rng = np.random.default_rng(3)
    out = rng.normal(size=(300, 6)).astype(np.float32)
    tgt = rng.integers(0, 6, size=300)
    f1 = M.F1Score()
    for lo in range(0, 300, 64):  # uneven batches
        f1.update(out[lo:lo + 64], tgt[lo:lo + 64])
    assert f1.result() == pytest.approx(_reference_macro_f1(tgt, out.argmax(1)), abs=1e-12)


def test_against_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(4)
    out = rng.normal(size=(200, 5)).astype(np.float32)
    tgt = rng.integers(0, 5, size=200)
    pred = out.argmax(1)
    assert M.accuracy(out, tgt) == pytest.approx(skm.accuracy_score(tgt, pred))
    for avg in ("macro", "micro", "weighted"):
        assert M.precision(out, tgt, avg) == pytest.approx(skm.precision_score(tgt, pred, average=avg, zero_division=0))
        assert M.recall(out, tgt, avg) == pytest.approx(skm.recall_score(tgt, pred, average=avg, zero_division=0))
        assert M.f1_score(out, tgt, avg) == pytest.approx(skm.f1_score(tgt, pred, average=avg, zero_division=0))
    np.testing.assert_array_equal(M.confusion_matrix(out, tgt), skm.confusion_matrix(tgt, pred))
    assert M.top_k_accuracy(out, tgt, 2) == pytest.approx(skm.top_k_accuracy_score(tgt, out, k=2))


# ---- regression ---------------------------------------------------------------------------------------

def test_regression_metrics_by_hand_and_exact_over_batches():
    out = np.array([1.0, 2.0, 3.0, 4.0, 6.0], np.float32)
    tgt = np.array([1.0, 3.0, 1.0, 4.0, 3.0], np.float32)
    # errors 0, -1, 2, 0, 3
    assert M.mean_squared_error(out, tgt) == pytest.approx(14 / 5)
    assert M.mean_absolute_error(out, tgt) == pytest.approx(6 / 5)
    assert M.root_mean_squared_error(out, tgt) == pytest.approx(math.sqrt(14 / 5))
    rmse = M.RootMeanSquaredError()
    rmse.update(out[:2], tgt[:2])    # batch RMSE sqrt(1/2)
    rmse.update(out[2:], tgt[2:])    # batch RMSE sqrt(13/3)
    assert rmse.result() == pytest.approx(math.sqrt(14 / 5))
    assert rmse.result() != pytest.approx((math.sqrt(1 / 2) + math.sqrt(13 / 3)) / 2)
    assert M.mean_squared_error(out[:, None], tgt) == pytest.approx(14 / 5)  # (N, 1) against (N,)
    with pytest.raises(ValueError, match=r"MeanSquaredError: output of shape \(5, 2\) and target of shape \(5,\)"):
        M.mean_squared_error(np.zeros((5, 2)), tgt)


def test_function_metric_is_weighted_by_batch_size():
    def hits(o, t):
        return float(np.mean(o == t))

    m = M.get(hits)
    assert isinstance(m, M.FunctionMetric) and m.name == "hits"
    m.update(np.array([1, 1]), np.array([1, 1]))        # 1.0 on 2 samples
    m.update(np.array([0, 0, 0, 0]), np.array([1, 1, 1, 0]))  # 0.25 on 4 samples
    assert m.result() == pytest.approx(3 / 6)


# ---- names and state ----------------------------------------------------------------------------------

def test_get_by_name():
    assert isinstance(M.get("accuracy"), M.Accuracy)
    assert M.get("acc").name == "acc"
    assert isinstance(M.get("f1"), M.F1Score) and M.get("f1").name == "f1"
    assert isinstance(M.get("mean_absolute_error"), M.MeanAbsoluteError)
    assert M.get("accuracy", binary_threshold=0.0).threshold == 0.0
    assert M.get("accuracy", kind="categorical").kind == "categorical"
    custom = M.Accuracy(name="acc1")
    assert M.get(custom) is custom
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        M.get("acuracy")
    with pytest.raises(TypeError):
        M.get(3)


@pytest.mark.parametrize("make", [M.Accuracy, lambda: M.TopKAccuracy(2), M.ConfusionMatrix, M.Precision,
                                  M.F1Score, M.MeanSquaredError])
def test_state_dict_round_trip_continues_the_epoch(make):
    rng = np.random.default_rng(5)
    regression = isinstance(make(), M.MeanSquaredError)
    out = rng.normal(size=(40, 3)).astype(np.float32)
    tgt = rng.normal(size=(40, 3)).astype(np.float32) if regression else rng.integers(0, 3, size=40)
    whole = make()
    whole.update(out[:25], tgt[:25])
    whole.update(out[25:], tgt[25:])
    part = make()
    part.update(out[:25], tgt[:25])
    state = part.state_dict()
    part.update(out[:5], tgt[:5])  # the saved state must be a snapshot, unaffected by later updates
    resumed = make()
    resumed.load_state_dict(state)
    resumed.update(out[25:], tgt[25:])
    np.testing.assert_array_equal(resumed.result(), whole.result())
