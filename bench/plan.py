"""Resolve a config into concrete objects and the list of cells, before anything is written.

Every name, parameter and split is checked here, so bad input fails with a
UserError while the output folder is still untouched. Cell keys hash the
study fingerprint with the cell's canonical names, so they are stable across
runs and never collide between studies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from bench.config import StudyConfig
from bench.data import Dataset
from bench.datasets import load
from bench.errors import UserError
from bench.models import Builder, resolve_model
from bench.splits import make_fold
from bench.store import Cell
from strategies import Strategy, resolve


@dataclass(frozen=True)
class Study:
    config: StudyConfig
    datasets: dict[str, Dataset]
    models: dict[str, tuple[str, Builder]]
    strategies: dict[str, Strategy]
    cells: tuple[Cell, ...]


def cell_key(fingerprint: str, dataset: str, strategy: str, seed: int) -> str:
    text = json.dumps([fingerprint, dataset, strategy, seed])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare(config: StudyConfig) -> Study:
    """Load datasets, resolve strategies and models, and check every fold can be cut."""
    datasets: dict[str, Dataset] = {}
    for spec in config.dataset_specs:
        name, dataset = load(spec, config.target)
        if name in datasets:
            raise UserError(f"dataset {name} is listed twice; list each dataset once")
        datasets[name] = dataset
    strategies = {s.name: s for s in (resolve(text) for text in config.strategies)}
    models = {name: resolve_model(config.model, d.input_shape) for name, d in datasets.items()}
    for dataset in datasets.values():
        for seed in config.seed_values:
            for stratified in {s.stratified for s in strategies.values()}:
                make_fold(dataset, seed, stratified, config.val_fraction)
    fingerprint = config.fingerprint()
    cells = tuple(
        Cell(cell_key(fingerprint, d, s, seed), d, s, seed, position)
        for position, (d, s, seed) in enumerate(
            (d, s, seed) for d in datasets for s in strategies for seed in config.seed_values
        )
    )
    return Study(config, datasets, models, strategies, cells)
