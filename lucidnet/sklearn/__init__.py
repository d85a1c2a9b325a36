"""scikit-learn estimators on lucidnet: ``NeuralNetClassifier`` and ``NeuralNetRegressor``.

They work wherever scikit-learn estimators do (``Pipeline``, ``GridSearchCV``, ``cross_val_score``) and pass
``sklearn.utils.estimator_checks.check_estimator`` with no check expected to fail (``tests/test_sklearn.py``;
scikit-learn itself skips its array-API check without ``SCIPY_ARRAY_API=1``, and its pandas checks without pandas).
Training is ``lucidnet.train.Trainer`` with Adam on mini-batches; ``fit`` starts a new network, ``partial_fit``
runs one epoch and keeps the network and the optimizer's state.

Parameters (both estimators):
    module: None (an MLP of ``hidden_layer_sizes``, ``activation``, ``dropout``), a function
        ``module(n_features_in, n_outputs) -> nn.Module``, or an ``nn.Module`` (a copy of it is trained from
        its current weights at each fit; the given module is never changed). The network maps
        (n_samples, n_features) float32 rows to (n_samples, n_outputs): logits or standardised targets.
    hidden_layer_sizes, activation, dropout: the default MLP's hidden widths, activation name
        (``"relu"``, ``"tanh"``, ``"gelu"``, ...) and dropout rate.
    optimizer, learning_rate_init, weight_decay: an optimizer name of ``lucidnet.optim.factory``, its learning
        rate and L2 weight decay.
    batch_size, max_iter: samples per step; the most epochs of a ``fit``.
    early_stopping, validation_fraction, n_iter_no_change, tol: with ``early_stopping``, ``fit`` holds out
        ``validation_fraction`` of the rows (class by class for the classifier), stops once the validation loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs and keeps the best epoch's weights; without
        it, training stops when the training loss stalls the same way.
    standardize: scale each input column to mean 0 and standard deviation 1 (the statistics of the first
        fit or partial_fit, in ``x_mean_``/``x_scale_``). Networks train badly on raw scales, so this is on by
        default; a ``StandardScaler`` in a ``Pipeline`` in front does the same job and is harmless with it.
    random_state: an int gives the same network on every fit; None draws from NumPy's global state, as
        scikit-learn does. Each call seeds lucidnet's generator from it and restores the generator's state
        after: a fit neither depends on ``lucidnet.manual_seed`` nor moves it.
    verbose: 0 silent, 1 a progress bar, 2 a line per epoch.

The regressor standardises its targets for training and maps predictions back (``y_mean_``, ``y_scale_``).
The parameter names follow ``MLPClassifier``/``MLPRegressor`` where the meaning is the same; ``weight_decay``
is the optimizer's (MLP's ``alpha`` divides by the batch size) and ``learning_rate_init`` stays constant.

Pickling: the one place in lucidnet where pickle appears, because scikit-learn's tools require it (``clone``
checks, joblib's parallel ``GridSearchCV``, saving a fitted pipeline). A fitted estimator pickles with its
network and optimizer state. Never unpickle a file you do not trust: unpickling runs code. To save the network
alone, use ``lucidnet.save(est.module_.state_dict(), path)`` (safetensors, no pickle).

>>> from sklearn.datasets import load_breast_cancer
>>> from sklearn.model_selection import cross_val_score
>>> X, y = load_breast_cancer(return_X_y=True)
>>> scores = cross_val_score(NeuralNetClassifier(random_state=0), X, y, cv=3)
>>> bool(scores.mean() > 0.9)
True
"""
try:
    import sklearn  # noqa: F401  (scikit-learn itself: absolute imports never find this package)
except ImportError as e:  # pragma: no cover - the test extra installs scikit-learn
    raise ImportError('lucidnet.sklearn needs scikit-learn: pip install "lucidnet[sklearn]"') from e

from .classifier import NeuralNetClassifier
from .regressor import NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]
