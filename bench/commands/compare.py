"""`bench compare DIR_A DIR_B`: two studies of the same data and seeds, strategy by strategy, as Markdown."""

from __future__ import annotations

import argparse

from bench.config import check_metric
from bench.errors import UserError
from bench.storage.files import write_atomically
from reports.compare import comparison, load_pair, markdown
from reports.render import html_page
from reports.score_tables import shown_metrics


def command(args: argparse.Namespace) -> int:
    first, second = load_pair(args.first, args.second)
    metric = args.metric or first.config.get("metric", "macro_f1")
    check_metric(metric)
    text = markdown(comparison(first, second, shown_metrics(metric)), args.first, args.second)
    print(text, end="")
    if args.html:
        try:
            write_atomically(args.html, html_page(text, [], f"{args.first} against {args.second}"))
        except OSError as exc:
            raise UserError(f"cannot write {args.html}: {exc.strerror}") from None
    return 0
