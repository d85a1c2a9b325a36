"""Recommendation on NumPy: MovieLens-100K, matrix factorisation, AutoRec and neural collaborative filtering.

- ``data``: ``MovieLens100K`` (upstream files, id maps, official splits, checked download), ``Ratings``;
- ``models``: ``BiasedMF``, ``IAutoRec`` (explicit ratings); ``GMF``, ``NCFMLP``, ``NeuMF`` (implicit
  feedback); registered in ``lucidnet.models``; ``model.recommend(user_id)`` and ``model.predict(users, items)``
  speak raw ids through a ``Catalog``;
- ``sampling``: negatives (uniform, popularity), drawn per epoch; ``evaluation``: RMSE/MAE, leave-one-out
  HR@10 / NDCG@10; ``baselines``: global mean, user + item biases, popularity;
- ``training`` (``train_explicit``, ``train_implicit`` on ``lucidnet.fit``) and ``recipes`` (tuned settings).

>>> import lucidnet as ln
>>> from lucidnet.recsys import GMF
>>> GMF(3, 4, dim=2)(ln.tensor([0, 2]), ln.tensor([3, 1])).shape
(2,)
"""
from . import baselines, evaluation, recipes, sampling, training
from .base import Recommendations, Recommender
from .catalog import Catalog
from .data import SPLITS, MovieLens100K, Ratings, UnknownIdError
from .models import GMF, NCFMLP, BiasedMF, IAutoRec, NeuMF, masked_mse

__all__ = ["baselines", "evaluation", "recipes", "sampling", "training", "MovieLens100K", "Ratings",
           "UnknownIdError", "SPLITS", "Catalog", "Recommender", "Recommendations", "BiasedMF", "IAutoRec", "GMF",
           "NCFMLP", "NeuMF", "masked_mse"]
