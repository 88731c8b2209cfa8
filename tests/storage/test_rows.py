"""The store's typed rows and its one status vocabulary."""

import json

import pandas as pd

from bench.records import Cell, SearchKey, SearchOutcome
from bench.storage.rows import FINAL, CellRow, SearchRow, Status
from bench.storage.store import Store


def test_a_status_reads_writes_and_formats_as_its_text():
    assert [str(s) for s in Status] == ["pending", "running", "done", "failed", "skipped"]
    assert f"{Status.DONE:<8}|" == "done    |" and Status("skipped") is Status.SKIPPED
    assert pd.Series(["done", "failed"]).eq(Status.DONE).tolist() == [True, False]
    assert set(FINAL) == {Status.DONE, Status.SKIPPED}


def test_rows_come_back_typed_and_give_their_stored_values(tmp_path):
    with Store.for_study(tmp_path, {"name": "t"}, "fp", overwrite=False) as store:
        store.add_cells([Cell("k1", "d", "baseline", 1, 0)])
        store.skip_cell("k1", "too few samples")
        store.save_search(SearchKey("d", "baseline", 1, "1"), SearchOutcome({"lr": 0.1}, (), 2.0))
        [cell], [search] = store.cells(), store.searches()
    assert isinstance(cell, CellRow) and cell.status is Status.SKIPPED and cell.error == "too few samples"
    assert cell.stored()["status"] == "skipped" and type(cell.stored()["status"]) is str
    assert isinstance(search, SearchRow) and search.status is Status.DONE and json.loads(search.best_hp) == {"lr": 0.1}
