"""The text of `bench list`: every name a spec can use, with its parameters."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from bench.config import TUNERS
from bench.data.sources import DATASETS
from bench.registry import Entry, Tunable
from bench.training.models import MODELS
from strategies import STRATEGIES


def _param(entry: Entry[object], key: str) -> str:
    """`key=default`, `(tuned)` when the tuner chooses, and the valid range when one is declared."""
    value = entry.params[key]
    text = f"{key}={value} (tuned)" if isinstance(value, Tunable) else f"{key}={value}"
    if key in entry.options:
        return f"{text} in {{{', '.join(entry.options[key])}}}"
    return f"{text} in {entry.bounds[key]}" if key in entry.bounds else text


def _params(entry: Entry[object]) -> str:
    return ", ".join(_param(entry, key) for key in entry.params)


WIDTH = max(len(entry.name) for registry in (STRATEGIES, DATASETS, MODELS) for entry in registry) + 2


def _section(title: str, entries: Iterable[Entry[object]]) -> list[str]:
    lines = [f"{title}:"]
    for entry in entries:
        lines.append(f"  {entry.name:<{WIDTH}} {entry.description}")
        if entry.params:
            lines.append(f"  {'':<{WIDTH}} parameters: {_params(entry)}")
        if entry.reference:
            lines.append(f"  {'':<{WIDTH}} reference: {entry.reference}")
    return lines


def catalog() -> str:
    lines = _section("strategies (combine with +, e.g. stratify+class-weight)", STRATEGIES)
    lines += ["", *_section("datasets", DATASETS), "", *_section("models", MODELS), "", "tuners:"]
    lines += [f"  {name:<{WIDTH}} {text}" for name, text in TUNERS.items()]
    lines += [
        "",
        "Specs: name or name[key=value,...]; a parameter marked (tuned) is searched unless given; "
        "'in [a, b)' is its valid range, 'in {a, b}' its options.",
        "Your own strategy: path/to/file.py:ClassName[key=value,...] or package.module:ClassName, a "
        "strategies.StrategyPart subclass (see studies/my_strategy.py).",
    ]
    return "\n".join(lines)


def command(args: argparse.Namespace) -> int:

    print(catalog())
    return 0
