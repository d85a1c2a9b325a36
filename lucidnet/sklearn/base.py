"""``NeuralNetBase``: what ``NeuralNetClassifier`` and ``NeuralNetRegressor`` share: their parameters, ``fit`` and
``partial_fit`` on ``lucidnet.train.Trainer`` (the library's one training loop), early stopping on a held-out
fraction, the standardised inputs and the network's outputs at predict time.

The subclasses give the loss name and turn targets into what the loss takes (``_encode``).
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data import holdout
from ..optim.factory import build_optimizer
from ..train import EarlyStopping, Trainer
from ..train import predict as run_network
from .module import ModuleSpec, build_module, check_output
from .seeding import estimator_stream, seeded

__all__ = ["NeuralNetBase"]

FLOATS = (np.float64, np.float32)  # what validate_data keeps as it is (anything else becomes float64)


def _column_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per column; a constant column keeps its scale (1)."""
    mean, std = values.mean(axis=0), values.std(axis=0)
    std[std <= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))] = 1.0
    return mean, std


class NeuralNetBase(BaseEstimator):
    """The shared parameters (documented in ``lucidnet.sklearn``) and training; not used on its own."""

    _loss = ""          # the Trainer's loss name
    _stratify = False   # hold out the early-stopping fraction class by class

    def __init__(self, module: ModuleSpec = None, *, hidden_layer_sizes: Sequence[int] = (256,),
                 activation: str = "relu", dropout: float = 0.0, optimizer: str = "adam",
                 learning_rate_init: float = 2e-3, weight_decay: float = 1e-3, batch_size: int = 64,
                 max_iter: int = 200, early_stopping: bool = True, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 10, tol: float = 1e-4, standardize: bool = True,
                 random_state: int | np.random.RandomState | None = None, verbose: int = 0):
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.standardize = standardize
        self.random_state = random_state
        self.verbose = verbose

    # ---- what the subclasses define ----------------------------------------------------------------
    def _validate_targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """``validate_data`` of ``X`` and ``y`` as the task wants them."""
        raise NotImplementedError

    def _encode(self, y: np.ndarray, classes: Any, first: bool) -> np.ndarray:
        """The loss's targets for ``y``; on the first call, also the fitted target attributes (``n_outputs_``:
        the network's outputs)."""
        raise NotImplementedError

    # ---- training ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> NeuralNetBase:
        """Train a new network on ``X`` (n_samples, n_features) and ``y`` for up to ``max_iter`` epochs."""
        self._check_params()
        X, y = self._validate_targets(X, y, reset=True)
        target = self._encode(y, None, first=True)
        self._start(X)
        return self._train(X, target, self.max_iter, self.early_stopping)

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> NeuralNetBase:
        """One epoch over ``(X, y)`` (no early stopping), continuing the network and the optimizer's state."""
        first = not hasattr(self, "module_")
        if first:
            self._check_params()
        X, y = self._validate_targets(X, y, reset=first)
        target = self._encode(y, classes, first)
        if first:
            self._start(X)
        return self._train(X, target, 1, False)

    def _check_params(self) -> None:
        name = type(self).__name__
        for key in ("batch_size", "max_iter", "n_iter_no_change"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: {key} must be a positive int, got {value!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"{name}: validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {self.dropout!r}")

    def _start(self, X: np.ndarray) -> None:
        """A fresh network, optimizer, input scaling and random stream for a fit (or a first partial_fit)."""
        if self.standardize:
            self.x_mean_, self.x_scale_ = _column_scale(X.astype(np.float64))
        else:
            self.x_mean_, self.x_scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
        n_outputs = self.n_outputs_
        self._rng = estimator_stream(self.random_state)
        with seeded(self._rng):
            self.module_ = build_module(self.module, X.shape[1], n_outputs, self.hidden_layer_sizes,
                                        self.activation, self.dropout)
        check_output(self.module_, self._scaled(X[:2]), n_outputs)
        self.optimizer_ = build_optimizer(self.optimizer, self.module_.parameters(), lr=self.learning_rate_init,
                                          weight_decay=self.weight_decay)
        self.history_: dict[str, list[float]] = {"loss": []}
        self.n_iter_ = 0

    def _train(self, X: np.ndarray, target: np.ndarray, epochs: int, early_stopping: bool) -> NeuralNetBase:
        x = self._scaled(X)
        train, val = (x, target), None
        if early_stopping:
            keep, held = self._held_out(target)
            train, val = (x[keep], target[keep]), (x[held], target[held])
        callbacks = []
        if epochs > 1:
            monitor = "val_loss" if val is not None else "loss"
            callbacks.append(EarlyStopping(monitor, min_delta=self.tol, patience=self.n_iter_no_change,
                                           restore_best_weights=val is not None))
        with seeded(self._rng):
            trainer = Trainer(self.module_, self._loss, self.optimizer_, metrics=[],
                              verbose=min(int(self.verbose), 2))
            history = trainer.fit(train, epochs, val_data=val, batch_size=int(self.batch_size),
                                  callbacks=callbacks).history
        for key in ("loss", "val_loss"):
            if key in history:
                self.history_.setdefault(key, []).extend(float(v) for v in history[key])
        self.n_iter_ += len(history["loss"])
        if callbacks and callbacks[0].stopped_epoch < 0:
            warnings.warn(f"{type(self).__name__}: the {callbacks[0].monitor} was still improving after "
                          f"max_iter={self.max_iter} epochs; raise max_iter", ConvergenceWarning)
        return self

    def _held_out(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(kept, held-out) rows for early stopping: ``validation_fraction`` of them, at least one."""
        n = len(target)
        if n < 2:
            raise ValueError(f"{type(self).__name__}: early stopping holds out samples for validation; with "
                             f"n_samples = {n} there are none to spare (set early_stopping=False)")
        try:
            return holdout(n, max(float(self.validation_fraction), 1.0 / n), seed=int(self._rng.integers(2 ** 31)),
                           stratify=target if self._stratify else None)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: early stopping: {e} (set early_stopping=False)") from None

    # ---- the network's outputs ---------------------------------------------------------------------
    def _scaled(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.x_mean_) / self.x_scale_).astype(np.float32)

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs (logits or standardised values) for ``X``, as float64."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=FLOATS)
        return run_network(self.module_, self._scaled(X)).astype(np.float64)
