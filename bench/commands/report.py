"""`bench report DIR`: the report rendered again from the store, at any time (also while a study runs)."""

from __future__ import annotations

import argparse

from bench.storage.store import Store
from reports import write_report


def command(args: argparse.Namespace) -> int:
    with Store.open_existing(args.directory) as store:
        print(f"report: {write_report(store, args.directory, args.metric, args.figure_format)}")
    return 0
