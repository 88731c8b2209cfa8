"""OpenML datasets by id or name, through scikit-learn's fetch_openml, cached in this project's cache folder.

A table goes through the CSV path's handling (bench.data.tabular): text
columns one-hot, numeric ones standardised per training fold, missing values
refused unless `missing=` says otherwise. The target is the dataset's default
target on OpenML unless `target=` names a column.
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
    from sklearn.datasets._openml import OpenMLError

    if (data_id is None) == (name is None):
        raise UserError("openml: give the dataset's id or its name, not both: openml[id=61] or openml[name=iris]")
    which = f"id={data_id}" if data_id is not None else f"name={name}"
    try:
        found = fetch_openml(name=name, data_id=data_id, data_home=str(data_home()), as_frame=True, parser="auto")
    except OpenMLError as exc:  # HTTP 412: OpenML knows no such dataset
        raise UserError(f"openml: no dataset {which} on OpenML ({exc}); search https://www.openml.org") from None
    except OSError as exc:  # no network (URLError is an OSError), or a folder that cannot be written
        raise UserError(
            f"openml: cannot download dataset {which} ({exc}); run once where openml.org can be reached, "
            f"then copy {data_home()} to this machine's cache"
        ) from None
    label = target or (found.target_names[0] if len(found.target_names) == 1 else None)
    spec = f"openml[{which},target=COLUMN]"
    features, labels = split_target(found.frame, label, "openml", f"OpenML dataset {which}", spec)
    return table_dataset(f"openml[{which}]", features, labels, missing, tail)
