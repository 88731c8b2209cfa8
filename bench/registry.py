"""Named things with typed parameters, shared by datasets, models and strategies.

One registry type means one way to list, look up and validate everything a
spec can name, and one wording for the errors a user sees when a name or a
parameter is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bench.errors import UserError, closest, unknown
from bench.specs import Spec, Value, coerce

T = TypeVar("T")


@dataclass(frozen=True)
class Tunable:
    """A parameter default meaning "let the tuner choose among these".

    A spec may still fix the value (``focal[gamma=2.0]``); then the tuner
    records it as fixed, so the hyperparameter table always shows it.
    """

    choices: tuple[Value, ...]

    def __str__(self) -> str:
        return "{" + ", ".join(map(str, self.choices)) + "}"


@dataclass(frozen=True)
class Unset:
    """A parameter with no default: the factory gets None unless the spec sets it.

    For things like a file's path or an image size where any default would be
    a guess; the type still checks what a spec gives.
    """

    kind: type

    def __str__(self) -> str:
        return f"<{self.kind.__name__}>"


Param = Value | Tunable | Unset


def declared_type(default: Param) -> type:
    if isinstance(default, Tunable):
        return type(default.choices[0])
    if isinstance(default, Unset):
        return default.kind
    return type(default)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered name: what it is, its parameters with defaults, how to make it."""

    name: str
    description: str
    factory: Callable[..., T]
    params: dict[str, Param] = field(default_factory=dict)
    reference: str = ""

    def arguments(self, spec: Spec) -> dict[str, Param | None]:
        """Defaults overlaid with the spec's parameters, each type-checked; Unset ones left out become None."""
        values: dict[str, Param | None] = {k: None if isinstance(v, Unset) else v for k, v in self.params.items()}
        for key, value in spec.params:
            if key not in self.params:
                valid = ", ".join(sorted(self.params)) or "none"
                raise UserError(
                    f"{self.name}: unknown parameter '{key}'{closest(key, self.params)}; valid parameters: {valid}"
                )
            values[key] = coerce(self.name, key, value, declared_type(self.params[key]))
        return values

    def canonical(self, spec: Spec) -> Spec:
        """The spec with type-checked values, so `x[k=1]` and `x[k=1.0]` are one name."""
        given = self.arguments(spec)
        return Spec(spec.name, tuple((key, given[key]) for key, _ in spec.params))

    def create(self, spec: Spec) -> T:
        return self.factory(**self.arguments(spec))


class Registry(Generic[T]):
    """A lookup table of entries of one kind ('dataset', 'model', 'strategy')."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, entry: Entry[T]) -> Entry[T]:
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} '{entry.name}' registered twice")
        self._entries[entry.name] = entry
        return entry

    def __getitem__(self, name: str) -> Entry[T]:
        if name not in self._entries:
            raise unknown(self.kind, name, self._entries)
        return self._entries[name]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def create(self, spec: Spec) -> T:
        return self[spec.name].create(spec)
