"""The report's typed model: what each dataset section holds, which figures its spec table draws, and the ranks
across datasets, read from stores filled without training."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bench.storage.store import Store
from reports import sections
from reports.results import StudyData, load
from reports.sections import (
    DATASET_FIGURES,
    DatasetSection,
    across,
    dataset_section,
    figure_name,
    report_model,
)
from tests.conftest import fake_study

TEMPLATE = Path(__file__).resolve().parents[2] / "reports" / "templates" / "report.md.j2"


def study(directory: Path, **kwargs) -> StudyData:
    with Store.open_existing(fake_study(directory, **kwargs)) as store:
        return load(store)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> StudyData:
    return study(tmp_path_factory.mktemp("toy"), strategies=("baseline", "oversample", "focal"))


def test_a_section_holds_formatted_typed_rows_in_the_summarys_order(toy):
    section = dataset_section(toy, "toy", {}, "macro_f1")
    ranked = [row for row in section.summary if row.ranked]
    means = [row.intervals["macro_f1"].mean for row in ranked]
    assert means == sorted(means, reverse=True) and [row.rank for row in ranked] == ["1", "2", "3"]
    assert [row.strategy for row in section.probability] == [row.strategy for row in section.summary]
    assert [(r.name, r.train, r.val, r.test) for r in section.counts] == [
        ("a", 50, 5, 10),
        ("b", 10, 5, 10),
        ("c", 2, 5, 10),
    ]
    assert {c.strategy for c in section.comparisons} == {"oversample", "focal"}
    assert section.ranked_on == "seeds 1, 2, 3" and section.chance_pr_auc == "0.333"


def test_the_figure_table_draws_each_figure_with_the_data_it_names(toy):
    figures = dataset_section(toy, "toy", {}, "macro_f1").figures
    assert list(figures) == [spec.name for spec in DATASET_FIGURES]  # the fake study has data for every one
    classes = figures["classes"]
    assert classes.name == figure_name("toy", "classes")
    assert classes.caption == "Samples per class as trained (seed 1, baseline split)."
    assert list(classes.args[0].columns) == ["class", "split", "count"]
    assert figures["per-class"].args[1:] == (["baseline", "oversample", "focal"], ["a", "b", "c"])


def test_a_figure_without_its_data_is_left_out(tmp_path):
    nothing_finished = study(tmp_path, seeds=(1,), unfinished=2)  # searches ran: trials and their cost remain
    assert list(dataset_section(nothing_finished, "toy", {}, "macro_f1").figures) == ["trials", "cost"]


def test_the_template_reads_every_field_of_a_dataset_section_and_nothing_else():
    template = TEMPLATE.read_text(encoding="utf-8")
    read = set(re.findall(r"\bd\.(\w+)", template))  # d.figures.scores reads "figures"
    assert read == {field.name for field in dataclasses.fields(DatasetSection)}


def test_ranks_across_datasets_need_two_datasets_and_friedman_three(tmp_path):
    assert across(study(tmp_path / "one"), {}, "macro_f1") is None
    two = across(study(tmp_path / "two", datasets=("toy", "other")), {}, "macro_f1")
    assert two.figure is None and two.friedman == "" and "at least 3 datasets" in two.too_few
    data = study(tmp_path / "three", strategies=("baseline", "oversample", "focal"), datasets=("toy", "b", "c"))
    three = across(data, {}, "macro_f1")
    assert three.too_few == "" and three.friedman.startswith("chi² = ") and three.figure.name == "critical-difference"


def test_the_model_lists_every_figure_once_the_critical_difference_last(tmp_path):
    model = report_model(study(tmp_path, datasets=("toy", "other", "third")), "macro_f1")
    names = [figure.name for figure in model.all_figures]
    assert names[-1] == "critical-difference" and len(names) == len(set(names)) == 3 * len(DATASET_FIGURES) + 1


def test_the_friedman_line_writes_p_as_a_sentence_does(tmp_path, monkeypatch):
    data = study(tmp_path, strategies=("baseline", "oversample", "focal"), datasets=("toy", "b", "c"))
    monkeypatch.setattr(sections, "friedman", lambda means: (12.3456, 0.0002))
    assert across(data, {}, "macro_f1").friedman == "chi² = 12.35, p < 0.001"
    monkeypatch.setattr(sections, "friedman", lambda means: (1.5, 0.25))
    assert across(data, {}, "macro_f1").friedman == "chi² = 1.50, p = 0.250"
