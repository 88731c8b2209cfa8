"""The one rule for classes a split lacks or validates on too few rows, shared by `bench status` and the report."""

from __future__ import annotations

from reports.class_coverage import absent_classes, thin_validation


def counts(train=(5, 5, 5), val=(3, 3, 3), test=(5, 5, 5)) -> dict[str, list[int]]:
    return {"train": list(train), "val": list(val), "test": list(test)}


def test_an_absent_class_is_found_per_split_with_each_cell_key_once():
    cells = [
        ("toy", 2, counts(val=(3, 0, 3))),
        ("toy", 1, counts(val=(3, 0, 3), test=(5, 5, 0))),
        ("toy", 2, counts(val=(3, 0, 3))),  # the same seed again (another strategy): listed once
        ("toy", 3, counts()),
    ]
    assert absent_classes(cells, ("val", "test")) == {("toy", "val", 1): [2, 1], ("toy", "test", 2): [1]}
    assert absent_classes(cells, ("train",)) == {}


def test_absent_classes_follow_each_groups_first_cell_then_the_splits_then_the_class():
    cells = [
        ("b", 1, counts(test=(0, 5, 5))),
        ("a", 1, counts(val=(3, 3, 0))),
        ("b", 2, counts(val=(0, 3, 3))),
    ]
    assert list(absent_classes(cells, ("val", "test"))) == [("b", "val", 0), ("b", "test", 0), ("a", "val", 2)]


def test_a_thin_validation_class_keeps_the_fewest_rows_per_seed_and_skips_absent_ones():
    cells = [
        ("toy", 1, counts(val=(3, 2, 0))),
        ("toy", 1, counts(val=(1, 2, 0))),
        ("toy", 2, counts(val=(2, 5, 0))),
    ]
    assert thin_validation(cells) == {("toy", 1): {1: 2}, ("toy", 0): {1: 1, 2: 2}}
    assert list(thin_validation(cells)) == [("toy", 1), ("toy", 0)]  # in the order first found
