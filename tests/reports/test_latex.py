"""`bench export --what latex`: booktabs tables that compile, best values bold, ties with the best marked."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd

from bench.commands.cli import main
from reports.latex import dataset_table, escape
from tests.conftest import fake_study


def test_special_characters_are_escaped():
    assert escape("smote[k_neighbors=1]+a&b 100%") == r"smote[k\_neighbors=1]+a\&b 100\%"


def test_the_best_is_bold_and_only_strategies_the_test_cannot_separate_from_it_are_marked():
    seeds = range(1, 9)
    rows = [("best", s, 0.80 + 0.001 * s) for s in seeds]
    rows += [("tied", s, 0.80 + 0.001 * s - (0.002 if s % 2 else -0.001)) for s in seeds]  # differences of mixed sign
    rows += [("far", s, 0.50 + 0.001 * s) for s in seeds]  # 0.3 below on every seed
    results = pd.DataFrame(rows, columns=["strategy", "seed", "macro_f1"]).assign(dataset="d")
    for column in ("macro_recall", "macro_pr_auc", "ece", "worst_class_recall"):
        results[column] = results.macro_f1
    table = dataset_table(results, "d", "macro_f1")
    lines = {line.split(" & ")[0]: line for line in table.splitlines() if " & " in line and "Strategy" not in line}
    assert list(lines) == ["best", "tied", "far"]
    assert lines["best"].split(" & ")[1].startswith(r"\textbf{0.805}")
    assert r"\dag" in lines["tied"].split(" & ")[1] and r"\dag" not in lines["far"].split(" & ")[1]
    assert r"\textbf" in lines["far"].split(" & ")[4], "ECE: lower is better, so the far strategy's is the best"


def test_latex_export_is_a_booktabs_table_and_compiles_where_pdflatex_is(tmp_path, capsys):
    directory = fake_study(tmp_path / "s", strategies=("baseline", "oversample", "smote[k_neighbors=1]"))
    output = tmp_path / "tables" / "summary.tex"
    output.parent.mkdir()
    assert main(["export", str(directory), "--what", "latex", "--output", str(output)]) == 0
    assert f"1 tables written to {output}" in capsys.readouterr().out
    text = output.read_text()
    for command in (r"\begin{tabular}{lccccc}", r"\toprule", r"\midrule", r"\bottomrule", r"\end{table}"):
        assert text.count(command) == 1, command
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0]
    assert len(body.strip().splitlines()) == 3 and r"smote[k\_neighbors=1]" in body
    assert all(line.endswith(r"\\") for line in body.strip().splitlines())
    assert len(re.findall(r"\\textbf\{", body)) >= 5, "a best value in each of the 5 columns"
    if shutil.which("pdflatex"):
        document = tmp_path / "tables" / "paper.tex"
        document.write_text(
            "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\\input{summary.tex}\\end{document}\n"
        )
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name],
            cwd=document.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout[-2000:]


def test_a_metric_no_cell_has_gives_no_table(tmp_path, capsys):
    directory = fake_study(tmp_path / "s")  # 55, 15 and 7 pool samples per class: no head class
    output = tmp_path / "head.tex"
    assert (
        main(["export", str(directory), "--what", "latex", "--metric", "head_macro_f1", "--output", str(output)]) == 0
    )
    assert "0 tables written" in capsys.readouterr().out and r"\begin{table}" not in output.read_text()
