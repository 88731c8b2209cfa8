"""The house's layers: which package may import which, and no import cycles, read from the source with ast.

Layers, lowest first: the top-level modules of bench (errors, specs, registry,
config, records, metrics, backend, user code); storage; data and the
strategies; training; execution; reports; and on top the commands (with
strategies.testing, which trains models to check a strategy). Reports read
the store, never the runner, and nothing below the commands starts a report.
Only the modules listed in KERAS_IMPORTS import Keras or a backend, and only
bench.backend compares backend names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "strategies", "reports")
# component -> the components it may import (its own included)
ALLOWED = {
    "core": {"core"},
    "storage": {"core", "storage"},
    "data": {"core", "storage", "data"},
    "strategies": {"core", "strategies"},
    "training": {"core", "strategies", "training"},
    "execution": {"core", "storage", "data", "strategies", "training", "execution"},
    "reports": {"core", "storage", "reports"},
    "checks": {"core", "data", "strategies", "training", "checks"},
    "commands": {"core", "storage", "data", "strategies", "training", "execution", "reports", "commands"},
}


def component(module: str) -> str:
    parts = module.split(".")
    if module == "strategies.testing":
        return "checks"
    if parts[0] in ("strategies", "reports"):
        return parts[0]
    if module == "bench.__main__":
        return "commands"
    if len(parts) > 2 or (len(parts) == 2 and (ROOT / "bench" / parts[1]).is_dir()):
        return parts[1]  # storage, data, training, execution, commands
    return "core"


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules that `path` imports anywhere (top, inside functions, under TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in known else node.module for n in names]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


GRAPH = {name: imports(path, modules()) - {name} for name, path in modules().items()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_a_module_imports_only_from_its_layer_and_below(module):
    mine = component(module)
    wrong = sorted(i for i in GRAPH[module] if component(i) not in ALLOWED[mine])
    assert not wrong, f"{module} ({mine}) imports {wrong}, above its layer"


def test_there_are_no_import_cycles():
    cycles, state = [], dict.fromkeys(GRAPH, 0)  # 0 unseen, 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if target.startswith(module + "."):  # a package's __init__ importing its own modules is no cycle
                continue
            if state[target] == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif state[target] == 0:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if state[module] == 0:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_layer_rules_catch_an_upward_import():
    """The rules bite: the runner starting a report (as it once did) or an executor pair importing each other."""
    assert component("reports.render") not in ALLOWED[component("bench.execution.runner")]
    assert component("bench.execution.runner") not in ALLOWED[component("reports.render")]
    assert component("bench.training.tuning") not in ALLOWED[component("bench.storage.store")]
    assert component("bench.config") == "core" and component("bench.storage.files") == "storage"


BACKEND_PACKAGES = {"keras", "keras_tuner", "tensorflow", "jax", "torch"}
BACKEND_NAMES = {"tensorflow", "jax", "torch"}
# The modules that import Keras, keras-tuner or a backend package: "top" at import time, "lazy" only inside the
# functions that need them (so that `list`, `status`, `report` and `export`, which import them, load no backend).
KERAS_IMPORTS = {
    "bench.backend": "lazy",
    "bench.execution.tasks": "lazy",
    "bench.training.batches": "top",
    "bench.training.callbacks": "top",
    "bench.training.classifier": "top",
    "bench.training.compiled": "top",
    "bench.training.hypermodel": "top",
    "bench.training.models": "lazy",
    "bench.training.normalization": "top",
    "bench.training.tf_input": "lazy",
    "bench.training.tuning": "top",
    "strategies.base": "lazy",
    "strategies.keras_losses": "top",
    "strategies.losses": "lazy",
    "strategies.testing": "top",
}
BACKEND_NAMES_MODULE = "bench.backend"


def keras_import(source: str) -> str | None:
    """ "top" if the source imports a backend package at import time, "lazy" if only inside functions, else None
    (imports for type checkers alone, under `if TYPE_CHECKING:`, never run)."""
    tree = ast.parse(source)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(node) for function in functions for node in ast.walk(function)}
    typing_only = [n for n in ast.walk(tree) if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    never_run = {id(node) for block in typing_only for statement in block.body for node in ast.walk(statement)}
    found = None
    for node in ast.walk(tree):
        if id(node) in never_run:
            continue
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots = {node.module.split(".")[0]}
        else:
            continue
        if roots & BACKEND_PACKAGES:
            if id(node) not in inside:
                return "top"
            found = "lazy"
    return found


def backend_name_checks(source: str) -> list[int]:
    """Lines that compare against a backend's name, or ask Keras which backend is loaded."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            values = [e for o in operands for e in (o.elts if isinstance(o, (ast.Tuple, ast.List, ast.Set)) else [o])]
            if any(isinstance(v, ast.Constant) and v.value in BACKEND_NAMES for v in values):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "backend":
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr in ("backend", "config"):  # keras.backend.backend()
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_only_the_listed_modules_import_keras(module):
    found = keras_import(modules()[module].read_text(encoding="utf-8"))
    assert found == KERAS_IMPORTS.get(module), f"{module} imports a backend package: {found}, listed: " + str(
        KERAS_IMPORTS.get(module)
    )


@pytest.mark.parametrize("module", sorted(set(GRAPH) - {BACKEND_NAMES_MODULE}))
def test_only_the_backend_module_compares_backend_names(module):
    lines = backend_name_checks(modules()[module].read_text(encoding="utf-8"))
    assert not lines, f"{module} asks which backend runs (lines {lines}): ask {BACKEND_NAMES_MODULE} instead"


def test_the_keras_and_backend_name_rules_catch_what_they_should():
    assert keras_import("import keras\n") == "top"
    assert keras_import("try:\n    import torch\nexcept ImportError:\n    pass\n") == "top"
    assert keras_import("def f():\n    from keras import ops\n") == "lazy"
    assert keras_import("if TYPE_CHECKING:\n    import keras_tuner\n") is None, "for type checkers only"
    assert keras_import("import numpy\nimport kerastuner_like\n") is None
    assert backend_name_checks("if name == 'jax':\n    pass\n") == [1]
    assert backend_name_checks("x = name in ('torch', 'jax')\n") == [1]
    assert backend_name_checks("x = keras.backend.backend()\n") == [1]
    assert backend_name_checks("x = sys.modules['keras'].config.backend()\n") == [1]
    assert backend_name_checks("logger = getLogger('tensorflow')\n") == []
