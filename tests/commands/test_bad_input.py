"""Malformed input of every kind: one clear line on stderr, exit code 2, no traceback, nothing written.

One table across command-line flags, study files (TOML), dataset specs and
strategy specs; unusable data and models have their own table in
tests/data/test_dataset.py. Property tests then throw random specs and study
files at the parsers: they may refuse, never crash.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.commands.cli import main
from bench.config import build_config, load_toml
from bench.data.sources import DATASETS, expand
from bench.errors import UserError
from bench.specs import parse_spec
from strategies import resolve

FLAGS = {
    "unknown strategy": (["run", "--strategy", "nope"], "unknown strategy 'nope'"),
    "unknown dataset": (["run", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    "dataset key typo": (
        ["run", "--dataset", "digits-lt[ratoi=10]"],
        "unknown parameter 'ratoi' (did you mean 'ratio'?)",
    ),
    "dataset value out of range": (["run", "--dataset", "digits-lt[ratio=0.5]"], "'ratio' must be in [1, inf)"),
    "dataset spec unclosed": (["run", "--dataset", "digits-lt[ratio=2"], "cannot read spec"),
    "strategy value of the wrong type": (["run", "--strategy", "focal[gamma=x]"], "must be float"),
    "strategy key given twice": (["run", "--strategy", "focal[gamma=2,gamma=3]"], "given twice"),
    "strategy composite with an empty part": (["run", "--strategy", "focal+"], "empty part"),
    "two losses": (["run", "--strategy", "focal+focal"], "both change the loss"),
    "two samplers": (["run", "--strategy", "oversample+undersample"], "both change the data"),
    "baseline in a composite": (["run", "--strategy", "baseline+focal"], "baseline changes nothing"),
    "a sampler plus weights": (["run", "--strategy", "oversample+class-weight"], "both correct the class imbalance"),
    "two prior corrections": (["run", "--strategy", "class-weight+balanced-softmax"], "both correct the class"),
    "strategy listed twice": (["run", "--strategy", "focal", "--strategy", "focal"], "listed twice"),
    "zero seeds": (["run", "--seeds", "0"], "'seeds' must be at least 1"),
    "negative trials": (["run", "--max-trials", "-1"], "'max_trials' must be at least 1"),
    "epochs not a number": (["run", "--epochs", "many"], "invalid int value"),
    "search seed not a number": (["run", "--search-seed", "lucky"], "invalid int value"),
    "unknown profile": (["run", "--profile", "huge"], "invalid choice"),
    "unknown tuner": (["run", "--tuner", "grid"], "invalid choice"),
    "unknown model": (["run", "--model", "resnet"], "unknown model 'resnet'"),
    "cnn on vectors": (["run", "--model", "cnn"], "model cnn needs image input"),
    "missing study file": (["run", "--config", "missing.toml"], "study file not found"),
    "status of nothing": (["status", "nowhere"], "no study in nowhere"),
    "report of nothing": (["report", "nowhere"], "no study in nowhere"),
    "export of nothing": (["export", "nowhere"], "no study in nowhere"),
    "unknown export kind": (["export", "nowhere", "--what", "models"], "invalid choice"),
    "unknown command": (["fly"], "invalid choice: 'fly'"),
    "unknown option of a command": (
        ["report", "nowhere", "--out", "x"],
        "unrecognized arguments: --out x (see 'python -m bench report --help')",
    ),
    "missing argument of a command": (["report"], "required: directory (see 'python -m bench report --help')"),
}
# Values that once failed mid-study after the store was written, or ran silently meaning nothing.
OUT_OF_RANGE = {
    "undersample[target=0]": "undersample: parameter 'target' must be in (0, 1], got 0",
    "effective-number[beta=1.0]": "effective-number: parameter 'beta' must be in [0, 1), got 1.0",
    "focal[gamma=-5]": "focal: parameter 'gamma' must be in [0, 10], got -5",
    "logit-adjusted[tau=-100]": "logit-adjusted: parameter 'tau' must be in [0, 5], got -100",
}
STUDY_FILES = {
    "key typo": ("epoch = 3", "unknown key 'epoch'", "(did you mean 'epochs'?)"),
    "unknown key": ("gpus = 2", "unknown key 'gpus'", "valid keys: "),
    "count as text": ('seeds = "five"', "'seeds' must be int"),
    "count as boolean": ("epochs = true", "'epochs' must be int"),
    "fraction as text": ('val_fraction = "a fifth"', "'val_fraction' must be float"),
    "fraction out of range": ("val_fraction = 1.5", "'val_fraction' must be between 0 and 1"),
    "negative warm-up": ("min_epochs = -1", "'min_epochs' must be 0 or more"),
    "strategies as a number": ("strategies = 3", "'strategies' must be a non-empty list"),
    "empty strategies": ("strategies = []", "'strategies' must be a non-empty list"),
    "datasets as a table": ("[datasets]\nx = 1", "'datasets' must be a non-empty list"),
    "strategy typo": ('strategies = ["focall"]', "unknown strategy 'focall'", "(did you mean 'focal'?)"),
    "dataset key typo": ('datasets = ["digits-lt[rati=10]"]', "unknown parameter 'rati'", "(did you mean 'ratio'?)"),
    "profile typo": ('profile = "quik"', "unknown profile 'quik'", "(did you mean 'quick'?)"),
    "tuner typo": ('tuner = "bayes"', "unknown tuner 'bayes'", "(did you mean 'bayesian'?)"),
    "name with a slash": ('name = "../elsewhere"', "must be a plain folder name"),
    "missing data next to the study": ('datasets = ["data/missing.csv"]', "no such file or folder"),
    "missing model file": ('model = "models.py:build"', "model file not found"),
    "broken syntax": ("epochs = = 3", "cannot read study file"),
    "key given twice": ("epochs = 3\nepochs = 4", "cannot read study file"),
}


def assert_refused_in_one_line(
    args: list[str], says: tuple[str, ...], where: Path, capsys: pytest.CaptureFixture
) -> None:
    before = sorted(where.rglob("*"))
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert all(fragment in lines[0] for fragment in says), lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert sorted(where.rglob("*")) == before, "nothing may be written"


@pytest.mark.parametrize("case", list(FLAGS))
def test_bad_flags_and_specs(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args, message = FLAGS[case]
    assert_refused_in_one_line(args, (message,), tmp_path, capsys)


@pytest.mark.parametrize("spec", list(OUT_OF_RANGE))
def test_strategy_values_out_of_range(spec, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["run", "--strategy", spec, "--out", str(tmp_path / "study")]
    assert_refused_in_one_line(args, (OUT_OF_RANGE[spec],), tmp_path, capsys)


@pytest.mark.parametrize("case", list(STUDY_FILES))
def test_bad_study_files(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text, *says = STUDY_FILES[case]
    (tmp_path / "study.toml").write_text(text + "\n")
    assert_refused_in_one_line(["run", "--config", "study.toml"], tuple(says), tmp_path, capsys)


def test_undecodable_study_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.toml").write_bytes(b"epochs = 3\n\xff\xfe")
    assert_refused_in_one_line(["run", "--config", "study.toml"], ("cannot read study file",), tmp_path, capsys)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SPEC_TEXT = st.text(alphabet=st.sampled_from("abcdefgilmnoprstuvwxyz-+[]=,._/0123456789 "), max_size=40)


@PROPERTY
@given(text=st.one_of(SPEC_TEXT, st.text(max_size=30)))
def test_random_strategy_specs_are_refused_or_accepted_never_crash(text):
    with contextlib.suppress(UserError):
        resolve(text)


@PROPERTY
@given(text=st.one_of(SPEC_TEXT, st.text(max_size=30)))
def test_random_dataset_specs_are_refused_or_accepted_never_crash(text):
    with contextlib.suppress(UserError):
        spec = expand(parse_spec(text))
        DATASETS[spec.name].canonical(spec)


KEYS = st.sampled_from(
    [
        "name",
        "profile",
        "datasets",
        "strategies",
        "model",
        "tuner",
        "seeds",
        "epochs",
        "min_epochs",
        "val_fraction",
        "max_trials",
        "patience",
        "seed",
        "target",
        "nonsense",
    ]
)
VALUES = st.recursive(
    st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=True), st.booleans(), st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)


@PROPERTY
@given(values=st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_study_values_are_refused_or_accepted_never_crash(values):
    with contextlib.suppress(UserError):
        build_config(values, {})


@PROPERTY
@given(text=st.text(max_size=80))
def test_random_study_file_text_is_refused_or_accepted_never_crash(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("toml") / "study.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(UserError):
        build_config(load_toml(path), {})
