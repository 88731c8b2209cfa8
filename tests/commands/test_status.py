"""`bench status`: counts by status, unfinished cells, and every class a finished seed's fold lacks."""

import json
import sqlite3

from bench.commands.status import status_text
from tests.conftest import fake_study


def set_class_counts(directory, key, counts):
    db = sqlite3.connect(directory / "bench.sqlite")
    with db:
        db.execute("UPDATE cells SET class_counts=? WHERE key=?", (json.dumps(counts), key))
    db.close()


def test_classes_a_fold_lacks_are_named_with_their_seeds(tmp_path):
    study = fake_study(tmp_path / "study", seeds=(1, 2, 3), unfinished=1)
    lacking_c = {"train": [50, 10, 2], "val": [5, 2, 0], "test": [10, 10, 10]}
    for key in ("toy-baseline-1", "toy-oversample-1", "toy-baseline-3"):
        set_class_counts(study, key, lacking_c)
    set_class_counts(study, "toy-oversample-2", {"train": [50, 10, 2], "val": [5, 0, 1], "test": [10, 10, 0]})
    set_class_counts(study, "toy-oversample-3", {"train": [50, 10, 2], "val": [5, 5, 5], "test": [0, 10, 10]})

    lines = status_text(study).splitlines()
    assert lines[0].endswith("6 cells: 5 done, 0 running, 0 pending, 1 failed, 0 skipped")
    assert lines[1].startswith("  failed   toy / oversample / seed 3")
    assert lines[2:] == [
        "  toy: class 'b' has no validation samples in seed 2 (scores on validation count it as 0)",
        "  toy: class 'c' has no validation samples in seeds 1, 3 (scores on validation count it as 0)",
        "  toy: class 'c' has no test samples in seed 2 (test scores count it as 0)",
        "  toy: class 'b' has fewer than 3 validation samples in seeds 1 (2), 3 (2): tuning and early stopping "
        'judge it on single rows (tuning = "cv[k=3]" averages over folds)',
        "  toy: class 'c' has fewer than 3 validation samples in seed 2 (1): tuning and early stopping "
        'judge it on single rows (tuning = "cv[k=3]" averages over folds)',
    ], "once per dataset, fold and class; a failed cell's counts (seed 3's test) are not results"


def test_a_study_whose_folds_hold_every_class_names_none(tmp_path):
    study = fake_study(tmp_path / "study")
    assert "has no" not in status_text(study) and "fewer than" not in status_text(study)


def test_status_answers_without_pandas_scikit_learn_matplotlib_or_keras(tiny_study):
    """`bench status` stays fast: the store imports scikit-learn only to migrate an old store's metrics, and the
    class-coverage rule it shares with the report comes without the report's pandas and matplotlib."""
    import subprocess
    import sys

    code = (
        "import sys; from bench.commands.cli import main; rc = main(['status', sys.argv[1]]);"
        "print([m for m in ('pandas', 'sklearn', 'imblearn', 'matplotlib', 'keras', 'tensorflow') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tiny_study)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
