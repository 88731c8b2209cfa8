"""Which classes a finished cell's splits leave without samples, or with too few validation rows to judge them.

One rule for `bench status` and the report, which word it each their own way. It
reads plain per-split class counts (`{"train": [...], "val": [...], "test": [...]}`)
and imports nothing heavy, so `bench status` stays fast.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from bench.config import THIN_VALIDATION

Group = TypeVar("Group", bound=Hashable)
Key = TypeVar("Key", bound=Hashable)
Counts = Mapping[str, Sequence[int]]


def absent_classes(
    cells: Iterable[tuple[Group, Key, Counts]], splits: Sequence[str]
) -> dict[tuple[Group, str, int], list[Key]]:
    """(group, split, class) -> the keys of the cells whose `split` has no sample of the class, each once.

    No score on a split can judge a class it lacks (every score counts it 0 there), so it is named,
    not averaged silently. Entries follow each group's first cell, then `splits`, then class index.
    """
    found: dict[tuple[Group, str, int], list[Key]] = {}
    for group, key, counts in cells:
        for split in splits:
            for label, count in enumerate(counts.get(split, [])):
                where = found.setdefault((group, split, label), [])
                if count == 0 and key not in where:
                    where.append(key)
    return {entry: where for entry, where in found.items() if where}


def thin_validation(cells: Iterable[tuple[Group, int, Counts]]) -> dict[tuple[Group, int], dict[int, int]]:
    """(group, class) -> {seed: the fewest validation rows any of its cells gave the class}, for a class with
    1 to THIN_VALIDATION - 1 validation rows in some cell, in the order they are first found.

    Validation macro-F1 chooses the trial and the kept epoch; a class judged on one or two rows moves it in
    large steps, so selection rests on those rows.
    """
    found: dict[tuple[Group, int], dict[int, int]] = {}
    for group, seed, counts in cells:
        for label, count in enumerate(counts.get("val", [])):
            if 0 < count < THIN_VALIDATION:
                fewest = found.setdefault((group, label), {})
                fewest[seed] = min(fewest.get(seed, count), count)
    return found
