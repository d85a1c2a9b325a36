"""``NeuralNetRegressor``: a lucidnet network as a scikit-learn regressor (mean squared error).

The targets are standardised for training (each column to mean 0 and standard deviation 1: ``y_mean_``,
``y_scale_``) and ``predict`` maps the network's outputs back, so targets of any scale train alike.

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(200, 3))
>>> y = 100 * X[:, 0] - 50 * X[:, 1] + 7
>>> reg = NeuralNetRegressor(random_state=0).fit(X, y)
>>> reg.predict(X[:3]).shape, reg.score(X, y) > 0.9
((3,), True)
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import validate_data

from .base import FLOATS, NeuralNetBase, _column_scale

__all__ = ["NeuralNetRegressor"]


class NeuralNetRegressor(RegressorMixin, NeuralNetBase):
    """A regressor trained with lucidnet: an MLP (``hidden_layer_sizes``) or any module (``module``); the
    parameters are listed in ``lucidnet.sklearn``. ``y`` of shape (n_samples,) or (n_samples, n_targets).

    Fitted attributes: ``n_outputs_`` (targets), ``y_mean_``/``y_scale_`` (the target standardisation),
    ``module_`` (the trained network: standardised targets), ``optimizer_``, ``history_``, ``n_iter_``,
    ``x_mean_``/``x_scale_``, ``n_features_in_``.
    """

    _loss = "mse"

    def _validate_targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        return validate_data(self, X, y, reset=reset, dtype=FLOATS, multi_output=True, y_numeric=True)

    def _encode(self, y: np.ndarray, classes: Any, first: bool) -> np.ndarray:
        columns = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if first:
            self._single_target = y.ndim == 1
            self.n_outputs_ = columns.shape[1]
            self.y_mean_, self.y_scale_ = _column_scale(columns)
        elif columns.shape[1] != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y has {columns.shape[1]} targets; the network was fitted "
                             f"with {self.n_outputs_}")
        return ((columns - self.y_mean_) / self.y_scale_).astype(np.float32)

    def partial_fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """One epoch over ``(X, y)``, continuing the network and its optimizer (the first call fixes the input
        and target standardisation)."""
        return self._partial_fit(X, y)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, (n_samples,) or (n_samples, n_targets) as ``y`` was in fit."""
        out = self._outputs(X) * self.y_scale_ + self.y_mean_
        return out.ravel() if self._single_target else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
