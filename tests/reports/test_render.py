"""Reports built from stores filled without training: content, escaping, self-containment."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.records import SearchKey, SearchOutcome
from bench.storage.store import Store
from reports import write_report
from tests.conftest import fake_study

EVIL = "<script>alert(1)</script>"


class Collector(HTMLParser):
    """Records tags, their attributes, and script bodies; fails on nothing (html.parser is lenient)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def build(directory: Path) -> tuple[str, str]:
    store = Store.open_existing(directory)
    try:
        write_report(store, directory)
    finally:
        store.close()
    return (directory / "report.md").read_text(), (directory / "report.html").read_text()


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory) -> tuple[Path, str, str]:
    directory = fake_study(
        tmp_path_factory.mktemp("evil"),
        class_names=("bee", EVIL, 'say "hi"'),
        strategies=("baseline", "stratify", "focal"),
        datasets=("toy", "other"),
    )
    return (directory, *build(directory))


def test_user_text_is_escaped_everywhere(evil_report):
    _, markdown, html = evil_report
    assert EVIL not in html and EVIL not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parser = Collector()
    parser.feed(html)
    assert [t for t, _ in parser.tags].count("script") == 1, "only the report's own sorting script"
    assert "alert" not in "".join(parser.scripts)


def test_html_is_self_contained(evil_report):
    _, _, html = evil_report
    parser = Collector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("link", "iframe", "object", "embed")
        assert "href" not in attrs or not re.match(r"^(https?:)?//", attrs["href"] or "")
        if tag in ("img", "script"):
            assert (attrs.get("src") or "data:").startswith("data:image/png;base64,") or tag == "script"
            assert tag != "script" or "src" not in attrs
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    images = [a for t, a in parser.tags if t == "img"]
    assert len(images) >= 8 and all(a["src"].startswith("data:image/png;base64,") for a in images)


def test_markdown_tables_have_a_row_per_strategy(evil_report):
    directory, markdown, _ = evil_report
    toy = markdown.split("## toy")[1].split("## other")[0]
    summary = toy.split("### Summary")[1].split("###")[0]
    assert len(re.findall(r"^\| \d+ \| ", summary, flags=re.M)) == 3
    comparisons = toy.split("### Compared with baseline")[1].split("###")[0]
    assert len(re.findall(r"^\| (stratify|focal) \| macro-(F1|recall) ", comparisons, flags=re.M)) == 4
    per_class = toy.split("### Per class")[1].split("###")[0]
    assert len(re.findall(r"^\| \w+ \| (recall|f1) \|", per_class, flags=re.M)) == 6
    for figure in re.findall(r"\]\((figures/[^)]+\.png)\)", markdown):
        assert (directory / figure).is_file()


def test_two_datasets_get_ranks_but_no_friedman_or_cd_diagram(evil_report):
    directory, markdown, _ = evil_report
    across = markdown.split("## Across datasets")[1].split("## Provenance")[0]
    assert len(re.findall(r"^\| (baseline|stratify|focal) \| \d\.\d\d \|", across, flags=re.M)) == 3
    assert "Friedman test and critical-difference diagram need at least 3 datasets; this study has 2" in across
    assert "chi²" not in across and "critical-difference.png" not in markdown
    assert not (directory / "figures" / "critical-difference.png").exists()


def test_three_datasets_get_friedman_and_a_cd_diagram(tmp_path):
    directory = fake_study(
        tmp_path, strategies=("baseline", "stratify", "focal"), seeds=(1, 2), datasets=("x", "y", "z")
    )
    markdown, _ = build(directory)
    across = markdown.split("## Across datasets")[1].split("## Provenance")[0]
    assert "Friedman test: chi² =" in across and "need at least 3 datasets" not in across
    assert "](figures/critical-difference.png)" in across
    assert (directory / "figures" / "critical-difference.png").is_file()


def test_rendering_again_draws_only_what_another_metric_changes(tmp_path, monkeypatch):
    """The keys of figures rebuilt from the store are stable: only the CD diagram, ranked by the new metric,
    is drawn again, and a finished cell changed in the store redraws its dataset's figures only."""
    from reports import figures

    directory = fake_study(
        tmp_path, strategies=("baseline", "stratify", "focal"), seeds=(1, 2), datasets=("x", "y", "z")
    )
    build(directory)
    before = {path.name: path.read_bytes() for path in (directory / "figures").glob("*.png")}
    drawn = []
    real = figures._drawn
    monkeypatch.setattr(figures, "_drawn", lambda job: drawn.append(job[0].__name__) or real(job))
    store = Store.open_existing(directory)
    try:
        write_report(store, directory, metric="ece")
        assert drawn == ["critical_difference"]
        store.db.execute("UPDATE metrics SET value = 0.5 WHERE cell_key = 'y-focal-1' AND name = 'macro_f1'")
        drawn.clear()
        write_report(store, directory, metric="ece")
    finally:
        store.close()
    assert drawn == ["scores"]  # the other figures of y read neither macro-F1 nor that cell's other scores
    assert {path.name: path.read_bytes() for path in (directory / "figures").glob("*-classes.png")} == {
        name: image for name, image in before.items() if name.endswith("-classes.png")
    }


@pytest.fixture(scope="module")
def uneven_report(tmp_path_factory) -> str:
    """focal skipped on 2 of 5 seeds; one cell trained at another ratio, with a class missing from val and test."""
    directory = fake_study(
        tmp_path_factory.mktemp("uneven"),
        strategies=("baseline", "stratify", "focal"),
        seeds=(1, 2, 3, 4, 5),
        datasets=("toy[ratio=100]",),
    )
    store = Store.open_existing(directory)
    try:
        for seed in (2, 4):
            store.skip_cell(f"toy[ratio=100]-focal-{seed}", "SMOTE needs 2 samples of every class")
        lopsided = {"train": [60, 10, 2], "val": [5, 0, 5], "test": [10, 10, 0]}
        store.db.execute(
            "UPDATE cells SET class_counts=? WHERE key=?", (json.dumps(lopsided), "toy[ratio=100]-stratify-3")
        )
        store.db.execute(
            "UPDATE cells SET class_counts=? WHERE key=?",
            (json.dumps({"train": [50, 10, 2], "val": [5, 0, 5], "test": [10] * 3}), "toy[ratio=100]-baseline-4"),
        )
    finally:
        store.close()
    return build(directory)[0]


def test_a_strategy_short_of_seeds_is_flagged_not_ranked(uneven_report):
    summary = uneven_report.split("### Summary")[1].split("###")[0]
    assert [r[0] for r in re.findall(r"^\| (\d+) \| (baseline|stratify) \|", summary, flags=re.M)] == ["1", "2"]
    assert re.search(r"^\| – \| focal \|.*\| 3 of 5: not ranked \|$", summary, flags=re.M)
    assert "means are over seeds 1, 2, 3, 4, 5" in summary and "focal (3 of 5 seeds)" in summary
    assert "2 skipped" in uneven_report.split("##")[0]


def test_the_achieved_imbalance_ratio_is_shown_and_the_requested_one_labelled(uneven_report):
    data = uneven_report.split("### Data")[1].split("| class |")[0]
    # train [50, 10, 2] in every cell but one with [60, 10, 2]; with val [5, 5, 5] the pool is [55, 15, 7]
    assert "Achieved training imbalance ratio (largest / smallest class count of the training fold" in data
    assert "25.0 to 30.0; of the training pool (train + validation): 7.9 to 9.3." in data
    assert "Requested ratio (dataset spec): 100;" in data


def test_classes_absent_from_a_split_are_named(uneven_report):
    data = uneven_report.split("### Data")[1].split("| class |")[0]
    assert (
        "Classes absent from a split of some finished cells, so no score on that split judges them: "
        "b from validation (seeds 3, 4; baseline, stratify); c from test (seed 3; stratify)."
    ) in data


def test_classes_with_one_or_two_validation_rows_are_named_with_what_that_does_to_selection(tmp_path):
    directory = fake_study(tmp_path, seeds=(1, 2))
    store = Store.open_existing(directory)
    try:
        for key, val in (("toy-baseline-1", [5, 1, 2]), ("toy-oversample-1", [5, 2, 2]), ("toy-baseline-2", [5, 5, 0])):
            counts = {"train": [50, 10, 2], "val": val, "test": [10, 10, 10]}
            store.db.execute("UPDATE cells SET class_counts=? WHERE key=?", (json.dumps(counts), key))
    finally:
        store.close()
    data = build(directory)[0].split("### Data")[1].split("| class |")[0]
    assert "Classes with fewer than 3 validation rows in some finished cells: b (seed 1: 1); c (seed 1: 2)." in data
    assert 'trials tie; `tuning = "cv[k=3]"` scores trials over three folds' in data


def test_partial_study_renders_and_says_what_is_missing(tmp_path):
    directory = fake_study(tmp_path, unfinished=2)
    markdown, html = build(directory)
    assert "4 done of 6, 1 failed, 1 not run yet" in markdown
    missing = markdown.split("### Cells not finished")[1]
    assert "RuntimeError: boom" in missing and "| pending |" in missing
    assert "RuntimeError: boom" in html


def test_results_csv_has_one_row_per_finished_cell(tmp_path):
    import pandas as pd

    directory = fake_study(tmp_path, unfinished=1)
    build(directory)
    assert len(pd.read_csv(directory / "results.csv")) == 5


def test_names_cannot_inject_attributes_or_tags(tmp_path):
    directory = fake_study(
        tmp_path / "hostile",
        class_names=('x" onmouseover="alert(2)', "y' onclick='alert(3)", "ok"),
        datasets=("<img src=x onerror=alert(4)>",),
    )
    markdown, html = build(directory)
    parser = Collector()
    parser.feed(html)
    assert not [(t, a) for t, a in parser.tags if any(name.startswith("on") for name in a)], "no event handlers"
    assert all(a["src"].startswith("data:image/png;base64,") for t, a in parser.tags if t == "img")
    assert "&lt;img src=x onerror=alert(4)&gt;" in html
    assert "<img src=x" not in markdown, "the Markdown report escapes names too"


def test_a_failed_search_beside_a_done_one_renders(tmp_path):
    directory = fake_study(tmp_path, strategies=("baseline", "focal"))
    store = Store.open_existing(directory)
    try:
        store.save_search(SearchKey("toy", "focal"), SearchOutcome(None, (), 1.0, "BrokenProcessPool: worker died"))
    finally:
        store.close()
    markdown, _ = build(directory)
    tuned = markdown.split("| strategy | best hyperparameters |")[1].split("\n\n")[0]
    assert "| baseline |" in tuned and "| focal |" not in tuned


def test_figure_files_of_two_specs_never_collide():
    """The report's figures are named with the project's one slug (bench.storage.files), hash included."""
    from reports.sections import figure_name

    names = {figure_name(spec, "classes") for spec in ("csv[path=a_b.csv]", "csv[path=a-b.csv]", "csv[path=a b.csv]")}
    assert len(names) == 3
    assert all(name.startswith("csv_path_a") and name.endswith("-classes") for name in names)


def test_the_report_shows_probability_scores_groups_reliability_and_findings(tmp_path):
    directory = fake_study(tmp_path / "s", strategies=("baseline", "oversample", "focal"), seeds=(1, 2, 3, 4, 5, 6))
    markdown, html = build(directory)
    for heading in ("### Findings", "### Threshold-free scores, calibration and the worst class", "### Head, medium"):
        assert heading in markdown
    assert "| strategy | PR-AUC | ROC-AUC | Brier | log loss | ECE | worst-class recall | worst-class F1 |" in markdown
    assert "head (more than 100 training-pool samples): none" in markdown  # fake counts: 55, 15, 7 per class
    assert "medium (20 to 100 training-pool samples): a; tail (under 20 training-pool samples): b, c" in markdown
    for figure in ("reliability", "groups"):
        assert list((directory / "figures").glob(f"*-{figure}.png")), figure
    findings = markdown.split("### Findings")[1].split("###")[0]
    assert "of 2 strategies beat baseline on macro-F1" in findings


def test_the_chosen_metric_ranks_the_summary_in_its_direction(tmp_path):
    directory = fake_study(tmp_path / "s", strategies=("baseline", "oversample", "focal"))
    store = Store.open_existing(directory)
    try:
        write_report(store, directory, metric="ece")
    finally:
        store.close()
    markdown = (directory / "report.md").read_text()
    assert "### Summary (ranked by ECE)" in markdown and "ranked and judged by ECE" in markdown
    rows = re.findall(r"^\| (\d) \| (\S+) \| ([\d.]+) \|", markdown, flags=re.M)
    eces = [float(value) for _, _, value in rows]
    assert len(eces) == 3 and eces == sorted(eces), "lower ECE ranks first"


@pytest.mark.parametrize(("kind", "shown"), [("svg", "svg"), ("pdf", "png")])
def test_figure_formats_and_the_html_stays_self_contained(tmp_path, kind, shown):
    from bench.commands.cli import main

    directory = fake_study(tmp_path / "s")
    assert main(["report", str(directory), "--figure-format", kind]) == 0
    files = {path.suffix for path in (directory / "figures").iterdir()}
    assert f".{kind}" in files and f".{shown}" in files
    markdown, html = (directory / "report.md").read_text(), (directory / "report.html").read_text()
    assert re.search(rf"\]\(figures/[^)]+\.{shown}\)", markdown)
    assert f"data:image/{'svg+xml' if shown == 'svg' else 'png'};base64," in html and 'src="figures/' not in html


def test_an_unknown_metric_is_one_line(tmp_path, capsys):
    from bench.commands.cli import main

    directory = fake_study(tmp_path / "s")
    assert main(["report", str(directory), "--metric", "f1"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: unknown metric 'f1'") and "macro_f1" in line
