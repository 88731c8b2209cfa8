import sqlite3

import numpy as np
import pytest

from bench.config import PROTOCOL
from bench.errors import UserError
from bench.records import Cell, CellResult, SearchKey, SearchOutcome
from bench.storage.rows import Status
from bench.storage.store import SCHEMA_VERSION, Store, from_blob, study_finished, to_blob


def make_result(value: float) -> CellResult:
    return CellResult(
        hyperparameters={"learning_rate": 0.001},
        history={"loss": [1.0, 0.5]},
        seconds=1.0,
        class_counts={"train": [5, 5], "val": [1, 1], "test": [1, 1]},
        samples_per_epoch=12,
        sample_id=np.array([3, 4]),
        y_true=np.array([0, 1]),
        y_pred=np.array([0, 0]),
        proba=np.array([[0.9, 0.1], [0.6, 0.4]], "float32"),
        val_logits=np.array([[1.0, 0.0]], "float32"),
        logits=np.log(np.array([[0.9, 0.1], [0.6, 0.4]], "float32")),
        metrics={"macro_f1": value, "recall": [1.0, 0.0]},
    )


@pytest.fixture
def store(tmp_path):
    with Store.for_study(tmp_path, {"name": "t"}, "fp1", overwrite=False) as store:
        store.add_cells([Cell("k1", "d", "baseline", 1, 0), Cell("k2", "d", "baseline", 2, 1)])
        yield store


def closed(store: Store) -> bool:
    try:
        store.db.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_a_store_used_with_with_is_closed_after(tmp_path):
    with Store.for_study(tmp_path, {"name": "t"}, "fp1", overwrite=False) as store:
        assert not closed(store)
    assert closed(store)


def test_finished_cell_keeps_metrics_and_predictions(store):
    store.start_cell("k1")
    store.finish_cell("k1", make_result(0.5))
    rows = {(key, name, index): value for key, name, index, value in store.metrics()}
    assert rows == {("k1", "macro_f1", -1): 0.5, ("k1", "recall", 0): 1.0, ("k1", "recall", 1): 0.0}
    [(row, arrays)] = list(store.predictions())
    assert row["seed"] == 1 and arrays["sample_id"].tolist() == [3, 4]
    assert arrays["proba"].dtype == np.float32
    [(_, chosen)] = list(store.predictions(("y_true", "logits")))
    assert set(chosen) == {"y_true", "logits"}
    np.testing.assert_array_equal(chosen["logits"], make_result(0.5).logits)
    with pytest.raises(ValueError, match="no prediction array"):
        list(store.predictions(("y_true; DROP TABLE cells",)))


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype="int64"),
        np.arange(12, dtype="float32").reshape(3, 4),
        np.asfortranarray(np.arange(12, dtype="float64").reshape(3, 4)),
        np.array([], dtype="float32").reshape(0, 10),
        np.arange(24, dtype="float16").reshape(2, 3, 4),
        np.array([True, False]),
        np.arange(4, dtype=">i4"),
    ],
    ids=["int64", "float32-2d", "fortran", "empty", "3d", "bool", "big-endian"],
)
def test_a_stored_array_comes_back_equal_and_writable(array):
    back = from_blob(to_blob(array))
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_replanning_keeps_status_and_never_duplicates(store):
    store.start_cell("k1")
    store.finish_cell("k1", make_result(0.5))
    store.add_cells([Cell("k1", "d", "baseline", 1, 0), Cell("k2", "d", "baseline", 2, 1)])
    cells = store.cells()
    assert [c.status for c in cells] == [Status.DONE, Status.PENDING] and cells[0].attempts == 1


def test_a_cell_no_longer_planned_is_dropped_with_its_results(store):
    """A strategy's new version gives its cells new keys: the old version's results must not stay beside them."""
    store.start_cell("k1")
    store.finish_cell("k1", make_result(0.5))
    store.add_cells([Cell("k1-v2", "d", "baseline", 1, 0), Cell("k2", "d", "baseline", 2, 1)])
    assert [c.key for c in store.cells()] == ["k1-v2", "k2"]
    assert store.metrics() == [] and list(store.predictions()) == []


def test_a_failed_write_leaves_the_cell_unfinished(store, monkeypatch):
    store.start_cell("k1")
    broken = make_result(0.5)
    object.__setattr__(broken, "metrics", {"macro_f1": "not a number"})
    with pytest.raises(ValueError):
        store.finish_cell("k1", broken)
    assert store.cells()[0].status is Status.RUNNING
    assert store.metrics() == []


def test_a_study_is_finished_when_every_cell_is_done_or_skipped(tmp_path, store):
    assert not study_finished(tmp_path, "fp1"), "two cells pending"
    store.start_cell("k1")
    store.finish_cell("k1", make_result(0.5))
    store.start_cell("k2")
    store.fail_cell("k2", "boom")
    assert not study_finished(tmp_path, "fp1"), "a failed cell is retried"
    store.skip_cell("k2", "not applicable")
    assert study_finished(tmp_path, "fp1")
    assert not study_finished(tmp_path, "fp2"), "another study's store"
    assert not study_finished(tmp_path / "nowhere", "fp1")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bench.sqlite").write_text("not a database")
    assert not study_finished(tmp_path / "broken", "fp1")


def test_resume_needs_the_same_fingerprint(tmp_path, store, monkeypatch):
    Store.for_study(tmp_path, {"name": "t"}, "fp1", overwrite=False).close()
    opened = []
    monkeypatch.setattr(Store, "_check_version", lambda self: opened.append(self))
    with pytest.raises(UserError, match="different study"):
        Store.for_study(tmp_path, {"name": "t"}, "fp2", overwrite=False)
    assert closed(opened[0]), "the refused store's connection is closed"


def test_overwrite_starts_over(tmp_path, store):
    store.close()
    fresh = Store.for_study(tmp_path, {"name": "t"}, "fp2", overwrite=True)
    assert fresh.cells() == [] and fresh.meta("fingerprint") == "fp2"
    fresh.close()


def test_status_commands_refuse_a_folder_without_a_study(tmp_path):
    with pytest.raises(UserError, match="no study"):
        Store.open_existing(tmp_path / "empty")


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0])
def test_newer_and_unknown_schema_versions_are_refused(tmp_path, store, version):
    db = sqlite3.connect(tmp_path / "bench.sqlite")
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
    db.commit()
    db.close()
    with pytest.raises(UserError, match=f"has store schema {version}, this imbalance-bench reads schema"):
        Store.open_existing(tmp_path)


def test_a_schema_1_store_is_migrated(tmp_path):
    from reports import write_report
    from tests.conftest import fake_study

    directory = fake_study(tmp_path / "old")
    db = sqlite3.connect(directory / "bench.sqlite")  # what imbalance-bench wrote before schema 2
    db.execute("ALTER TABLE predictions DROP COLUMN logits")
    db.execute("ALTER TABLE predictions DROP COLUMN val_logits")
    db.execute("ALTER TABLE cells DROP COLUMN compute_seconds")
    db.execute("ALTER TABLE searches DROP COLUMN compute_seconds")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.execute("DELETE FROM meta WHERE key='protocol'")
    db.commit()
    db.close()
    store = Store.open_existing(directory)
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    for logits, y_pred in store.db.execute("SELECT logits, y_pred FROM predictions"):
        np.testing.assert_array_equal(from_blob(logits).argmax(axis=1), from_blob(y_pred))
    assert store.trained("toy", "baseline", 1) is None, "no validation logits to reuse after migration"
    assert write_report(store, directory).is_file()
    store.close()


def test_a_store_of_the_first_protocol_is_reported_but_never_resumed(tmp_path):
    from reports import write_report
    from tests.conftest import fake_study

    directory = fake_study(tmp_path / "v1")
    db = sqlite3.connect(directory / "bench.sqlite")  # what imbalance-bench wrote with schema 3 (protocol 1)
    db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    db.execute("DELETE FROM meta WHERE key='protocol'")
    db.commit()
    db.close()
    store = Store.open_existing(directory)
    assert store.meta("protocol") == "1" and write_report(store, directory).is_file()
    fingerprint = store.meta("fingerprint")
    store.close()
    with pytest.raises(
        UserError, match=f"holds results of evaluation protocol 1, this imbalance-bench runs protocol {PROTOCOL}"
    ):
        Store.for_study(directory, {"name": "t"}, fingerprint, overwrite=False)


def test_a_store_of_protocol_2_is_reported_but_never_resumed_into_a_mix(tmp_path):
    from reports import write_report
    from tests.conftest import fake_study

    directory = fake_study(tmp_path / "v2")
    store = Store.open_existing(directory)
    store.db.execute("UPDATE meta SET value='2' WHERE key='protocol'")
    store.db.commit()
    assert write_report(store, directory).is_file()
    fingerprint = store.meta("fingerprint")
    store.close()
    with pytest.raises(UserError, match="holds results of evaluation protocol 2, this imbalance-bench runs protocol 3"):
        Store.for_study(directory, {"name": "t"}, fingerprint, overwrite=False)


def test_failed_search_is_not_reused(store):
    search = SearchKey("d", "baseline")
    store.save_search(search, SearchOutcome(None, (), 1.0, "every tuning trial failed"))
    assert store.best_hyperparameters(search) is None
    store.save_search(search, SearchOutcome({"lr": 1}, (), 1.0))
    assert store.best_hyperparameters(search) == {"lr": 1}
    assert store.best_hyperparameters(SearchKey("d", "baseline", seed=1)) is None, "a per-seed search is another one"
    assert store.best_hyperparameters(SearchKey("d", "baseline", version="2")) is None, "so is a newer version's"


def test_logits_are_kept_for_reuse_and_skipped_cells_are_final(store):
    store.start_cell("k1")
    store.finish_cell("k1", make_result(0.5))
    trained = store.trained("d", "baseline", 1)
    assert trained.val_logits.tolist() == [[1.0, 0.0]] and trained.test_logits.shape == (2, 2)
    assert trained.samples_per_epoch == 12 and trained.history == {"loss": [1.0, 0.5]}
    assert store.trained("d", "baseline", 2) is None
    store.skip_cell("k2", "smote: too few samples")
    assert [c.status for c in store.cells()] == [Status.DONE, Status.SKIPPED]


def test_a_schema_4_store_gains_the_probability_and_group_scores_from_its_predictions(tmp_path):
    from tests.conftest import fake_study

    directory = fake_study(tmp_path / "v4")
    db = sqlite3.connect(directory / "bench.sqlite")  # what schema 4 kept: the confusion-based scores only
    new = ("macro_pr_auc", "macro_roc_auc", "brier", "log_loss", "ece", "worst_class_recall", "worst_class_f1")
    expected = {
        n: v
        for n, v in db.execute("SELECT name, value FROM metrics WHERE cell_key = (SELECT min(cell_key) FROM metrics)")
    }
    db.execute(
        f"DELETE FROM metrics WHERE name IN ({', '.join('?' * len(new))}) OR name LIKE '%\\_macro\\_%' ESCAPE '\\'", new
    )
    db.execute("UPDATE meta SET value='4' WHERE key='schema_version'")
    db.commit()
    db.close()
    store = Store.open_existing(directory)
    migrated = {
        r["name"]: r["value"]
        for r in store.db.execute(
            "SELECT name, value FROM metrics WHERE cell_key = (SELECT min(cell_key) FROM metrics)"
        )
    }
    store.close()
    assert set(new) <= set(migrated) and "tail_macro_f1" in migrated
    assert migrated == pytest.approx(expected), "the scores a finished cell would have had"
