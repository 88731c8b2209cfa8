"""A study, validated once and frozen: what to run, with which budget.

Values come from three layers, later ones winning: the profile's defaults, the
study file (TOML), and command-line flags. The fingerprint covers exactly the
fields that change results, so re-running the same study resumes it while a
changed one is refused instead of silently mixing numbers from two configs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from bench.errors import UserError, closest, unknown
from bench.specs import Spec, parse_composite, parse_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

# The evaluation protocol whose numbers a store holds. 2: every validation score over all classes, every class in
# validation and test where the data allows, trials scored at the epoch their fit keeps, built-in models normalise
# inputs with training-fold statistics, class weights counted from the training fold and given per sample (deferred
# re-weighting on every backend), LDAM on cosine logits. 3: paired, independent searches (each search's stream from
# the search seed, dataset and seed; trial i of every strategy draws the same model hyperparameters), class weights
# as Keras's class_weight= means them (sum(w*l)/B, no per-batch renormalisation), hyperband rounds long enough to keep
# an epoch, one prior correction per composite. Numbers of two protocols are never mixed in one study.
PROTOCOL = 3
# A class with fewer validation rows than this (but some) makes validation macro-F1, which picks the trial and the
# kept epoch, move in steps of 1/(C*n) on single rows: `status` and the report name it (cv[k=K] tuning is the remedy).
THIN_VALIDATION = 3
EXECUTORS = ("local", "dask")
FIGURE_FORMATS = ("png", "svg", "pdf")  # of the report's figure files; the HTML embeds PNG or SVG either way
TUNING = {
    "once": "one search per (dataset, strategy) on one seed's train/validation; its winner serves every seed",
    "per-seed": "nested: each seed searches on its own train/validation, so no choice sees another seed's test rows",
    "cv": "cv[k=K]: trials scored by mean validation macro-F1 over K stratified folds of one seed's pool",
}
SEARCHES = {
    "joint": "each strategy's search tunes the model's knobs and its own together",
    "staged": (
        "the model's knobs are tuned on baseline once per dataset (and per seed when tuning per seed); "
        "each strategy tunes only its own on top"
    ),
}
FIVE_STRATEGIES = ("baseline", "stratify", "class-weight", "oversample", "focal")
TUNERS = {
    "random": "random search over the space (keras-tuner RandomSearch)",
    "hyperband": "successive halving of epochs across trials (keras-tuner Hyperband; only brackets whose rounds "
    "run past min_epochs and any deferred weights' start)",
    "bayesian": "Gaussian-process Bayesian optimisation (keras-tuner BayesianOptimization)",
}


@dataclass(frozen=True)
class TrainingSettings:
    """How every model of a study is trained and tuned, each setting declared once: a Protocol holds them
    among the fields it hashes, TrainingOptions carries them (and a search's seed) to the training code."""

    tuner: str = "random"
    max_trials: int = 4
    epochs: int = 30
    patience: int = 5
    min_epochs: int = 0  # no early stop, and no kept epoch, before this one (the profiles set it)
    budget: str = "epochs"  # epochs | steps: the same epochs, or the same optimiser steps, for every strategy
    reduce_lr: bool = False
    mixed_precision: bool = False  # float16 compute, float32 weights, logits cast to float32 (for GPUs)


@dataclass(frozen=True)
class TrainingOptions(TrainingSettings):
    """The training settings as the training code takes them: built once from the protocol, passed whole."""

    tuner_seed: int = 10_001  # a study's searches each get their own (Protocol.tuner_seed)


@dataclass(frozen=True)
class Protocol(TrainingSettings):
    """Everything that decides a study's numbers: hashed whole, with the protocol version, into its fingerprint."""

    datasets: tuple[str, ...] = ("digits-lt",)
    strategies: tuple[str, ...] = FIVE_STRATEGIES
    model: str = "auto"
    target: str = ""  # class-label column of a CSV named by its path alone
    tuning: str = "once"  # once | per-seed | cv[k=K] (TUNING); the quick and full profiles set per-seed
    search: str = "joint"  # joint | staged (SEARCHES)
    seeds: int = 5
    seed: int = 1
    search_seed: int = 1  # another value replicates every search independently (same data, splits and inits)
    val_fraction: float = 0.2

    @property
    def dataset_specs(self) -> tuple[Spec, ...]:
        return tuple(parse_spec(text) for text in self.datasets)

    @property
    def seed_values(self) -> tuple[int, ...]:
        """The per-repetition seeds; derived from `seed` so a study is reproducible."""
        return tuple(self.seed + i for i in range(self.seeds))

    @property
    def cv_folds(self) -> int:
        """K of `cv[k=K]` tuning; 0 for the other modes."""
        spec = parse_spec(self.tuning)
        return int(spec.kwargs.get("k", 3)) if spec.name == "cv" else 0

    def search_of(self, seed: int) -> int:
        """The seed whose search a cell of `seed` uses: its own with per-seed tuning, else 0 (the shared search)."""
        return seed if self.tuning == "per-seed" else 0

    def tuner_seed(self, dataset: str, search: int) -> int:
        """keras-tuner's seed for the search of (dataset, search seed `search`; 0: the shared one).

        Each search draws its own stream (so the per-seed searches differ and the
        seeds average the search's luck too, Bouthillier et al. 2021), while every
        strategy's search of one (dataset, seed) shares it (paired candidates,
        bench.training.tuning.PairedDraws). Never 0: keras-tuner would make it random.
        """
        text = json.dumps([self.search_seed, dataset, search])
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % (2**31 - 1) + 1

    @property
    def training(self) -> TrainingOptions:
        return TrainingOptions(**{f.name: getattr(self, f.name) for f in fields(TrainingSettings)})

    def fingerprint(self) -> str:
        """Hash of every field and the protocol version: a changed one is another study."""
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        return hashlib.sha256(json.dumps({**values, "protocol": PROTOCOL}, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunOptions:
    """How and where a study runs and what it shows on the way: no number depends on these."""

    name: str = "default"
    profile: str = "quick"  # its values are in the protocol's fields
    out: str = ""
    live: bool = False
    tensorboard: bool = False
    workers: int | str = "auto"  # worker processes running searches and cells; auto: one per usable core (or GPU)
    executor: str = "local"  # local (serial or --workers processes) or dask
    scheduler: str = ""  # a dask scheduler's address; empty with executor dask: a LocalCluster on loopback
    metric: str = "macro_f1"  # the one the report ranks by and gives verdicts on (bench.metrics.SUMMARY)

    @property
    def output_dir(self) -> Path:
        return Path(self.out or Path("runs") / self.name)


@dataclass(frozen=True)
class StudyConfig:
    """A study: its protocol and how to run it. Stored and sent to workers as one flat dict (to_dict)."""

    protocol: Protocol = Protocol()
    run: RunOptions = RunOptions()

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v
            for part in (self.protocol, self.run)
            for k, v in asdict(part).items()
        }

    def fingerprint(self) -> str:
        return self.protocol.fingerprint()


# Tuning per seed where a study's numbers count: on the quick study, the first seed's winner won on no other seed
# for baseline, which moved its macro-F1 by 0.06 and every verdict against it (README, "Tuning").
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"seeds": 1, "max_trials": 1, "epochs": 2, "patience": 2, "min_epochs": 0, "tuning": "once"},
    "quick": {"seeds": 5, "max_trials": 4, "epochs": 30, "patience": 5, "min_epochs": 10, "tuning": "per-seed"},
    "full": {"seeds": 10, "max_trials": 30, "epochs": 200, "patience": 15, "min_epochs": 20, "tuning": "per-seed"},
}
_PARTS = {f.name: part for part in (Protocol, RunOptions) for f in fields(part)}
_FIELDS = set(_PARTS)  # the study file's keys and the command line's settings
_LIST_FIELDS = ("datasets", "strategies")


def load_toml(path: Path) -> dict[str, Any]:
    """Read a study file; unknown or mistyped keys are refused, not ignored."""
    if not path.is_file():
        raise UserError(f"study file not found: {path}; give an existing .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read study file {path}: {exc}") from None
    refuse_unknown_keys(data, str(path))
    return data


def refuse_unknown_keys(values: dict[str, Any], source: str) -> None:
    for key in values:
        if key not in _FIELDS:
            raise UserError(
                f"unknown key '{key}' in {source}{closest(key, _FIELDS)}; valid keys: {', '.join(sorted(_FIELDS))}"
            )


def build_config(file_values: dict[str, Any], overrides: dict[str, Any]) -> StudyConfig:
    """Merge profile < study file < flags into a validated StudyConfig."""
    merged = {**file_values, **{k: v for k, v in overrides.items() if v is not None}}
    if merged.get("scheduler"):  # an address means dask
        merged.setdefault("executor", "dask")
    refuse_unknown_keys(merged, "the study settings")
    profile = merged.get("profile", RunOptions.profile)
    if not isinstance(profile, str) or profile not in PROFILES:
        raise unknown("profile", str(profile), PROFILES)
    values = {**PROFILES[profile], **merged}
    for key in _LIST_FIELDS:
        if isinstance(values.get(key), str):
            values[key] = [values[key]]
        if isinstance(values.get(key), list):  # anything else is refused by _check_type
            values[key] = tuple(values[key])
    for key, value in values.items():
        _check_type(key, value)
    config = StudyConfig(
        Protocol(**{k: v for k, v in values.items() if _PARTS[k] is Protocol}),
        RunOptions(**{k: v for k, v in values.items() if _PARTS[k] is RunOptions}),
    )
    _check_ranges(config.protocol, config.run)
    return config


def _check_type(key: str, value: Any) -> None:
    if key == "workers":  # the one setting of two types
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"'workers' must be a whole number of at least 1 or \"auto\", got {value!r}")
        return
    default = getattr(_PARTS[key], key)
    if isinstance(default, tuple):
        if not (isinstance(value, tuple) and value and all(isinstance(v, str) for v in value)):
            raise UserError(f"'{key}' must be a non-empty list of spec strings, got {value!r}")
        return
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise UserError(f"'{key}' must be {expected.__name__}, got {value!r}")


def _check_tuning(protocol: Protocol) -> None:
    spec = parse_spec(protocol.tuning)
    if spec.name not in TUNING:
        raise unknown("tuning mode", spec.name, TUNING)
    allowed = {"k"} if spec.name == "cv" else set()
    if extra := set(spec.kwargs) - allowed:
        raise UserError(f"tuning mode {spec.name} takes {'k' if allowed else 'no parameters'}, not {sorted(extra)[0]}")
    if spec.name == "cv":
        k = spec.kwargs.get("k", 3)
        if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= 10:
            raise UserError(f"cv tuning needs a whole number of folds k from 2 to 10, got {k!r}; e.g. cv[k=3]")
        if protocol.tuner == "hyperband":
            raise UserError(
                "cv tuning scores every trial on K folds, which hyperband cannot continue; use random or bayesian"
            )


def check_metric(name: str) -> None:
    """A metric the report can rank by: one of the summary metrics (imported here, not at start: scikit-learn)."""
    from bench.metrics import SUMMARY

    if name not in SUMMARY:
        raise unknown("metric", name, SUMMARY)


def _check_ranges(protocol: Protocol, run: RunOptions) -> None:
    for key in ("seeds", "max_trials", "epochs", "patience"):
        if getattr(protocol, key) < 1:
            raise UserError(f"'{key}' must be at least 1, got {getattr(protocol, key)}")
    if run.executor not in EXECUTORS:
        raise unknown("executor", run.executor, EXECUTORS)
    if run.scheduler and run.executor != "dask":
        raise UserError(f"a scheduler address needs executor 'dask', not '{run.executor}'")
    if run.executor == "dask" and importlib.util.find_spec("distributed") is None:
        raise UserError("the dask executor needs the dask extra: pip install 'imbalance-bench[dask]'")
    if run.tensorboard and importlib.util.find_spec("tensorflow") is None:
        raise UserError("--tensorboard writes with TensorFlow's summary API: pip install tensorflow, or leave it off")
    if protocol.min_epochs < 0:
        raise UserError(f"'min_epochs' must be 0 or more, got {protocol.min_epochs}")
    if not 0.0 < protocol.val_fraction < 1.0:
        raise UserError(f"'val_fraction' must be between 0 and 1, got {protocol.val_fraction}")
    if protocol.tuner not in TUNERS:
        raise unknown("tuner", protocol.tuner, TUNERS)
    _check_tuning(protocol)
    if protocol.search not in SEARCHES:
        raise unknown("search", protocol.search, SEARCHES)
    if protocol.budget not in ("epochs", "steps"):
        raise unknown("budget", protocol.budget, ("epochs", "steps"))
    if protocol.budget == "steps" and protocol.tuner == "hyperband":
        raise UserError("a budget in steps scales each strategy's epochs, which hyperband schedules itself; use random")
    if protocol.search == "staged" and "baseline" not in protocol.strategies:
        raise UserError("a staged search tunes the model's knobs on baseline first: add baseline to the strategies")
    check_metric(run.metric)
    if not run.name or any(c in run.name for c in "/\\") or run.name.startswith("."):
        raise UserError(f"study name '{run.name}' must be a plain folder name")
    for text in protocol.datasets:
        parse_spec(text)
    for text in protocol.strategies:
        parse_composite(text)
    if len(set(protocol.strategies)) != len(protocol.strategies):
        raise UserError("a strategy is listed twice; list each strategy once")
