"""Your own tables: a network trained on a CSV, TSV, JSON-lines or Parquet file to predict one of its columns
(``lucidnet train --data table.csv --target COLUMN``), with the column transforms saved beside the model so that
``lucidnet predict RUN new.csv`` and ``lucidnet evaluate RUN`` read new files exactly the same way.

``schema`` infers what each column is, ``preprocess`` learns and applies the transforms, ``models`` holds the
network (``tabular_mlp``), ``recipes`` the recipe, its evaluation and its predictions.
"""
from .preprocess import Preprocessor
from .recipes import RECIPES, evaluate, predict_table

__all__ = ["Preprocessor", "RECIPES", "evaluate", "predict_table"]
