"""lucidnet.sklearn: scikit-learn's own estimator checks, and the estimators on scikit-learn's bundled tables.

``check_estimator``: every check runs and passes, none is expected to fail. scikit-learn itself skips one per
estimator in CI: ``check_array_api_input`` (it needs ``SCIPY_ARRAY_API=1`` set before SciPy is imported, which
would change SciPy for the whole test session); with that variable set it passes too. The pandas checks run
(pandas is in the test extra).
"""
import importlib
import pickle
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import lucidnet as ln  # noqa: E402
from lucidnet.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


@parametrize_with_checks([NeuralNetClassifier(), NeuralNetRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the checks' tiny tables
        check(estimator)


def test_cross_val_score_in_a_pipeline(cancer):
    X, y = cancer
    scores = cross_val_score(make_pipeline(StandardScaler(), NeuralNetClassifier(random_state=0)), X, y, cv=5)
    assert scores.mean() > 0.95


def test_grid_search_over_a_parameter():
    X, y = load_wine(return_X_y=True)
    search = GridSearchCV(NeuralNetClassifier(random_state=0, max_iter=100),
                          {"hidden_layer_sizes": [(8,), (64,)]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in [(8,), (64,)]
    assert search.best_score_ > 0.9 and search.score(X, y) > 0.95


def test_regressor_on_diabetes_standardises_the_targets():
    X, y = load_diabetes(return_X_y=True)
    assert cross_val_score(NeuralNetRegressor(random_state=0), X, y, cv=5).mean() > 0.4
    reg = NeuralNetRegressor(random_state=0).fit(X, y)
    assert reg.y_mean_ == pytest.approx([y.mean()]) and reg.y_scale_ == pytest.approx([y.std()])
    assert reg.predict(X).shape == y.shape and abs(reg.predict(X).mean() - y.mean()) < 0.1 * y.std()


def test_regressor_multi_output():
    X = np.random.default_rng(0).normal(size=(120, 4))
    Y = np.stack([X[:, 0] + X[:, 1], 1000 * X[:, 2]], axis=1)
    reg = NeuralNetRegressor(random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (120, 2) and reg.score(X, Y) > 0.9
    assert NeuralNetRegressor(random_state=0).fit(X, Y[:, :1]).predict(X).shape == (120, 1)


def test_predict_proba_rows_sum_to_one_with_string_labels():
    X, y = load_wine(return_X_y=True)
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = NeuralNetClassifier(random_state=0).fit(X, labels)
    proba = clf.predict_proba(X)
    assert clf.classes_.tolist() == ["barbera", "barolo", "grignolino"] and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (clf.classes_[proba.argmax(axis=1)] == clf.predict(X)).all()
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)
    assert clf.score(X, labels) > 0.95


def test_partial_fit_runs_one_epoch_and_keeps_the_optimizer(cancer):
    X, y = cancer
    clf = NeuralNetClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1])
    first, optimizer = clf.history_["loss"][-1], clf.optimizer_
    steps = [s["step"] for s in optimizer.state.values()]
    assert steps and set(steps) == {-(-len(X) // clf.batch_size)}  # one epoch of Adam steps
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.history_["loss"]) == 6 and clf.optimizer_ is optimizer
    assert {s["step"] for s in optimizer.state.values()} == {6 * steps[0]}  # Adam's state carried on
    assert clf.history_["loss"][-1] < 0.5 * first and clf.score(X, y) > 0.95
    with pytest.raises(ValueError, match="differs from the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X, y + 1)


def test_pickle_roundtrip_predicts_and_trains_on_identically(cancer):
    X, y = cancer
    clf = NeuralNetClassifier(random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)
    clone.partial_fit(X, y)  # the optimizer's state and the random stream came along
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))


def test_random_state_repeats_the_fit_and_leaves_lucidnets_generator_alone(cancer):
    X, y = cancer
    ln.manual_seed(123)
    before = ln.get_rng_state()
    a = NeuralNetClassifier(random_state=7).fit(X, y).predict_proba(X)
    assert ln.get_rng_state() == before
    ln.manual_seed(5)  # the global seed does not enter the fit
    b = NeuralNetClassifier(random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = NeuralNetClassifier(random_state=8).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_custom_module_factory_and_instance():
    X, y = load_wine(return_X_y=True)

    def small_net(n_features, n_classes):
        return ln.nn.Sequential(ln.nn.Linear(n_features, 16), ln.nn.Tanh(), ln.nn.Linear(16, n_classes))

    clf = NeuralNetClassifier(small_net, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert isinstance(clf.module_, ln.nn.Sequential) and clf.score(X, y) > 0.95

    ln.manual_seed(0)
    net = ln.nn.Sequential(ln.nn.Linear(13, 3))
    weights = net[0].weight.numpy().copy()
    clf = NeuralNetClassifier(net, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.module_ is not net and np.array_equal(net[0].weight.numpy(), weights)  # trained a copy
    assert clf.score(X, y) > 0.9

    with pytest.raises(ValueError, match=r"\(n_samples, 3\) outputs"):
        NeuralNetClassifier(ln.nn.Linear(13, 2)).fit(X, y)
    with pytest.raises(TypeError, match="not a lucidnet nn.Module"):
        NeuralNetClassifier(lambda n_in, n_out: "mlp").fit(X, y)


def test_early_stopping_and_its_errors(cancer):
    X, y = cancer
    clf = NeuralNetClassifier(random_state=0).fit(X, y)
    assert clf.n_iter_ < clf.max_iter and len(clf.history_["val_loss"]) == clf.n_iter_
    best = int(np.argmin(clf.history_["val_loss"]))
    assert clf.n_iter_ - best - 1 >= clf.n_iter_no_change  # stopped after the patience, kept the best weights
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        NeuralNetClassifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="1 class"):
        NeuralNetClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="validation_fraction"):
        NeuralNetClassifier(validation_fraction=1.0).fit(X, y)
    with pytest.raises(ValueError, match="n_samples = 1"):
        NeuralNetRegressor().fit(X[:1], y[:1])
    with pytest.warns(ConvergenceWarning):
        assert NeuralNetRegressor(early_stopping=False, max_iter=3).fit(X[:1], y[:1]).n_iter_ == 3


def test_import_without_scikit_learn_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "lucidnet.sklearn" or m.startswith("lucidnet.sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "lucidnet\[sklearn\]"'):
        importlib.import_module("lucidnet.sklearn")
