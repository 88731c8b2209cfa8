"""`bench inspect`: classes largest first with shares, the imbalance ratio, a histogram PNG."""

from __future__ import annotations

import numpy as np

from bench.commands.cli import main
from bench.commands.inspection import ALL, POOL, class_table, imbalance_ratio
from bench.data.dataset import Dataset, LongTail
from tests.conftest import write_csv, write_image_folder

PNG = b"\x89PNG\r\n\x1a\n"


def test_table_is_sorted_largest_first():
    dataset = Dataset("t", np.zeros((10, 1)), np.array([0, 1, 1, 1, 1, 1, 2, 2, 2, 2]), ("a", "b", "c"))
    table = class_table(dataset)
    assert table["class"].tolist() == ["b", "c", "a"] and table[ALL].tolist() == [5, 4, 1]
    assert imbalance_ratio(table[ALL]) == 5.0
    assert POOL not in table


def test_a_long_tail_adds_the_training_pool():
    y = np.repeat(np.arange(3), 40)
    dataset = Dataset("t", np.zeros((120, 1)), y, ("a", "b", "c"), long_tail=LongTail(ratio=10.0))
    table = class_table(dataset)
    assert table[ALL].tolist() == [40, 40, 40]
    assert table[POOL].tolist() == [32, 10, 3]


def test_inspect_each_user_source(tmp_path, capsys):
    write_image_folder(tmp_path / "insects", {"bee": 12, "wasp": 20, "other": 4})
    csv = write_csv(tmp_path / "t.csv")
    np.savez(tmp_path / "a.npz", x=np.zeros((6, 2)), y=np.array([0, 0, 0, 0, 1, 1]), class_names=np.array(["n", "p"]))
    for spec, extra, first_class in (
        (str(tmp_path / "insects"), [], "wasp"),
        (str(csv), ["--target", "label"], "common"),
        (str(tmp_path / "a.npz"), [], "n"),
    ):
        output = tmp_path / "hist.png"
        assert main(["inspect", spec, *extra, "--output", str(output)]) == 0
        text = capsys.readouterr().out
        lines = text.splitlines()
        assert lines[2].split()[0] == first_class, text
        assert "imbalance ratio" in text and output.read_bytes().startswith(PNG)
        output.unlink()
