"""`bench run`: a study from its file and flags, checked before Keras loads, run or resumed, then its report."""

from __future__ import annotations

import argparse
import contextlib
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench.backend import VERBOSE, load_backend, prepare_backend_environment, start_up_lines_hidden
from bench.config import Protocol, RunOptions, build_config, load_toml
from bench.data.sources import expand
from bench.execution.local import start_workers_early
from bench.execution.plan import prepare
from bench.specs import anchor_files, parse_spec

# every study setting can come from a flag of the same name (the parser's dest)
SETTINGS = tuple(f.name for part in (Protocol, RunOptions) for f in fields(part))


def anchor_paths(values: dict[str, Any], study_file: Path) -> dict[str, Any]:
    """A study file's dataset, model and strategy paths, made relative to the file's own folder.

    So a study file and its data can move together, and the same file gives the
    same study from any working directory.
    """
    base = study_file.parent
    anchored = dict(values)
    if isinstance(datasets := values.get("datasets"), list) and all(isinstance(d, str) for d in datasets):
        anchored["datasets"] = [str(expand(parse_spec(text), base=base)) for text in datasets]
    if isinstance(model := values.get("model"), str):
        anchored["model"] = anchor_files(model, base)
    if isinstance(strategies := values.get("strategies"), list) and all(isinstance(s, str) for s in strategies):
        anchored["strategies"] = [anchor_files(text, base) for text in strategies]
    return anchored


def command(args: argparse.Namespace) -> int:
    if args.verbose:
        os.environ[VERBOSE] = "1"  # for this process's start_up_lines_hidden and its workers'
    file_values = anchor_paths(load_toml(args.config), args.config) if args.config else {}
    overrides = {key: getattr(args, key) for key in SETTINGS if hasattr(args, key)}
    prepare_backend_environment()  # before a user's model module may import a backend
    with start_up_lines_hidden():  # a user's model or strategy module may load the backend
        study = prepare(build_config(file_values, overrides))  # all input checks, before the harness loads Keras
    with contextlib.ExitStack() as cleanup:
        if executor := start_workers_early(study, args.overwrite):  # outside: workers keep the real stderr
            cleanup.callback(executor.close)
        with start_up_lines_hidden():
            if executor is None:  # tasks run here, or the executor asks the backend for GPUs; else only workers load it
                load_backend()
            from bench.execution.progress import make_progress
            from bench.execution.runner import run_study
            from reports import write_report

        outcome = run_study(study, args.overwrite, make_progress(), executor, finish=write_report)
    print(
        f"{outcome.done} cells done, {outcome.failed} failed in {outcome.seconds:.0f} s; "
        f"report: {outcome.directory / 'report.md'}"
    )
    return 1 if outcome.failed else 0
