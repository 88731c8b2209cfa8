"""Tables (a CSV file, an OpenML dataset): a target column of class labels, numeric and categorical features.

Only what needs no statistics is done here: categorical columns become one-hot
columns (pandas), and missing values are refused, dropped or marked. Numeric
columns are imputed and standardised later, per fold, with statistics of the
training fold alone (:mod:`bench.data.features`), so the test set never shapes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.data.dataset import Dataset, LongTail, labelled, require_finite
from bench.errors import UserError, closest

MAX_CATEGORIES = 100  # more distinct texts than this is an identifier or free text, not a category
MISSING_CATEGORY = "(missing)"


def read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"csv: {path} is not a file; give path=FILE.csv")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"csv: cannot read {path}: {str(exc).strip().splitlines()[0]}") from None


def split_target(
    frame: pd.DataFrame, target: str | None, owner: str, table: str, spec: str
) -> tuple[pd.DataFrame, pd.Series]:
    """(features, labels) of the column `target`; errors name the source (`owner`), the `table` and the `spec`
    that picks a target ('csv[path=x.csv,target=COLUMN]')."""
    columns = [str(c) for c in frame.columns]
    if target is None:
        raise UserError(f"{owner}: name the column of class labels: {spec}; columns: {columns}")
    if target not in frame.columns:
        raise UserError(f"{owner}: {table} has no column '{target}'{closest(target, columns)}; columns: {columns}")
    labels = frame[target]
    if pd.api.types.is_float_dtype(labels) and not np.all(np.mod(labels.dropna(), 1) == 0):
        raise UserError(
            f"{owner}: target column '{target}' holds non-integer numbers; give a column of class labels "
            "(imbalance-bench benchmarks classifiers)"
        )
    return frame.drop(columns=[target]), labels


def handle_missing(
    features: pd.DataFrame, labels: pd.Series, missing: str, target: str, owner: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Refuse (default), drop, or mark missing values; numeric NaN stays for per-fold imputation."""
    rows = features.isna().any(axis=1) | labels.isna()
    if not rows.any():
        return features, labels
    columns = [str(c) for c in features.columns[features.isna().any()]] + ([target] if labels.isna().any() else [])
    if missing == "error":
        raise UserError(
            f"{owner}: missing values in column(s) {', '.join(columns)} ({int(rows.sum())} rows); "
            "pass missing=drop to drop those rows or missing=impute to fill them from the training fold"
        )
    if missing == "drop" or labels.isna().any():
        keep = ~rows if missing == "drop" else labels.notna()
        return features[keep].reset_index(drop=True), labels[keep].reset_index(drop=True)
    return features, labels


def encode(features: pd.DataFrame, owner: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Numeric columns first (to be standardised per fold), then one-hot columns of categorical ones."""
    numeric = features.select_dtypes("number")
    categorical = features.drop(columns=numeric.columns)
    for column in categorical.columns:
        distinct = categorical[column].nunique()
        if distinct > MAX_CATEGORIES:
            raise UserError(
                f"{owner}: column '{column}' has {distinct} distinct values, too many for a category "
                "(an identifier or free text?); drop it or encode it as numbers"
            )
    parts = [numeric.to_numpy("float32")]
    if categorical.shape[1]:  # get_dummies refuses a frame without columns
        text = categorical.astype("string").fillna(MISSING_CATEGORY)
        parts.append(pd.get_dummies(text, dtype="float32").to_numpy("float32"))
    x = np.concatenate(parts, axis=1)
    if x.shape[1] == 0:
        raise UserError(f"{owner}: no feature columns besides the target; add the columns to learn from")
    return x, tuple(range(numeric.shape[1]))


def load_csv(name: str, path: Path, target: str | None, missing: str, tail: LongTail | None) -> Dataset:
    features, labels = split_target(read_csv(path), target, name, str(path), f"{name}[path={path},target=COLUMN]")
    return table_dataset(name, features, labels, missing, tail)


def table_dataset(name: str, features: pd.DataFrame, labels: pd.Series, missing: str, tail: LongTail | None) -> Dataset:
    """A Dataset of a table's features and labels, missing values handled by `missing`, text columns one-hot."""
    features, labels = handle_missing(features, labels, missing, str(labels.name), name)
    x, numeric = encode(features, name)
    require_finite(name, x, allow_nan=numeric)
    # Numeric labels keep numeric order (2 before 10); anything else is a class name.
    kind = "int64" if pd.api.types.is_numeric_dtype(labels) else str
    return labelled(name, x, labels.astype(kind).to_numpy(), tail, standardize=numeric)
