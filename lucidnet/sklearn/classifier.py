"""``NeuralNetClassifier``: a lucidnet network as a scikit-learn classifier (cross-entropy over the classes).

>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = NeuralNetClassifier(random_state=0).fit(X, y)
>>> clf.classes_.tolist(), clf.predict_proba(X[:2]).shape
([0, 1, 2], (2, 3))
>>> clf.score(X, y) > 0.9
True
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .base import FLOATS, NeuralNetBase

__all__ = ["NeuralNetClassifier"]


class NeuralNetClassifier(ClassifierMixin, NeuralNetBase):
    """A classifier trained with lucidnet: an MLP (``hidden_layer_sizes``) or any module (``module``); the
    parameters are listed in ``lucidnet.sklearn``. Binary and multiclass targets of any label type.

    Fitted attributes: ``classes_``, ``n_outputs_`` (the number of classes), ``module_`` (the trained
    network: logits), ``optimizer_``, ``history_`` (``"loss"``, ``"val_loss"`` per epoch), ``n_iter_`` (epochs
    run), ``x_mean_``/``x_scale_`` (the input standardisation), ``n_features_in_``.
    """

    _loss = "cross_entropy"
    _stratify = True

    def _validate_targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, reset=reset, dtype=FLOATS)
        check_classification_targets(y)
        return X, y

    def _encode(self, y: np.ndarray, classes: Any, first: bool) -> np.ndarray:
        name = type(self).__name__
        if first:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"{name} needs samples of at least 2 classes to learn from; got 1 class "
                                 f"({self.classes_[0]!r})")
            self.n_outputs_ = len(self.classes_)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"{name}.partial_fit: classes={classes!r} differs from the first call's "
                             f"{self.classes_.tolist()!r}")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"{name}: y has labels {unknown.tolist()!r} that are not in classes "
                             f"{self.classes_.tolist()!r}")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> NeuralNetClassifier:
        """One epoch over ``(X, y)``, continuing the network and its optimizer; ``classes`` (every label that
        will ever be seen) is required on the first call, as in ``MLPClassifier``."""
        if classes is None and not hasattr(self, "module_"):
            raise ValueError(f"{type(self).__name__}.partial_fit: pass classes= (all the labels) on the first call")
        return self._partial_fit(X, y, classes)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of ``X``."""
        best = self._outputs(X).argmax(axis=1)
        return self.classes_[best]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes) in the order of ``classes_``; rows sum to 1."""
        return softmax(self._outputs(X), axis=1)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of ``predict_proba``."""
        return log_softmax(self._outputs(X), axis=1)
