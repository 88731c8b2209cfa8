"""Resolve a config into concrete objects and the list of cells, before anything is written.

Every name, parameter and split is checked here, so bad input fails with a
UserError while the output folder is still untouched, and every strategy is
asked whether it can run on each cell's training fold (its `skip`), so a cell
that could only fail is known before any training. Each fold is cut here,
once, and the tasks train on these same rows. Cell keys hash the
study fingerprint with the cell's canonical names, so they are stable across
runs and never collide between studies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from bench.config import StudyConfig
from bench.data.dataset import Dataset
from bench.data.sources import load
from bench.data.splits import Fold, make_fold
from bench.errors import UserError
from bench.records import Cell, SearchKey
from bench.training.models import ResolvedModel, resolve_model
from strategies import Strategy, resolve


@dataclass(frozen=True)
class Study:
    config: StudyConfig
    datasets: dict[str, Dataset]
    models: dict[str, ResolvedModel]
    strategies: dict[str, Strategy]
    cells: tuple[Cell, ...]
    skipped: dict[str, str]  # cell key -> why its strategy cannot run on that seed's training fold
    folds: dict[tuple[str, int, bool], Fold]  # (dataset, seed, stratified) -> its train/validation/test rows, cut once

    def search_key(self, dataset: str, strategy: str, seed: int) -> SearchKey:
        """The search of (dataset, strategy) for search seed `seed`, at the strategy's version, as cell keys are."""
        return SearchKey(dataset, strategy, seed, self.strategies[strategy].version)


def cell_key(fingerprint: str, dataset: str, strategy: str, seed: int, version: str = "") -> str:
    """Stable across runs of the same study; a strategy's version is in it, so raising one reruns only its cells."""
    text = json.dumps([fingerprint, dataset, strategy, seed] + ([version] if version else []))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare(config: StudyConfig) -> Study:
    """Load datasets, resolve strategies and models, check every fold can be cut and ask each strategy's `skip`."""
    datasets: dict[str, Dataset] = {}
    for spec in config.protocol.dataset_specs:
        name, dataset = load(spec, config.protocol.target)
        if name in datasets:
            raise UserError(f"dataset {name} is listed twice; list each dataset once")
        datasets[name] = dataset
    strategies = {s.name: s for s in (resolve(text) for text in config.protocol.strategies)}
    models = {name: resolve_model(config.protocol.model, d.input_shape) for name, d in datasets.items()}
    folds = {
        (name, seed, stratified): make_fold(dataset, seed, stratified, config.protocol.val_fraction)
        for name, dataset in datasets.items()
        for seed in config.protocol.seed_values
        for stratified in {s.stratified for s in strategies.values()}
    }
    fingerprint = config.fingerprint()
    cells = tuple(
        Cell(cell_key(fingerprint, d, s, seed, strategies[s].version), d, s, seed, position)
        for position, (d, s, seed) in enumerate(
            (d, s, seed) for d in datasets for s in strategies for seed in config.protocol.seed_values
        )
    )
    train_counts = {
        (name, seed, stratified): np.bincount(datasets[name].y[fold.train], minlength=datasets[name].num_classes)
        for (name, seed, stratified), fold in folds.items()
    }
    skipped: dict[str, str] = {}
    for cell in cells:
        strategy = strategies[cell.strategy]
        if reason := strategy.skip(train_counts[cell.dataset, cell.seed, strategy.stratified]):
            skipped[cell.key] = reason
    return Study(config, datasets, models, strategies, cells, skipped, folds)
