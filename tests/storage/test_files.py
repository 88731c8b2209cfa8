"""Whole-or-absent files and folder names for specs."""

from __future__ import annotations

import os

import pytest

from bench.storage.files import replacing, slug, write_atomically


def test_long_specs_sharing_a_beginning_get_different_names():
    path = "csv[path=/home/alice/projects/imbalance/data/customers_2024_cleaned.csv,target=churn]"
    names = {slug(f"{path}__{strategy}") for strategy in ("baseline", "class-weight", "focal")}
    assert len(names) == 3 and all(len(n) <= 69 and "/" not in n and "[" not in n for n in names)
    assert slug("digits-lt__baseline") == slug("digits-lt__baseline"), "stable across runs"


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "report.md"
    write_atomically(target, "old")
    with pytest.raises(RuntimeError), replacing(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_two_writers_of_one_file_do_not_share_a_partial_file(tmp_path):
    target = tmp_path / "results.csv"
    with replacing(target) as first, replacing(target) as second:
        first.write(b"first")
        second.write(b"second")
        assert first.name != second.name
    assert target.read_text() == "first", "the writer that finishes last wins, whole"


def test_a_writer_killed_mid_write_leaves_nothing_once_the_file_is_written_again(tmp_path):
    target = tmp_path / "report.md"
    abandoned = tmp_path / ".report.md.999999999-deadbeef.partial"  # no process has this id
    abandoned.write_text("half")
    running = tmp_path / f".report.md.{os.getpid()}-cafe0000.partial"  # a live writer's file is left alone
    running.write_text("in progress")
    write_atomically(target, "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name, "report.md"]
