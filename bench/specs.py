"""One syntax for every named thing: ``name`` or ``name[key=value,...]``.

Datasets, strategies and their composites (``stratify+class-weight``) are all
written this way on the command line and in study files, so a result row can be
traced back to exactly what produced it. Canonical text (keys sorted, values
normalised) is what the store hashes, so ``focal[gamma=2]`` and
``focal[gamma=2.0]`` name the same cell. A user's own code is named the same
way, by its file and name: ``studies/my_strategy.py:SquareRootWeights[power=0.5]``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UserError

_SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9_.:/-]+)\s*(?:\[(?P<params>[^\[\]]*)\])?\s*$")

Value = bool | int | float | str


def parse_value(text: str) -> Value:
    """Read a parameter value the way a person writes it: 2 is int, 2.0 float."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


@dataclass(frozen=True)
class Spec:
    """A parsed ``name[key=value,...]``; hashable and order-insensitive in keys."""

    name: str
    params: tuple[tuple[str, Value], ...] = field(default=())

    @property
    def kwargs(self) -> dict[str, Value]:
        return dict(self.params)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={format_value(v)}" for k, v in self.params)
        return f"{self.name}[{inner}]"


@functools.lru_cache(maxsize=4096)
def parse_spec(text: str) -> Spec:
    """Parse one spec; the error says what a valid spec looks like.

    Cached, like parse_composite: the settings' checks, the plan and the
    registries each read a study's specs, and each text is parsed once.
    """
    match = _SPEC.match(text)
    if not match:
        raise UserError(
            f"cannot read spec '{text}': write name or name[key=value,...], e.g. digits-lt[ratio=100] "
            "(a file path in a name: letters, digits and _ . - / only)"
        )
    params: dict[str, Value] = {}
    for item in filter(None, (p.strip() for p in (match["params"] or "").split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise UserError(f"cannot read parameter '{item}' in spec '{text}': write key=value")
        if key in params:
            raise UserError(f"parameter '{key}' given twice in spec '{text}'")
        params[key] = parse_value(value)
    return Spec(match["name"], tuple(sorted(params.items())))


def split_parts(text: str) -> list[str]:
    """The parts of ``a+b[k=v]`` as written; '+' inside brackets is not a separator (nor allowed in a path)."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "+" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


@functools.lru_cache(maxsize=4096)
def parse_composite(text: str) -> tuple[Spec, ...]:
    """Split ``a+b[k=v]`` into its parsed parts."""
    parts = split_parts(text)
    if any(not p.strip() for p in parts):
        raise UserError(f"empty part in '{text}': join strategies as a+b, e.g. stratify+focal")
    return tuple(parse_spec(p) for p in parts)


def anchor_files(text: str, base: Path) -> str:
    """`text` with every part naming a `file.py:name` re-rooted at `base`, all else as written.

    A study file names its own models and strategies relative to itself, so
    it and its code can move together and run from any working directory.
    """
    anchored = []
    for part in split_parts(text):
        match = _SPEC.match(part)
        if match and ".py:" in (name := match["name"]):
            file, _, attribute = name.rpartition(":")
            part = f"{part[: match.start('name')]}{base / file}:{attribute}{part[match.end('name') :]}"
        anchored.append(part)
    return "+".join(anchored)


def coerce(owner: str, key: str, value: Any, expected: type) -> Value:
    """Check a parameter against its declared type, with a fixable message."""
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise UserError(f"{owner}: parameter '{key}' must be {expected.__name__}, got {value!r}")
