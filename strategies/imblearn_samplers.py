"""imbalanced-learn's samplers by name, through one adapter whose parameters are read from the library itself.

Each sampler's parameters, their types, ranges and string options come from
its own `_parameter_constraints` and constructor defaults (the tables
scikit-learn's parameter validation checks), so a release that changes a
range changes what a spec may give, with no copy here to drift. A parameter
whose default is not a number, bool or string (an estimator, a callable,
None) keeps the library's default; `random_state` is the cell's seed and
`n_jobs` is 1 (a worker owns its share of the CPU). Each part's version
carries the imbalanced-learn version, so an upgrade reruns its cells.

Samplers resample the flattened training fold once per fit, as `smote` does.
One that cannot run on a fold because a class has too few samples for its
neighbours is skipped when the study is planned (each sampler declares which
parameter sets that count); a refusal that depends on the data itself (no
k-means cluster with enough samples of a class) skips its cells when the
fit meets it, with imbalanced-learn's message.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, ClassVar, NamedTuple

import imblearn
import numpy as np
from imblearn import combine, over_sampling, under_sampling
from sklearn.utils._param_validation import Interval, StrOptions

from bench.registry import Bounds, Parameter, Tunable
from strategies.base import NotApplicable, StrategyPart

LIBRARY = f"imbalanced-learn {imblearn.__version__}"
SET_BY_THE_HARNESS = {"random_state", "n_jobs"}


class Wrapped(NamedTuple):
    """One imbalanced-learn sampler as the registry lists it."""

    sampler_class: type
    rebalances: bool  # controlled samplers rebalance the counts (one such part per composite, like oversample)
    paper: str
    # The fewest training samples a class needs, as (a parameter's name or a number, plus this): fewer make the
    # library fail on its neighbours (SMOTE interpolates between a sample and one of its k same-class neighbours).
    needs: tuple[str | int, int] | None = None


_SMOTE_K = inspect.signature(over_sampling.SMOTE).parameters["k_neighbors"].default  # what the combined ones use
# The cleaning samplers (imbalanced-learn's user guide, "cleaning under-sampling") only remove hard or noisy rows.
SAMPLERS: dict[str, Wrapped] = {
    "adasyn": Wrapped(over_sampling.ADASYN, True, "He et al. 2008, ADASYN", ("n_neighbors", 1)),
    "borderline-smote": Wrapped(over_sampling.BorderlineSMOTE, True, "Han et al. 2005", ("k_neighbors", 1)),
    "svm-smote": Wrapped(over_sampling.SVMSMOTE, True, "Nguyen et al. 2011, SVM-SMOTE", ("k_neighbors", 1)),
    "kmeans-smote": Wrapped(over_sampling.KMeansSMOTE, True, "Douzas et al. 2018", ("k_neighbors", 1)),
    "random-undersampler": Wrapped(under_sampling.RandomUnderSampler, True, "random under-sampling"),
    "near-miss": Wrapped(under_sampling.NearMiss, True, "Mani and Zhang 2003, NearMiss", ("n_neighbors", 0)),
    "cluster-centroids": Wrapped(under_sampling.ClusterCentroids, True, "k-means centroids for majority classes"),
    "instance-hardness-threshold": Wrapped(under_sampling.InstanceHardnessThreshold, True, "Smith et al. 2014"),
    "tomek-links": Wrapped(under_sampling.TomekLinks, False, "Tomek 1976, Tomek links"),
    "edited-nearest-neighbours": Wrapped(under_sampling.EditedNearestNeighbours, False, "Wilson 1972"),
    "repeated-edited-nearest-neighbours": Wrapped(under_sampling.RepeatedEditedNearestNeighbours, False, "Tomek 1976"),
    "all-knn": Wrapped(under_sampling.AllKNN, False, "Tomek 1976, all k-NN"),
    "one-sided-selection": Wrapped(under_sampling.OneSidedSelection, False, "Kubat and Matwin 1997", ("n_seeds_S", 1)),
    "condensed-nearest-neighbour": Wrapped(under_sampling.CondensedNearestNeighbour, False, "Hart 1968"),
    "neighbourhood-cleaning-rule": Wrapped(under_sampling.NeighbourhoodCleaningRule, False, "Laurikkala 2001"),
    "smote-enn": Wrapped(combine.SMOTEENN, True, "Batista et al. 2004, SMOTE + ENN", (_SMOTE_K, 1)),
    "smote-tomek": Wrapped(combine.SMOTETomek, True, "Batista et al. 2003, SMOTE + Tomek links", (_SMOTE_K, 1)),
}


def bounds_of(interval: Interval) -> Bounds:
    """scikit-learn's Interval as the registry's Bounds (None: open on that side)."""
    return Bounds(
        interval.left,
        interval.right,
        low_inclusive=interval.closed in ("left", "both"),
        high_inclusive=interval.closed in ("right", "both"),
    )


def parameters_of(sampler_class: type) -> dict[str, Parameter]:
    """The parameters a spec may set: those whose default is a number, bool or string the library constrains."""
    defaults = inspect.signature(sampler_class).parameters
    found: dict[str, Parameter] = {}
    for key, constraints in sampler_class._parameter_constraints.items():
        default = defaults[key].default
        if key in SET_BY_THE_HARNESS:
            continue
        if isinstance(default, bool):
            if "boolean" in constraints:
                found[key] = Parameter(default)
        elif isinstance(default, int | float):
            kind = int if isinstance(default, int) else float
            for constraint in constraints:
                if isinstance(constraint, Interval):
                    found[key] = Parameter(kind(default), bounds_of(constraint))
                    break
        elif isinstance(default, str):
            for constraint in constraints:
                if isinstance(constraint, StrOptions):
                    found[key] = Parameter(default, options=tuple(sorted(constraint.options)))
                    break
    return found


class ImblearnSampler(StrategyPart):
    """The adapter: an imbalanced-learn sampler run on the flattened training fold, once per fit."""

    sampler_class: ClassVar[type]
    needs: ClassVar[tuple[str | int, int] | None] = None
    library = LIBRARY

    def sampler_for(self, values: dict[str, Any], seed: int) -> Any:
        accepted = inspect.signature(self.sampler_class).parameters
        harness = {"random_state": seed, "n_jobs": 1}
        return self.sampler_class(**values, **{k: v for k, v in harness.items() if k in accepted})

    def skip(self, train_counts: np.ndarray) -> str | None:
        if self.needs is None:
            return None
        source, margin = self.needs
        value = self.params[source] if isinstance(source, str) else source
        fewest = int(min(value.choices) if isinstance(value, Tunable) else value) + margin
        if not (small := [str(c) for c, n in enumerate(train_counts) if 0 < n < fewest]):
            return None
        setting = f" with {source}={value}" if isinstance(source, str) else f" (k_neighbors={value} in its SMOTE)"
        fix = f"lower {source} or use" if isinstance(source, str) else "use"
        return (
            f"{self.name}: class(es) {', '.join(small)} have fewer than {fewest} training samples, which "
            f"imbalanced-learn's {self.sampler_class.__name__}{setting} needs; {fix} a sampler that needs no "
            "neighbours (oversample, random-undersampler)"
        )

    def resample(self, hp: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
        values = {key: self.value(hp, key) for key in self.params}
        flat = x_train.reshape(len(x_train), -1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                x_new, y_new = self.sampler_for(values, seed).fit_resample(flat, y_train)
        except (ValueError, RuntimeError) as exc:  # the library's refusal of this fold, not a bug of the study
            raise NotApplicable(f"{self.name}: imbalanced-learn cannot resample this fold: {exc}") from None
        dtype = x_train.dtype if np.issubdtype(x_train.dtype, np.floating) else np.float32
        return np.asarray(x_new).reshape(-1, *x_train.shape[1:]).astype(dtype), np.asarray(y_new)


def sampler_part(name: str, wrapped: Wrapped) -> type[ImblearnSampler]:
    """The strategy part of one imbalanced-learn sampler: a subclass of the adapter declaring what it is."""
    kind = wrapped.sampler_class.__name__
    declared = {
        "name": name,
        "description": f"imbalanced-learn's {kind} on the flattened training fold, once per fit",
        "reference": f"{wrapped.paper}; {LIBRARY} {kind}",
        "version": 1,
        "corrects_prior": wrapped.rebalances,
        "parameters": parameters_of(wrapped.sampler_class),
        "sampler_class": wrapped.sampler_class,
        "needs": wrapped.needs,
        "__module__": __name__,
        "__doc__": f"imbalanced-learn's {kind} ({wrapped.paper}).",
    }
    return type(kind, (ImblearnSampler,), declared)


IMBLEARN_PARTS: tuple[type[ImblearnSampler], ...] = tuple(
    sampler_part(name, wrapped) for name, wrapped in SAMPLERS.items()
)
