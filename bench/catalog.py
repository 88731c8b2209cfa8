"""The text of `bench list`: every name a spec can use, with its parameters."""

from __future__ import annotations

from collections.abc import Iterable

from bench.config import TUNERS
from bench.datasets import DATASETS
from bench.models import MODELS
from bench.registry import Entry, Tunable
from strategies import STRATEGIES


def _params(entry: Entry[object]) -> str:
    parts = [
        f"{key}={value} (tuned)" if isinstance(value, Tunable) else f"{key}={value}"
        for key, value in entry.params.items()
    ]
    return ", ".join(parts)


WIDTH = 22  # the longest name ('posthoc-logit-adjust') plus room


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
    lines += ["", "Specs: name or name[key=value,...]; a parameter marked (tuned) is searched unless given."]
    return "\n".join(lines)
