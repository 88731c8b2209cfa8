"""Resampling the training fold per epoch, as indices: the data is never copied."""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE

from bench.registry import Bounds, Parameter, Tunable
from strategies.base import NotApplicable, Sampler, StrategyPart

SHARE = Bounds(0.0, 1.0, low_inclusive=False)  # a share of the largest or smallest class


def per_class_sampler(plan: dict[int, int], y_train: np.ndarray, *, replace: bool) -> Sampler:
    """Row indices redrawn each epoch to the plan's per-class counts, as int32: the features are never copied.

    The same sampling as imbalanced-learn's RandomOverSampler (every row kept,
    the extra rows drawn with replacement) and RandomUnderSampler (a subset
    without replacement), though not the same random draws. Written out
    because fit_resample on an index column copies the index arrays several
    times: 1.54x baseline's peak memory for an epoch of 200,000 rows
    oversampled at ratio 100, where this stays at 1.05x.
    """
    members = {c: np.flatnonzero(y_train == c).astype(np.int32) for c in plan}

    def draw(rng: np.random.Generator) -> np.ndarray:
        order = np.empty(sum(plan.values()), dtype=np.int32)
        start = 0
        for c, goal in plan.items():
            rows = members[c]
            if replace:
                chosen = order[start : start + goal]
                chosen[: len(rows)] = rows
                chosen[len(rows) :] = rows[rng.integers(0, len(rows), size=goal - len(rows))]
            else:
                order[start : start + goal] = rng.choice(rows, size=goal, replace=False)
            start += goal
        rng.shuffle(order)
        return order

    return draw


def oversampling_plan(y_train: np.ndarray, target: float) -> dict[int, int]:
    """Per-class sample counts after oversampling: at least `target` x the largest class."""
    counts = np.bincount(y_train)
    goal = np.maximum(counts, np.ceil(target * counts.max()).astype(int))
    return {int(c): int(g) for c, g in enumerate(goal) if counts[c] > 0}


class Oversample(StrategyPart):
    """Random oversampling of minority classes in the training fold, redrawn each epoch.

    The duplicates are drawn as row indices rather than features, so an epoch
    is a list of indices into the one copy of the training data.
    """

    name = "oversample"
    description = "random oversampling of the training fold up to target x the largest class"
    reference = "random oversampling as in imbalanced-learn RandomOverSampler, drawn by index each epoch"
    version = 1
    corrects_prior = True
    parameters = {"target": Parameter(Tunable((0.5, 1.0)), SHARE)}

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler:
        plan = oversampling_plan(y_train, float(self.value(hp, "target")))
        return per_class_sampler(plan, y_train, replace=True)


def undersampling_plan(y_train: np.ndarray, target: float) -> dict[int, int]:
    """Per-class counts after undersampling: no class above ceil(smallest / target)."""
    counts = np.bincount(y_train)
    present = counts[counts > 0]
    cap = int(np.ceil(present.min() / target))
    return {int(c): int(min(n, cap)) for c, n in enumerate(counts) if n > 0}


class Undersample(StrategyPart):
    """Random undersampling of majority classes, a fresh subset each epoch, by index."""

    name = "undersample"
    description = "random undersampling of the training fold, no class above smallest / target, redrawn each epoch"
    reference = "random undersampling as in imbalanced-learn RandomUnderSampler, drawn by index each epoch"
    version = 1
    corrects_prior = True
    parameters = {"target": Parameter(Tunable((0.5, 1.0)), SHARE)}

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler:
        plan = undersampling_plan(y_train, float(self.value(hp, "target")))
        return per_class_sampler(plan, y_train, replace=False)


def class_balanced_order(y_train: np.ndarray, rng: np.random.Generator, length: int, batch_size: int) -> np.ndarray:
    """`length` int32 indices whose every batch of `batch_size` holds each class within one sample of an equal share.

    Each batch takes floor(B / C) rows of every class present plus one more of
    B mod C classes chosen at random for that batch (the last, shorter batch
    likewise for its own size); rows are drawn with replacement within their
    class. Balancing the whole epoch is not enough: batches cut across it
    hold anything from 0 to 3 of a class where 1.6 is fair. imbalanced-learn's
    BalancedBatchGenerator is binary-only and Keras 2 era, hence these lines.
    """
    members = [np.flatnonzero(y_train == c).astype(np.int32) for c in np.unique(y_train)]
    batches = -(-length // batch_size)
    # Slot j of a batch takes the (j mod C)-th class of that batch's own random class order.
    class_order = rng.permuted(np.tile(np.arange(len(members)), (batches, 1)), axis=1)
    slots = class_order[:, np.arange(batch_size) % len(members)].ravel()[:length]
    order = np.empty(length, dtype=np.int32)
    for c, rows in enumerate(members):
        chosen = slots == c
        order[chosen] = rows[rng.integers(0, len(rows), size=int(chosen.sum()))]
    return order


class BalancedBatches(StrategyPart):
    """Class-balanced batches (each class within one sample of B / C per batch), by index, as long as the fold."""

    name = "balanced-batches"
    description = "every batch holds each class within one sample of an equal share, drawn from the training fold"
    reference = "class-balanced sampling, Shen et al. 2016; Kang et al. 2020"
    version = 1
    corrects_prior = True

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler:
        batch_size = int(hp.get("batch_size"))  # declared by the harness before it asks for the sampler
        return lambda rng: class_balanced_order(y_train, rng, len(y_train), batch_size)


class PowerSampling(StrategyPart):
    """Class-aware sampling with class probability proportional to n_c ** q (q = 0.5: square-root).

    q = 1 is instance-balanced (plain shuffling), q = 0 class-balanced; the
    long-tail literature (Mahajan et al. 2018, Kang et al. 2020) finds q = 0.5 a
    good middle. An epoch has as many samples as the training fold.
    """

    name = "sqrt-sampling"
    description = "class-aware sampling with class probability proportional to n_c ** q (q = 0.5: square root)"
    reference = "Mahajan et al. 2018; Kang et al. 2020, Decoupling Representation and Classifier"
    version = 1
    corrects_prior = True
    parameters = {"q": Parameter(0.5, Bounds(0.0, 1.0))}
    prefix = "sampling"

    def sampler(self, hp: Any, y_train: np.ndarray) -> Sampler:
        q = float(self.value(hp, "q"))
        counts = np.bincount(y_train).astype(float)
        per_sample = counts[y_train] ** (q - 1)  # class share n_c**q spread over its n_c samples
        probabilities = per_sample / per_sample.sum()
        return lambda rng: rng.choice(len(y_train), size=len(y_train), p=probabilities)


def too_few_for_smote(train_counts: np.ndarray, k: int) -> str | None:
    """Why SMOTE with `k` neighbours cannot run on these per-class training counts, or None."""
    too_small = [str(c) for c, n in enumerate(train_counts) if 0 < n <= k]
    if not too_small:
        return None
    fix = "use smote[k_neighbors=1] or oversample" if k > 1 else "use oversample"
    return (
        f"smote: class(es) {', '.join(too_small)} have {k} or fewer training samples, SMOTE with "
        f"k_neighbors={k} needs at least {k + 1}; {fix}"
    )


class Smote(StrategyPart):
    """SMOTE (imbalanced-learn) on flattened training inputs, synthesised once per fit.

    The one data strategy that must create new arrays: synthetic samples do not
    exist as rows to index. Skipped when a class has too few training samples
    for its k nearest neighbours (with a tuned k, for the smallest choice).
    """

    name = "smote"
    description = "SMOTE synthetic minority samples on flattened training inputs"
    reference = "Chawla et al. 2002; imbalanced-learn SMOTE"
    version = 1
    corrects_prior = True
    parameters = {"k_neighbors": Parameter(5, Bounds(1))}

    def skip(self, train_counts: np.ndarray) -> str | None:
        k = self.params["k_neighbors"]
        return too_few_for_smote(train_counts, int(min(k.choices) if isinstance(k, Tunable) else k))

    def resample(self, hp: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
        k = int(self.value(hp, "k_neighbors"))
        if reason := too_few_for_smote(np.bincount(y_train), k):  # when planning did not ask skip()
            raise NotApplicable(reason)
        sampler = SMOTE(k_neighbors=k, random_state=seed)
        flat, y_new = sampler.fit_resample(x_train.reshape(len(x_train), -1), y_train)
        return flat.reshape(-1, *x_train.shape[1:]).astype(x_train.dtype), y_new
