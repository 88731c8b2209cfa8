"""A user's own code, named in a spec as `path/to/file.py:name` or `package.module:name`.

Models and strategies are brought the same way, so one loader imports them,
only when a spec names them, and says in one line what went wrong.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.errors import UserError, closest


def import_from_working_directory(module_name: str) -> Any:
    """Import `module_name` as `python -m` would have, with the working directory first on the path.

    bench/__main__.py takes the working directory off sys.path so that a
    folder of the user's named strategies/ or reports/ cannot shadow this
    project's packages; the user's own modules are still found there.
    """
    working = str(Path.cwd())
    sys.path.insert(0, working)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(working)


def load_named(text: str, kind: str, what: str, accept: Callable[[Any], bool], example: str) -> Any:
    """The `what` (a function, a class) that `text` names; a UserError if the module, file or name is wrong.

    `kind` ('model', 'strategy') starts every message; an attribute that
    `accept` refuses is reported as missing, with the closest name there is.
    """
    module_name, _, attribute = text.rpartition(":")
    if not module_name or not attribute:
        raise UserError(f"{kind} '{text}': write module:{what}, e.g. {example}")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise UserError(
                    f"{kind} file not found: {path}; give an existing .py file, relative to the working directory "
                    "(in a study file: to the study file)"
                )
            spec = importlib.util.spec_from_file_location(f"bench_user_{kind}_{path.stem}", path)
            assert spec is not None and spec.loader is not None  # a .py file always has a loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = import_from_working_directory(module_name)
    except UserError:
        raise
    except Exception as exc:  # the user's module failed to import: say so in one line
        if isinstance(exc, ImportError):
            from bench.backend import load_backend

            load_backend()  # a missing Keras backend is reported as such, with how to install it
        raise UserError(f"cannot import {kind} module {module_name}: {type(exc).__name__}: {exc}") from None
    found = getattr(module, attribute, None)
    if not accept(found):
        names = [n for n in dir(module) if not n.startswith("_")]
        raise UserError(f"{kind} module {module_name} has no {what} '{attribute}'{closest(attribute, names)}")
    return found
