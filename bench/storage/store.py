"""The study's source of truth: one SQLite file, written only by the driver.

Each finished cell is one transaction (metrics, predictions and status
together), so a kill leaves either a whole cell or none of it. Arrays are
stored as .npy bytes and read back with allow_pickle=False.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.config import PROTOCOL
from bench.errors import UserError
from bench.records import Cell, CellResult, SearchKey, SearchOutcome, Trained
from bench.storage.rows import FINAL, CellRow, SearchRow, Status, TrialRow

# 2: predictions keep logits (post-hoc reuse); 3: fit/predict seconds of cells and searches; 4: the protocol is
# recorded; 5: threshold-free, calibration, worst-class and class-group metrics
SCHEMA_VERSION = 5
STORE_NAME = "bench.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    dataset TEXT PRIMARY KEY, class_names TEXT NOT NULL, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS searches (
    dataset TEXT NOT NULL, strategy TEXT NOT NULL, status TEXT NOT NULL,
    best_hp TEXT, seconds REAL, error TEXT, compute_seconds REAL, seed INTEGER NOT NULL DEFAULT 0,
    version TEXT NOT NULL DEFAULT '', PRIMARY KEY (dataset, strategy, seed));
CREATE TABLE IF NOT EXISTS trials (
    dataset TEXT NOT NULL, strategy TEXT NOT NULL, trial_id TEXT NOT NULL, status TEXT NOT NULL,
    objective REAL, hyperparameters TEXT NOT NULL, message TEXT, seed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dataset, strategy, seed, trial_id));
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY, dataset TEXT NOT NULL, strategy TEXT NOT NULL, seed INTEGER NOT NULL,
    position INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, started_at REAL, finished_at REAL, seconds REAL,
    error TEXT, hyperparameters TEXT, history TEXT, class_counts TEXT, samples_per_epoch INTEGER,
    compute_seconds REAL);
CREATE TABLE IF NOT EXISTS metrics (
    cell_key TEXT NOT NULL REFERENCES cells(key), name TEXT NOT NULL,
    class_index INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (cell_key, name, class_index));
CREATE TABLE IF NOT EXISTS predictions (
    cell_key TEXT PRIMARY KEY REFERENCES cells(key),
    sample_id BLOB NOT NULL, y_true BLOB NOT NULL, y_pred BLOB NOT NULL, proba BLOB NOT NULL,
    logits BLOB NOT NULL, val_logits BLOB NOT NULL);
"""
PREDICTION_ARRAYS = ("sample_id", "y_true", "y_pred", "proba", "logits", "val_logits")


def study_finished(directory: Path, fingerprint: str) -> bool:
    """Whether `directory` holds this very study with every cell final: a rerun that trains nothing.

    Read without opening a Store (which may upgrade an old one): a guess made
    before Keras loads, which anything unexpected answers with False.
    """
    path = Path(directory) / STORE_NAME
    if not path.is_file():
        return False
    try:
        db = sqlite3.connect(path)
        try:
            [stored] = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone() or [None]
            placeholders = ", ".join("?" * len(FINAL))
            total, unfinished = db.execute(
                f"SELECT count(*), coalesce(sum(status NOT IN ({placeholders})), 0) FROM cells",
                [status.value for status in FINAL],
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return stored == fingerprint and total > 0 and unfinished == 0


def metric_rows(key: str, metrics: dict[str, float | list[float]]) -> list[tuple[str, str, int, float]]:
    """The metrics table's rows of a cell: class index -1 for a summary metric, the class for a per-class one."""
    rows = []
    for name, value in metrics.items():
        if isinstance(value, list):
            rows += [(key, name, i, float(v)) for i, v in enumerate(value)]
        else:
            rows.append((key, name, -1, float(value)))
    return rows


def to_blob(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def from_blob(blob: bytes) -> np.ndarray:
    """The array `to_blob` stored. Reading the .npy header is most of np.load's time on a small array, and a
    store repeats a few headers thousands of times: each distinct one is parsed once."""
    if blob[6:8] == b"\x01\x00":  # format 1.0, what np.save writes for these arrays
        start = 10 + int.from_bytes(blob[8:10], "little")
        dtype, shape = _npy_header(bytes(blob[:start]))
        if dtype is not None:
            return np.frombuffer(blob, dtype, offset=start).reshape(shape).copy()
    return np.load(io.BytesIO(blob), allow_pickle=False)


@functools.lru_cache(maxsize=256)
def _npy_header(header: bytes) -> tuple[np.dtype | None, tuple[int, ...]]:
    """(dtype, shape) of a C-ordered array's .npy header; no dtype when np.load must read it (Fortran, objects)."""
    buffer = io.BytesIO(header)
    np.lib.format.read_magic(buffer)
    shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(buffer)
    return (None if fortran_order or dtype.hasobject else dtype), shape


def _keep_logits(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: predictions keep logits.

    Test logits come back as log(proba): softmax is shift-invariant per row, so
    argmax and post-hoc offsets act on them as on the lost logits. Validation
    logits never existed, so post-hoc strategies cannot reuse migrated cells.
    """
    db.execute("ALTER TABLE predictions ADD COLUMN logits BLOB")
    db.execute("ALTER TABLE predictions ADD COLUMN val_logits BLOB")
    for key, proba in db.execute("SELECT cell_key, proba FROM predictions").fetchall():
        logits = np.log(np.clip(from_blob(proba), np.finfo("float32").tiny, None)).astype("float32")
        db.execute("UPDATE predictions SET logits=? WHERE cell_key=?", (to_blob(logits), key))


def _time_compute(db: sqlite3.Connection) -> None:
    """Schema 2 -> 3: cells and searches record their fit/predict seconds (unknown, NULL, for older ones)."""
    db.execute("ALTER TABLE cells ADD COLUMN compute_seconds REAL")
    db.execute("ALTER TABLE searches ADD COLUMN compute_seconds REAL")


def _record_protocol(db: sqlite3.Connection) -> None:
    """Schema 3 -> 4: the store says which protocol made its numbers (older ones: protocol 1), and a search
    belongs to a seed (0: one search for every seed, the only kind protocol 1 had), so tables are rebuilt
    with the seed in their keys."""
    db.execute("INSERT OR REPLACE INTO meta VALUES ('protocol', '1')")
    columns = {
        "searches": "dataset, strategy, status, best_hp, seconds, error, compute_seconds",
        "trials": "dataset, strategy, trial_id, status, objective, hyperparameters, message",
    }
    for table, kept in columns.items():
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_3")
        db.execute(next(s for s in _SCHEMA.split(";") if f"EXISTS {table} (" in s))
        db.execute(f"INSERT INTO {table} ({kept}) SELECT {kept} FROM {table}_3")
        db.execute(f"DROP TABLE {table}_3")


def _score_probabilities(db: sqlite3.Connection) -> None:
    """Schema 4 -> 5: PR-AUC, ROC-AUC, Brier, log loss, ECE, worst-class and head/medium/tail scores of every
    finished cell, from its stored predictions and class counts: no retraining."""
    from bench.metrics import score  # scikit-learn: imported by this migration only, not by `bench status`

    rows = db.execute(
        "SELECT p.cell_key, p.y_true, p.y_pred, p.proba, c.class_counts FROM predictions p "
        f"JOIN cells c ON c.key = p.cell_key WHERE c.status={Status.DONE.value!r}"
    ).fetchall()
    for key, y_true, y_pred, proba, class_counts in rows:
        counts = json.loads(class_counts) if class_counts else {}
        pool = np.add(counts["train"], counts["val"]) if {"train", "val"} <= set(counts) else None
        found = score(from_blob(y_true), from_blob(y_pred), from_blob(proba), pool)
        db.executemany("INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?)", metric_rows(key, found))


MIGRATIONS = {1: _keep_logits, 2: _time_compute, 3: _record_protocol, 4: _score_probabilities}  # from schema N to N + 1


class Store:
    """Typed access to bench.sqlite; every write is a single transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open_existing(cls, directory: Path) -> Store:
        """For status, report and export: the study must already exist."""
        path = Path(directory) / STORE_NAME
        if not path.is_file():
            raise UserError(f"no study in {directory} (no {STORE_NAME}); run 'python -m bench run' first")
        store = cls(path)
        store._check_version()
        return store

    @classmethod
    def for_study(cls, directory: Path, config: dict[str, Any], fingerprint: str, overwrite: bool) -> Store:
        """Create, resume, or (with overwrite) restart the study in `directory`.

        A folder holding a different study is refused rather than mixed.
        """
        directory = Path(directory)
        path = directory / STORE_NAME
        if path.exists() and overwrite:
            for leftover in (path, path.with_name(STORE_NAME + "-wal"), path.with_name(STORE_NAME + "-shm")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(directory / "tuner", ignore_errors=True)
        if path.exists():
            store = cls(path)
            store._check_version()
            if (made_by := store.meta("protocol")) != str(PROTOCOL):
                store.close()
                raise UserError(
                    f"{directory} holds results of evaluation protocol {made_by}, this imbalance-bench runs protocol "
                    f"{PROTOCOL} (numbers of the two are not comparable); choose another --out, or pass --overwrite "
                    "to delete it and start over ('bench report' still renders the old one)"
                )
            if store.meta("fingerprint") != fingerprint:
                store.close()
                raise UserError(
                    f"{directory} holds a different study; choose another --out, "
                    "or pass --overwrite to delete it and start over"
                )
            return store
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create output folder {directory}: {exc.strerror}") from None
        store = cls(path)
        with store.transaction():  # tables and meta together: a kill leaves a whole store or an empty file
            for statement in filter(str.strip, _SCHEMA.split(";")):
                store.db.execute(statement)
            store._set_meta("schema_version", str(SCHEMA_VERSION))
            store._set_meta("protocol", str(PROTOCOL))
            store._set_meta("fingerprint", fingerprint)
            store._set_meta("config", json.dumps(config, sort_keys=True))
            store._set_meta("created_at", str(time.time()))
        return store

    def _check_version(self) -> None:
        """Refuse a store from a newer imbalance-bench; bring an older one up to date, one step per transaction."""
        version = int(self.meta("schema_version") or 0)
        if version > SCHEMA_VERSION or (version < SCHEMA_VERSION and version not in MIGRATIONS):
            raise UserError(
                f"{self.path} has store schema {version}, this imbalance-bench reads schema {SCHEMA_VERSION} "
                f"(and migrates {', '.join(map(str, sorted(MIGRATIONS))) or 'none'}); "
                "use a matching imbalance-bench or start a new study"
            )
        while version < SCHEMA_VERSION:
            with self.transaction():  # re-read under the write lock: another process may have migrated
                version = int(self.meta("schema_version") or 0)
                if version < SCHEMA_VERSION:
                    MIGRATIONS[version](self.db)
                    version += 1
                    self._set_meta("schema_version", str(version))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta ------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def set_meta(self, **values: str) -> None:
        with self.transaction():
            for key, value in values.items():
                self._set_meta(key, value)

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.meta("config") or "{}")

    # -- plan ------------------------------------------------------------------

    def add_dataset(self, dataset: str, class_names: tuple[str, ...], model: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO datasets VALUES (?, ?, ?)", (dataset, json.dumps(class_names), model)
            )

    def class_names(self) -> dict[str, list[str]]:
        rows = self.db.execute("SELECT dataset, class_names FROM datasets")
        return {row["dataset"]: json.loads(row["class_names"]) for row in rows}

    def add_cells(self, cells: list[Cell]) -> None:
        """Insert planned cells; existing ones (and their status) are kept, and cells no longer planned are dropped.

        The study's fingerprint matched, so a stored cell that is not planned
        belongs to an older version of its strategy (asv's benchmark versions):
        its results are superseded, and only that strategy's cells run again.
        """
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO cells (key, dataset, strategy, seed, position) VALUES (?, ?, ?, ?, ?)",
                [(c.key, c.dataset, c.strategy, c.seed, c.position) for c in cells],
            )
            planned = json.dumps([c.key for c in cells])
            for table, column in (("metrics", "cell_key"), ("predictions", "cell_key"), ("cells", "key")):
                self.db.execute(
                    f"DELETE FROM {table} WHERE {column} NOT IN (SELECT value FROM json_each(?))", (planned,)
                )

    def cells(self) -> list[CellRow]:
        return [CellRow.read(r) for r in self.db.execute(f"SELECT {CellRow.columns()} FROM cells ORDER BY position")]

    # -- searches --------------------------------------------------------------

    def best_hyperparameters(self, search: SearchKey) -> dict[str, Any] | None:
        """The winner of that search, if it ran with the strategy's current version and found one."""
        row = self.db.execute(
            "SELECT best_hp FROM searches WHERE dataset=? AND strategy=? AND seed=? AND version=? "
            f"AND status={Status.DONE.value!r}",
            (search.dataset, search.strategy, search.seed, search.version),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def save_search(self, search: SearchKey, outcome: SearchOutcome) -> None:
        """The search's trials and winner, replacing an earlier attempt of the same search."""
        key = (search.dataset, search.strategy, search.seed)
        with self.transaction():
            self.db.execute("DELETE FROM trials WHERE dataset=? AND strategy=? AND seed=?", key)
            self.db.executemany(
                "INSERT INTO trials (dataset, strategy, seed, trial_id, status, objective, hyperparameters, message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (*key, t.trial_id, t.status, t.objective, json.dumps(t.hyperparameters, sort_keys=True), t.message)
                    for t in outcome.trials
                ],
            )
            self.db.execute(
                "INSERT OR REPLACE INTO searches"
                " (dataset, strategy, seed, version, status, best_hp, seconds, error, compute_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    search.version,
                    (Status.DONE if outcome.best is not None else Status.FAILED).value,
                    json.dumps(outcome.best, sort_keys=True) if outcome.best is not None else None,
                    outcome.seconds,
                    outcome.error,
                    outcome.compute_seconds,
                ),
            )

    def searches(self) -> list[SearchRow]:
        query = f"SELECT {SearchRow.columns()} FROM searches ORDER BY dataset, strategy, seed"
        return [SearchRow.read(row) for row in self.db.execute(query)]

    def trials(self) -> list[TrialRow]:
        query = f"SELECT {TrialRow.columns()} FROM trials ORDER BY dataset, strategy, seed, trial_id"
        return [TrialRow.read(row) for row in self.db.execute(query)]

    # -- cells -----------------------------------------------------------------

    def start_cell(self, key: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE cells SET status=?, attempts=attempts+1, started_at=? WHERE key=?",
                (Status.RUNNING.value, time.time(), key),
            )

    def fail_cell(self, key: str, error: str, status: Status = Status.FAILED) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE cells SET status=?, error=?, finished_at=? WHERE key=?",
                (status.value, error, time.time(), key),
            )

    def skip_cell(self, key: str, reason: str) -> None:
        """The strategy does not apply to this data; final, unlike a failure."""
        self.fail_cell(key, reason, status=Status.SKIPPED)

    def finish_cell(self, key: str, result: CellResult) -> None:
        """Metrics, predictions and status in one transaction: all or nothing."""
        rows = metric_rows(key, result.metrics)
        with self.transaction():
            self.db.execute("DELETE FROM metrics WHERE cell_key=?", (key,))
            self.db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", rows)
            self.db.execute(
                "INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    *(
                        to_blob(a)
                        for a in (
                            result.sample_id,
                            result.y_true,
                            result.y_pred,
                            result.proba,
                            result.logits,
                            result.val_logits,
                        )
                    ),
                ),
            )
            self.db.execute(
                f"UPDATE cells SET status={Status.DONE.value!r}, error=NULL, finished_at=?, seconds=?,"
                " compute_seconds=?, hyperparameters=?, history=?, class_counts=?, samples_per_epoch=? WHERE key=?",
                (
                    time.time(),
                    result.seconds,
                    result.compute_seconds,
                    json.dumps(result.hyperparameters, sort_keys=True),
                    json.dumps(result.history),
                    json.dumps(result.class_counts),
                    result.samples_per_epoch,
                    key,
                ),
            )

    def metrics(self) -> list[tuple[str, str, int, float]]:
        """Every metric row as a plain tuple (cell key, name, class index, value); the reader joins the cells.

        Neither joined nor sorted here: at 10,000 cells (560,000 rows) both cost more in SQLite than in pandas.
        """
        cursor = self.db.cursor()
        cursor.row_factory = None
        return cursor.execute("SELECT cell_key, name, class_index, value FROM metrics").fetchall()

    def predictions(
        self, arrays: tuple[str, ...] = ("sample_id", "y_true", "y_pred", "proba")
    ) -> Iterator[tuple[sqlite3.Row, dict[str, np.ndarray]]]:
        """Each finished cell's row (dataset, strategy, seed, cell key) and the named test arrays, in study order."""
        unknown = set(arrays) - set(PREDICTION_ARRAYS)
        if unknown:
            raise ValueError(f"no prediction array named {sorted(unknown)}")
        rows = self.db.execute(
            f"SELECT c.dataset, c.strategy, c.seed, p.cell_key, {', '.join(f'p.{a}' for a in arrays)} "
            f"FROM predictions p JOIN cells c ON c.key = p.cell_key WHERE c.status={Status.DONE.value!r} "
            "ORDER BY c.position"
        )
        for row in rows:
            yield row, {k: from_blob(row[k]) for k in arrays}

    def trained(self, dataset: str, strategy: str, seed: int) -> Trained | None:
        """A finished cell's logits and training record, for a post-hoc strategy that reuses its model."""
        row = self.db.execute(
            "SELECT p.val_logits, p.logits, c.history, c.samples_per_epoch FROM predictions p "
            f"JOIN cells c ON c.key = p.cell_key WHERE c.status={Status.DONE.value!r} "
            "AND c.dataset=? AND c.strategy=? AND c.seed=? AND p.val_logits IS NOT NULL",
            (dataset, strategy, seed),
        ).fetchone()
        if row is None:
            return None
        return Trained(from_blob(row[0]), from_blob(row[1]), json.loads(row[2]), int(row[3]))
