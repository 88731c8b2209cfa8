"""`python -m bench`: the parser, and one line with exit code 2 for every problem the user can fix.

Each subcommand is a module of bench.commands with a `command(args)`.

All user-fixable problems arrive here as UserError and leave as one line on
stderr with exit code 2. Keras is imported only by `run`, so the other
commands answer in well under a second.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bench.config import FIGURE_FORMATS, PROFILES, TUNERS
from bench.errors import UserError


class _Parser(argparse.ArgumentParser):
    """Refuses in one UserError line that names the help to read: the command's, once the command is known."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:  # argparse refuses them on the top-level parser, whose help does not list a command's options
            self.error(f"unrecognized arguments: {' '.join(unknown)}", getattr(parsed, "command", None))
        return parsed

    def error(self, message: str, command: str | None = None) -> NoReturn:
        words = self.prog.split()[1:] or ([command] if command else [])  # "bench run" -> ["run"]
        raise UserError(f"{message} (see 'python -m bench {' '.join([*words, '--help'])}')")


def workers_argument(text: str) -> int | str:
    """--workers N or auto; the range is checked with the study's other settings."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a whole number or auto, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bench", description="Which class-imbalance strategy helps your Keras model?")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run or resume a study")
    run.add_argument("--config", type=Path, help="study file (TOML)")
    run.add_argument("--profile", choices=sorted(PROFILES), help="budget preset (default quick)")
    run.add_argument("--dataset", action="append", dest="datasets", metavar="SPEC", help="repeatable")
    run.add_argument("--strategy", action="append", dest="strategies", metavar="SPEC", help="repeatable")
    run.add_argument("--model", help="mlp, cnn, rnn, auto, or your own module:function / file.py:function")
    run.add_argument("--target", help="class-label column of a CSV given by its path")
    run.add_argument("--tuner", choices=sorted(TUNERS))
    run.add_argument("--tuning", metavar="MODE", help="per-seed (quick, full), once (smoke) or cv[k=K]")
    run.add_argument("--search", choices=["joint", "staged"], help="staged: model knobs tuned once, on baseline")
    run.add_argument(
        "--budget", choices=["epochs", "steps"], help="steps: every strategy takes as many optimiser steps"
    )
    run.add_argument("--max-trials", type=int, dest="max_trials")
    run.add_argument("--epochs", type=int)
    run.add_argument("--seeds", type=int, help="repetitions per strategy")
    run.add_argument(
        "--search-seed", type=int, dest="search_seed", help="another value: an independent replicate of every search"
    )
    run.add_argument("--name", help="study name (default: from the study file, else 'default')")
    run.add_argument("--out", help="output folder (default runs/<name>)")
    run.add_argument(
        "--workers",
        type=workers_argument,
        metavar="N|auto",
        help="local worker processes, each with its share of CPU threads or a GPU (default auto: one per core or GPU)",
    )
    run.add_argument("--scheduler", metavar="ADDRESS", help="run on a dask cluster, e.g. tcp://10.0.0.5:8786")
    run.add_argument("--executor", choices=["local", "dask"], help="dask without --scheduler: a loopback LocalCluster")
    run.add_argument("--overwrite", action="store_true", help="delete an existing study in the folder first")
    run.add_argument(
        "--reduce-lr",
        action="store_true",
        default=None,
        dest="reduce_lr",
        help="ReduceLROnPlateau on validation loss, factor and patience tuned",
    )
    run.add_argument(
        "--mixed-precision",
        action="store_true",
        default=None,
        dest="mixed_precision",
        help="compute in float16 with float32 weights, logits cast to float32: for GPUs (slower on most CPUs)",
    )
    run.add_argument(
        "--live",
        action="store_true",
        default=None,
        help="print a classification report after every epoch of the final runs",
    )
    run.add_argument(
        "--tensorboard",
        action="store_true",
        default=None,
        help="write TensorBoard logs of the final runs under DIR/tensorboard/",
    )

    run.add_argument("--metric", help="the metric the report ranks by and gives verdicts on (default macro_f1)")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="also show the backend's own start-up lines (TensorFlow's C++ logging), hidden by default",
    )

    commands.add_parser("list", help="strategies, datasets, models and tuners")
    inspect = commands.add_parser("inspect", help="a dataset's classes, imbalance ratio and histogram")
    inspect.add_argument("dataset", metavar="SPEC", help="e.g. digits-lt, folder[path=bees], data.csv")
    inspect.add_argument("--target", default="", help="class-label column of a CSV given by its path")
    inspect.add_argument("--output", type=Path, help="histogram PNG (default runs/inspect/<dataset>.png)")
    status = commands.add_parser("status", help="what is done, pending, failed")
    status.add_argument("directory", type=Path)
    report = commands.add_parser("report", help="re-render the report")
    report.add_argument("directory", type=Path)
    report.add_argument("--metric", help="rank and give verdicts by this metric (default: the study's, macro_f1)")
    report.add_argument("--figure-format", choices=FIGURE_FORMATS, default="png", dest="figure_format")
    compare = commands.add_parser("compare", help="two studies of the same data and seeds, strategy by strategy")
    compare.add_argument("first", type=Path, metavar="DIR_A")
    compare.add_argument("second", type=Path, metavar="DIR_B")
    compare.add_argument("--metric", help="compared besides macro-F1 and macro-recall (default: study A's)")
    compare.add_argument("--html", type=Path, metavar="FILE", help="also write the comparison as one HTML file")
    export = commands.add_parser("export", help="results or predictions as CSV, or the summary as LaTeX tables")
    export.add_argument("directory", type=Path)
    export.add_argument("--what", choices=["results", "predictions", "latex"], default="results")
    export.add_argument("--output", type=Path, help="file (default DIR/<what>.csv, DIR/summary.tex for latex)")
    export.add_argument("--metric", help="latex: the metric that orders the rows (default: the study's, macro_f1)")
    return parser


# subcommand -> its module in bench.commands, imported when run: Keras loads only for `run`, so the rest answer fast
COMMANDS = {
    "run": "run",
    "list": "catalog",
    "inspect": "inspection",
    "status": "status",
    "report": "report",
    "export": "export",
    "compare": "compare",
}


class NoteHandler(logging.Handler):
    """`note:` lines on whatever sys.stderr is when a note is logged (it may have been redirected since)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"note: {record.getMessage()}", file=sys.stderr)


def storage_problem(exc: OSError | sqlite3.Error) -> str:
    """One line for a failed write; every store write is a transaction, so the store stays consistent."""
    if isinstance(exc, sqlite3.Error):
        return f"cannot write the study store ({exc})"
    where = f" ({exc.filename})" if exc.filename else ""
    return f"cannot read or write a file: {exc.strerror or exc}{where}"


def show_notes() -> None:
    """What loaders pass over (hidden files, unreadable images) reaches the user, once per note."""
    notes = logging.getLogger("bench")
    if not any(isinstance(h, NoteHandler) for h in notes.handlers):
        notes.addHandler(NoteHandler())
        notes.setLevel(logging.INFO)
        notes.propagate = False  # not again through handlers a library put on the root logger


def main(argv: Sequence[str] | None = None) -> int:
    show_notes()
    try:
        args = build_parser().parse_args(argv)
        return importlib.import_module(f"bench.commands.{COMMANDS[args.command]}").command(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:  # disk full, read-only folder, permission denied
        print(
            f"error: {storage_problem(exc)}; fix permissions or free space, then run the same command again "
            "(finished cells are kept)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console-script wrapper: the exit status is main()'s return value.

    Everything is written and closed by then. Freezing what is left spares the
    interpreter's final garbage collection, which walks every object of the
    loaded backend: 0.8 s of a quick study's exit with TensorFlow, 0.1 s frozen.
    """
    status = main()
    gc.freeze()
    sys.exit(status)
