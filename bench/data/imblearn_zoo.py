"""imbalanced-learn's benchmark collection (27 binary tabular datasets, Ding 2011) by name, cached for the user.

imbalanced-learn's own `fetch_datasets` reads and downloads it, into this
project's cache folder rather than scikit-learn's, so every study of one user
shares one copy. Offline and not yet cached, the error names the file to put
where.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.data.dataset import Dataset, LongTail, labelled, require_finite
from bench.errors import UserError
from bench.user_cache import cache_directory


def names() -> tuple[str, ...]:
    """The collection's dataset names, as imbalanced-learn lists them."""
    from imblearn.datasets._zenodo import MAP_NAME_ID

    return tuple(MAP_NAME_ID)


def data_home() -> Path:
    """Where the collection is kept: fetch_datasets unpacks its archive under `zenodo/` here."""
    return cache_directory() / "imbalanced-learn"


def load_zoo(name: str | None, tail: LongTail | None) -> Dataset:
    """One dataset of the collection (labels -1 and 1 become classes '-1' and '1'), downloaded on first use."""
    from imblearn.datasets import fetch_datasets
    from imblearn.datasets._zenodo import URL

    if name is None:
        raise UserError(f"imblearn-zoo: give the dataset's name, e.g. imblearn-zoo[name=ecoli]: {', '.join(names())}")
    try:
        found = fetch_datasets(data_home=str(data_home()), filter_data=(name,))[name]
    except OSError as exc:  # no network (URLError is an OSError), or a folder that cannot be written
        raise UserError(
            f"imblearn-zoo: cannot download imbalanced-learn's benchmark collection ({exc}); download {URL} "
            f"elsewhere and unpack it into {data_home() / 'zenodo'} (files x1data.npz to x27data.npz)"
        ) from None
    x = np.asarray(found.data, dtype="float32")
    require_finite("imblearn-zoo", x)
    return labelled("imblearn-zoo", x, np.asarray(found.target), tail)
