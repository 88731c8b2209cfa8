"""A fold's feature arrays, with any scaling fitted on its training rows alone.

Standardising with statistics of the whole dataset would let the validation
and test rows shape the training inputs; fitting the imputer and scaler on
the training fold keeps the protocol's promise that test data is unseen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.data.dataset import Dataset
from bench.data.splits import Fold


@dataclass(frozen=True)
class FoldFeatures:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def fold_features(dataset: Dataset, fold: Fold) -> FoldFeatures:
    """Rows of the fold; `dataset.standardize` columns median-imputed and standardised from train."""
    train, val, test = (dataset.x[rows] for rows in (fold.train, fold.val, fold.test))
    if dataset.standardize:
        columns = list(dataset.standardize)
        scaler = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        scaler.fit(train[:, columns])
        for part in (train, val, test):  # fancy indexing made copies, so this leaves the dataset alone
            part[:, columns] = scaler.transform(part[:, columns])
    return FoldFeatures(train, val, test)
