"""Image folders: classes from folder names, skipped files, resizing, and the decode cache."""

from __future__ import annotations

import numpy as np

from bench.data import images
from bench.data.images import load_folder
from tests.conftest import write_image_folder


def load(path, image_size=None, color="rgb", on_bad_file="error"):
    return load_folder("folder", path, image_size, color, on_bad_file, None)


def test_classes_come_from_folder_names_with_their_counts(tmp_path):
    write_image_folder(tmp_path, {"bee": 9, "other": 3, "wasp": 6})
    dataset = load(tmp_path)
    assert dataset.class_names == ("bee", "other", "wasp")
    assert np.bincount(dataset.y).tolist() == [9, 3, 6]
    assert dataset.x.shape == (18, 16, 16, 3) and dataset.x.dtype == np.float32
    assert dataset.x.min() >= 0.0 and dataset.x.max() <= 1.0


def test_hidden_and_non_image_files_are_skipped_and_counted(tmp_path, notes):
    write_image_folder(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "a" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "b" / "labels.txt").write_text("notes")
    (tmp_path / ".git").mkdir()
    dataset = load(tmp_path)
    assert len(dataset.y) == 8 and dataset.class_names == ("a", "b")
    assert "skipped 1 hidden and 1 non-image file(s)" in notes.text


def test_resize_and_grayscale(tmp_path):
    write_image_folder(tmp_path, {"a": 3, "b": 3}, size=20)
    dataset = load(tmp_path, image_size=8, color="grayscale")
    assert dataset.x.shape == (6, 8, 8, 1)


def test_unreadable_images_can_be_skipped(tmp_path, notes):
    write_image_folder(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "a" / "broken.png").write_bytes(b"not an image")
    dataset = load(tmp_path, on_bad_file="skip")
    assert np.bincount(dataset.y).tolist() == [4, 4]
    assert "skipped 1 unreadable image(s)" in notes.text


def test_second_load_reads_the_cache_instead_of_decoding(tmp_path, monkeypatch):
    write_image_folder(tmp_path / "data", {"a": 5, "b": 3})
    first = load(tmp_path / "data")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the folder did not change")

    monkeypatch.setattr(images, "decode", no_decoding)
    second = load(tmp_path / "data")
    assert isinstance(second.x, np.memmap), "the cache is memory-mapped, not read into a second copy"
    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.y, second.y)


def test_a_changed_folder_is_decoded_again(tmp_path):
    write_image_folder(tmp_path, {"a": 5, "b": 3})
    assert len(load(tmp_path).y) == 8
    (tmp_path / "b" / "0000.png").unlink()
    assert np.bincount(load(tmp_path).y).tolist() == [5, 2]


def test_decoding_options_are_part_of_the_cache_key(tmp_path):
    write_image_folder(tmp_path, {"a": 3, "b": 3}, size=16)
    assert load(tmp_path).x.shape[1:] == (16, 16, 3)
    assert load(tmp_path, image_size=8).x.shape[1:] == (8, 8, 3)


def test_a_broken_cache_is_ignored(tmp_path, private_image_cache):
    write_image_folder(tmp_path, {"a": 3, "b": 3})
    expected = load(tmp_path).x.copy()
    for file in private_image_cache.glob("*-images.npy"):
        file.write_bytes(b"truncated")
    np.testing.assert_array_equal(load(tmp_path).x, expected)


def test_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    write_image_folder(tmp_path / "data", {"a": 3, "b": 3})
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("IMBALANCE_BENCH_CACHE", str(blocker / "cache"))
    assert len(load(tmp_path / "data").y) == 6


def test_decoding_holds_a_single_copy_of_the_images(tmp_path):
    import tracemalloc

    write_image_folder(tmp_path, {"a": 100, "b": 100}, size=32)
    tracemalloc.start()
    try:
        dataset = load(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dataset.x.nbytes == 200 * 32 * 32 * 3 * 4
    assert peak < 1.25 * dataset.x.nbytes, "images decoded into one array, never stacked from a list"
