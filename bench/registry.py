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


@dataclass(frozen=True)
class Bounds:
    """The valid range of a numeric parameter, checked before anything is written.

    A value outside it would otherwise fail mid-study (a division by zero in
    every trial) or run silently with a meaningless setting (a negative focal
    gamma). None leaves that side open.
    """

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        above = self.low is None or value > self.low or (self.low_inclusive and value == self.low)
        below = self.high is None or value < self.high or (self.high_inclusive and value == self.high)
        return above and below

    def __str__(self) -> str:
        low = "(-inf" if self.low is None else f"{'[' if self.low_inclusive else '('}{self.low:.15g}"
        high = "inf)" if self.high is None else f"{self.high:.15g}{']' if self.high_inclusive else ')'}"
        return f"{low}, {high}"


def declared_type(default: Param) -> type:
    if isinstance(default, Tunable):
        return type(default.choices[0])
    if isinstance(default, Unset):
        return default.kind
    return type(default)


@dataclass(frozen=True)
class Parameter:
    """A parameter a class declares about itself: its default (or the tuner's choices) and valid range.

    Its type is the default's. Kept on the class it configures (strategies'
    `parameters`), so what a spec may set is read where it is used.
    """

    default: Value | Tunable
    bounds: Bounds | None = None
    options: tuple[str, ...] = ()  # the values a str parameter may take; empty: any

    @property
    def kind(self) -> type:
        return declared_type(self.default)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered name: what it is, its parameters with defaults, how to make it."""

    name: str
    description: str
    factory: Callable[..., T]
    params: dict[str, Param] = field(default_factory=dict)
    reference: str = ""
    bounds: dict[str, Bounds] = field(default_factory=dict)
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if stray := (set(self.bounds) | set(self.options)) - set(self.params):
            raise ValueError(f"{self.name}: bounds or options for undeclared parameter(s) {', '.join(sorted(stray))}")

    def arguments(self, spec: Spec) -> dict[str, Param | None]:
        """Defaults overlaid with the spec's parameters, each type- and range-checked; Unset ones left out become None.

        Tunable choices are checked too, so a tuner can never pick a value a spec could not give.
        """
        values: dict[str, Param | None] = {k: None if isinstance(v, Unset) else v for k, v in self.params.items()}
        for key, value in spec.params:
            if key not in self.params:
                valid = ", ".join(sorted(self.params)) or "none"
                raise UserError(
                    f"{self.name}: unknown parameter '{key}'{closest(key, self.params)}; valid parameters: {valid}"
                )
            values[key] = coerce(self.name, key, value, declared_type(self.params[key]))
        written = spec.kwargs
        for key, bounds in self.bounds.items():
            given = values[key]
            for value in given.choices if isinstance(given, Tunable) else (given,):
                if value is not None and value not in bounds:
                    shown = written.get(key, value)  # as the user wrote it: 0, not 0.0
                    raise UserError(f"{self.name}: parameter '{key}' must be in {bounds}, got {shown!r}")
        for key, options in self.options.items():
            given = values[key]
            for value in given.choices if isinstance(given, Tunable) else (given,):
                if value is not None and value not in options:
                    raise UserError(
                        f"{self.name}: parameter '{key}' must be one of {', '.join(options)}, got {value!r}"
                    )
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
