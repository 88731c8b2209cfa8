"""Two studies on the same data and seeds, compared strategy by strategy: paired differences B - A over seeds.

Pairs are only meaningful on the same test sets, so the two stores must hold the
same test rows (sample ids and labels) for every dataset and seed they share.
A strategy is matched by its name, or, when a study changed one of its
parameters (`focal[gamma=2.0]` against `focal[gamma=3.0]`), by its family name
when each study has exactly one strategy of that family left unmatched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.metrics import SUMMARY
from bench.specs import parse_composite
from bench.storage.store import Store
from reports.formatting import fmt, fmt_p, markdown_cell
from reports.results import StudyData, load
from reports.stats import paired, with_holm


def held_out(store: Store) -> dict[tuple[str, int], str]:
    """(dataset, seed) -> a digest of its test rows and labels."""
    found = {}
    for row, arrays in store.predictions(("sample_id", "y_true")):
        digest = hashlib.sha256(arrays["sample_id"].tobytes() + arrays["y_true"].tobytes()).hexdigest()
        found.setdefault((row["dataset"], int(row["seed"])), digest)
    return found


def family(strategy: str) -> str:
    """`focal` for `focal[gamma=2.0]`, `stratify+focal` for `stratify+focal[gamma=3.0]`."""
    try:
        return "+".join(spec.name for spec in parse_composite(strategy))
    except UserError:
        return strategy


def matched(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    """(strategy of A, strategy of B): same names first, then one left in each of a family."""
    pairs = [(s, s) for s in a if s in b]
    left_a, left_b = [s for s in a if s not in b], [s for s in b if s not in a]
    for name in dict.fromkeys(map(family, left_a)):
        mine, theirs = [s for s in left_a if family(s) == name], [s for s in left_b if family(s) == name]
        if len(mine) == 1 and len(theirs) == 1:
            pairs.append((mine[0], theirs[0]))
    return pairs


def load_pair(first: Path, second: Path) -> tuple[StudyData, StudyData]:
    """Both studies' frames, refused in one line unless they share test sets."""
    loaded, tests = [], []
    for directory in (first, second):
        with Store.open_existing(directory) as store:
            loaded.append(load(store))
            tests.append(held_out(store))
    shared = set(tests[0]) & set(tests[1])
    if not shared:
        raise UserError(
            f"{first} and {second} have no dataset and seed in common; compare studies run on the same data and seeds"
        )
    if differ := sorted(key for key in shared if tests[0][key] != tests[1][key]):
        dataset, seed = differ[0]
        raise UserError(
            f"{first} and {second} test on different rows ({dataset}, seed {seed}, and {len(differ) - 1} more): "
            "compare studies of the same data, seeds and protocol"
        )
    return loaded[0], loaded[1]


def comparison(a: StudyData, b: StudyData, metrics: list[str]) -> pd.DataFrame:
    """Per dataset, matched strategy and metric: B - A paired over seeds, Holm over the strategies of a dataset."""
    rows = []
    for dataset in [d for d in a.datasets if d in b.datasets]:
        ra, rb = a.results[a.results.dataset == dataset], b.results[b.results.dataset == dataset]
        pairs = matched(list(dict.fromkeys(ra.strategy)), list(dict.fromkeys(rb.strategy)))
        for metric in metrics:
            family_rows = []
            for sa, sb in pairs:
                scores_a = ra[ra.strategy == sa].set_index("seed")[metric]
                scores_b = rb[rb.strategy == sb].set_index("seed")[metric]
                found = paired(scores_b, scores_a)
                family_rows.append(
                    {
                        "dataset": dataset,
                        "strategy": sa if sa == sb else f"{sa} → {sb}",
                        "metric": metric,
                        "mean_a": scores_a.mean(),
                        "mean_b": scores_b.mean(),
                        **found,
                    }
                )
            rows += with_holm(family_rows, higher_is_better=SUMMARY[metric].higher_is_better)
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame, first: Path, second: Path) -> str:
    lines = [
        f"# {first} (A) against {second} (B)",
        "",
        "Paired over the seeds both studies have (same test sets); difference = B − A. p-values are Holm-corrected "
        "over the strategies of a dataset, per metric; the verdict is B's, at alpha 0.05, in the metric's direction.",
        "",
        "| dataset | strategy | metric | seeds | A | B | B − A | 95% CI | test | p (Holm) | verdict for B |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |",
    ]
    for r in frame.itertuples():
        lines.append(
            f"| {markdown_cell(r.dataset)} | {markdown_cell(r.strategy)} | {SUMMARY[r.metric].label} | {r.n} | "
            f"{fmt(r.mean_a)} | {fmt(r.mean_b)} | {r.mean_difference:+.3f} | "
            f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}] | {r.test} | {fmt_p(r.p_holm)} | {r.verdict} |"
        )
    if frame.empty:
        lines.append("| – | no strategy in common | | | | | | | | | |")
    return "\n".join(lines) + "\n"
