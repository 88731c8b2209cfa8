"""The house's layers: which package may import which, and no import cycles, read from the source with ast.

Layers, lowest first: the top-level modules of bench (errors, specs, registry,
config, records, metrics, backend, user code); storage; data and the
strategies; training; execution; reports; and on top the commands (with
strategies.testing, which trains models to check a strategy). Reports read
the store, never the runner, and nothing below the commands starts a report.
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
    "training": {"core", "data", "strategies", "training"},
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
