"""The one error type that reaches the terminal as a single line.

Anything the user can fix (a bad spec, a missing file, a config that does not
match the store) raises :class:`UserError`; the CLI prints its message and exits
with code 2. Everything else is a bug or a failure inside a study and is handled
elsewhere (recorded in the store, or shown with a traceback).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A problem with the user's input, stated with how to fix it."""


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint for a mistyped name, or nothing."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown(kind: str, name: str, choices: Iterable[str]) -> UserError:
    """The standard refusal for an unknown name: says what is valid."""
    valid = sorted(choices)
    return UserError(f"unknown {kind} '{name}'{closest(name, valid)}; valid: {', '.join(valid)}")
