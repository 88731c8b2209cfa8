"""The evaluation protocol, checked on index sets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.data.dataset import Dataset, LongTail
from bench.data.sources import DATASETS
from bench.data.splits import cover_every_class, holdout, make_fold
from bench.errors import UserError
from bench.specs import parse_spec

PROPERTY = settings(max_examples=150, deadline=None)
# Class sizes as user data has them: often the 1- and 2-row classes a plain cut loses.
SIZES = st.lists(st.sampled_from([1, 2, 2, 3, 4, 7, 20, 60]), min_size=2, max_size=8)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return DATASETS.create(parse_spec("digits-lt"))


def test_exp_profile_follows_the_long_tail_formula():
    counts = LongTail(ratio=100.0).counts(np.full(10, 150))
    expected = np.maximum(np.floor(150 * 100.0 ** (-np.arange(10) / 9)), 2)
    assert counts.tolist() == expected.astype(int).tolist()
    assert counts[0] == 150 and counts[-1] == 2


def test_linear_profile_falls_by_equal_steps_from_the_head_to_head_over_ratio():
    counts = LongTail(ratio=10.0, profile="linear").counts(np.full(10, 100))
    assert np.allclose(LongTail(ratio=10.0, profile="linear").sizes(10, 100.0), np.arange(100, 0, -10))
    assert counts[0] == 100 and counts[-1] == 10 and np.all(np.diff(counts) <= -9), "kept as floor of those sizes"
    assert DATASETS.create(parse_spec("digits-lt[profile=linear,ratio=10]")).long_tail.profile == "linear"


def test_step_profile_has_mu_minority_classes():
    counts = LongTail(ratio=10.0, profile="step", mu=0.4).counts(np.full(10, 100))
    assert counts.tolist() == [100] * 6 + [10] * 4


@pytest.mark.parametrize("seed", [1, 2])
def test_test_set_is_shared_and_disjoint(digits, seed):
    random_fold = make_fold(digits, seed, stratified=False, val_fraction=0.2)
    stratified_fold = make_fold(digits, seed, stratified=True, val_fraction=0.2)
    assert np.array_equal(random_fold.test, stratified_fold.test)
    for fold in (random_fold, stratified_fold):
        parts = [set(fold.train), set(fold.val), set(fold.test)]
        assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]


def test_digits_test_set_is_balanced_and_pool_long_tailed(digits):
    test, pool = holdout(digits, 1)
    assert np.bincount(digits.y[test]).tolist() == [30] * 10
    pool_counts = np.bincount(digits.y[pool])
    assert pool_counts[0] / pool_counts[-1] >= 50
    assert list(pool_counts) == sorted(pool_counts, reverse=True)


def test_different_seeds_cut_different_test_sets(digits):
    assert not np.array_equal(holdout(digits, 1)[0], holdout(digits, 2)[0])


def test_stratified_validation_keeps_proportions_within_one_sample(digits):
    fold = make_fold(digits, 3, stratified=True, val_fraction=0.2)
    pool_counts = np.bincount(digits.y[np.concatenate([fold.train, fold.val])], minlength=10)
    val_counts = np.bincount(digits.y[fold.val], minlength=10)
    assert np.all(np.abs(val_counts - pool_counts * 0.2) <= 1)


def test_single_sample_class_cannot_be_stratified():
    data = Dataset("tiny", np.zeros((7, 2), "float32"), np.array([0, 0, 0, 1, 1, 1, 2]), ("a", "b", "c"))
    with pytest.raises(UserError, match="class 'c' has a single sample"):
        make_fold(data, 1, stratified=True, val_fraction=0.3)


@pytest.mark.parametrize("params", ["ratio=0.5", "profile=log", "mu=1.5", "test_per_class=500"])
def test_digits_parameters_are_checked(params):
    with pytest.raises(UserError):
        DATASETS.create(parse_spec(f"digits-lt[{params}]"))


def user_data(counts: list[int], test_fraction: float = 0.2) -> Dataset:
    y = np.repeat(np.arange(len(counts)), counts)
    names = tuple(f"c{i}" for i in range(len(counts)))
    return Dataset("user", np.zeros((len(y), 2), "float32"), y, names, test_fraction=test_fraction)


@PROPERTY
@given(sizes=SIZES, held_share=st.floats(0.0, 1.0), kept_minimum=st.sampled_from([1, 2]), seed=st.integers(0, 2**32))
def test_covering_moves_the_fewest_rows_to_give_each_side_its_classes(sizes, held_share, kept_minimum, seed):
    y = np.repeat(np.arange(len(sizes)), sizes)
    rows = np.random.default_rng(seed).permutation(len(y))
    held_before = rows[: round(held_share * len(y))]
    kept, held = cover_every_class(rows[len(held_before) :], held_before, y, np.random.default_rng(seed), kept_minimum)

    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(len(y))), "disjoint, and nothing lost"
    total = np.array(sizes)
    kept_counts, held_counts = (np.bincount(y[part], minlength=len(sizes)) for part in (kept, held))
    held_min = (total >= 2).astype(int)
    kept_min = np.where(total >= 2, np.minimum(kept_minimum, total - 1), 1)
    assert np.all(held_counts >= held_min), "a row of every class with two or more is held"
    assert np.all(kept_counts >= kept_min), "every class is kept, two where it has three or more and asks for two"
    before = np.bincount(y[held_before], minlength=len(sizes))
    short = np.maximum(held_min - before, 0).sum() + np.maximum(kept_min - (total - before), 0).sum()
    assert len(np.setdiff1d(held, held_before)) <= short and len(np.setdiff1d(held_before, held)) <= short
    if len(held) > len(held_before):
        assert np.all(held_counts == held_min), "held grows only when no class can give a row back"
    if len(held) < len(held_before):
        assert np.all(kept_counts == kept_min), "held shrinks only when no class can spare a kept row"
    again = cover_every_class(rows[len(held_before) :], held_before, y, np.random.default_rng(seed), kept_minimum)
    assert all(np.array_equal(a, b) for a, b in zip((kept, held), again, strict=True)), "deterministic for a seed"


@PROPERTY
@given(sizes=st.lists(st.sampled_from([2, 2, 3, 4, 9, 30]), min_size=1, max_size=7), seed=st.integers(1, 10_000))
def test_every_fold_holds_every_class_the_data_allows(sizes, seed):
    data = user_data([120, *sizes])  # a head class, so each cut has room for a row per class
    random_fold = make_fold(data, seed, stratified=False, val_fraction=0.2)
    stratified_fold = make_fold(data, seed, stratified=True, val_fraction=0.2)
    assert np.array_equal(random_fold.test, stratified_fold.test)
    total = np.bincount(data.y)
    for fold in (random_fold, stratified_fold):
        parts = (fold.train, fold.val, fold.test)
        assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(data.y))), "disjoint and covering"
        train, val, test = (np.bincount(data.y[p], minlength=data.num_classes) for p in parts)
        assert np.all(test >= 1) and np.all(train >= 1)
        assert np.all(val[total >= 3] >= 1), "validation has every class the pool has two of"
        assert np.all(val[total == 2] == 0), "a 2-row class is tested and trained on"
    again = make_fold(data, seed, stratified=True, val_fraction=0.2)
    assert np.array_equal(again.train, stratified_fold.train) and np.array_equal(again.val, stratified_fold.val)


def test_user_data_tests_every_class_and_keeps_a_pair_for_training():
    data = user_data([500, 200, 2, 3, 2])
    for seed in (1, 2, 3):
        fold = make_fold(data, seed, stratified=True, val_fraction=0.2)
        train, val, test = (np.bincount(data.y[p], minlength=5).tolist() for p in (fold.train, fold.val, fold.test))
        assert test[2:] == [1, 1, 1] and train[2:] == [1, 1, 1] and val[2:] == [0, 1, 0]
        assert 95 <= test[0] <= 105 and 36 <= test[1] <= 44, "the hold-out stays a stratified fifth"


def test_a_large_hold_out_leaves_a_class_of_three_one_row_for_validation():
    data = user_data([40, 3, 3, 3], test_fraction=0.6)  # a stratified 60% would test two of three rows
    for seed in range(1, 6):
        fold = make_fold(data, seed, stratified=True, val_fraction=0.2)
        counts = [np.bincount(data.y[p], minlength=4)[1:].tolist() for p in (fold.train, fold.val, fold.test)]
        assert counts == [[1, 1, 1]] * 3, seed


@pytest.mark.parametrize(
    ("sizes", "held", "expected"),
    [
        ([10, 10, 2], [0, 1, 10, 11, 12], [2, 2, 1]),  # shares 2.3, 2.3, 0.5: class 2 comes in, class 1 gives back
        ([10, 10, 1], [0, 1, 2, 10, 20], [3, 2, 0]),  # shares 2.4, 2.4, 0.2: class 2 trains, class 1 fills in
    ],
)
def test_a_moved_row_is_paired_with_one_from_the_class_furthest_from_its_share(sizes, held, expected):
    y = np.repeat(np.arange(len(sizes)), sizes)
    kept = np.setdiff1d(np.arange(len(y)), held)
    kept, held = cover_every_class(kept, np.array(held), y, np.random.default_rng(0))
    assert np.bincount(y[held], minlength=len(sizes)).tolist() == expected


@pytest.mark.parametrize("stratified", [False, True])
def test_digits_validation_holds_all_ten_classes_in_every_seed(stratified):
    data = DATASETS.create(parse_spec("digits-lt[ratio=100]"))
    for seed in range(1, 11):
        fold = make_fold(data, seed, stratified=stratified, val_fraction=0.2)
        val = np.bincount(data.y[fold.val], minlength=10)
        assert np.all(val >= 1), (seed, val.tolist())
        assert len(fold.val) == round(0.2 * (len(fold.train) + len(fold.val))), "the cut keeps its size"
