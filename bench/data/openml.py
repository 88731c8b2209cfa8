"""OpenML datasets by id or name, through scikit-learn's fetch_openml, cached in this project's cache folder.

A table goes through the CSV path's handling (bench.data.tabular): text
columns one-hot, numeric ones standardised per training fold, missing values
refused unless `missing=` says otherwise. The target is the dataset's default
target on OpenML unless `target=` names a column; then the default target
columns are dropped, not learned from. `name=` is the name's active version
when the study is planned (scikit-learn warns when there are several): give
`id=` for data that cannot change under a study.
"""

from __future__ import annotations

from pathlib import Path

from bench.data.dataset import Dataset, LongTail
from bench.data.tabular import split_target, table_dataset
from bench.errors import UserError
from bench.user_cache import cache_directory


def data_home() -> Path:
    """fetch_openml keeps its downloads under openml/openml.org/ here."""
    return cache_directory() / "openml"


def load_openml(
    data_id: int | None, name: str | None, target: str | None, missing: str, tail: LongTail | None
) -> Dataset:
    """The dataset `data_id` (or the active version of `name`), downloaded on first use."""
    from sklearn.datasets import fetch_openml

    if (data_id is None) == (name is None):
        raise UserError("openml: give either the dataset's id or its name: openml[id=61] or openml[name=iris]")
    which = f"id={data_id}" if data_id is not None else f"name={name}"
    try:
        found = fetch_openml(name=name, data_id=data_id, data_home=str(data_home()), as_frame=True, parser="auto")
    except ValueError as exc:  # OpenML knows no such dataset (its HTTP 412), or a sparse one (no data frame)
        raise UserError(f"openml: dataset {which}: {exc}") from None
    except OSError as exc:  # no network (URLError is an OSError), or a folder that cannot be written
        raise UserError(
            f"openml: cannot download dataset {which} ({exc}); run once where openml.org can be reached, "
            f"then copy {data_home()} to this machine's cache"
        ) from None
    label = target or (found.target_names[0] if len(found.target_names) == 1 else None)
    others = [column for column in found.target_names if column != label]  # other targets would leak the label
    spec = f"openml[{which},target=COLUMN]"
    frame = found.frame.drop(columns=others)
    features, labels = split_target(frame, label, "openml", f"OpenML dataset {which}", spec)
    return table_dataset(f"openml[{which}]", features, labels, missing, tail)
