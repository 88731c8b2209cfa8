"""Progress for people: a rich display on a terminal, plain lines in logs and CI."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class PlainProgress:
    """One line per event; what a log file or CI console can keep."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.finished = 0

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, total_cells: int, already_done: int) -> None:
        self.total, self.finished = total_cells, already_done
        self._say(f"{total_cells} cells, {already_done} already done")

    def search(self, dataset: str, strategy: str, trials: int) -> None:
        self._say(f"tuning {strategy} on {dataset} ({trials} trials)")

    def trial_done(self) -> None:
        """Trials are summarised when the search ends; no line per trial."""

    def search_done(self, dataset: str, strategy: str, error: str) -> None:
        self._say(f"tuning {strategy} on {dataset}: " + (f"FAILED: {error}" if error else "done"))

    def cell_done(self, dataset: str, strategy: str, seed: int, outcome: str) -> None:
        self.finished += 1
        self._say(f"[{self.finished}/{self.total}] {strategy} on {dataset}, seed {seed}: {outcome}")

    def close(self) -> None:
        """Nothing to tear down for plain lines."""


class RichProgress(PlainProgress):
    """Bars for cells and for the running search's trials."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        # A fixed file: keras-tuner's prints are redirected while it runs, and
        # rich must keep drawing on the real terminal meanwhile.
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
        )
        self.cells_task = self.bar.add_task("cells", total=0)
        self.trials_task = self.bar.add_task("trials", total=0, visible=False)

    def _say(self, text: str) -> None:
        self.bar.console.print(text, markup=False, highlight=False)

    def start(self, total_cells: int, already_done: int) -> None:
        super().start(total_cells, already_done)
        self.bar.update(self.cells_task, total=total_cells, completed=already_done)
        self.bar.start()

    def search(self, dataset: str, strategy: str, trials: int) -> None:
        self.bar.reset(self.trials_task, total=trials, visible=True, description=f"tuning {strategy} on {dataset}")

    def trial_done(self) -> None:
        self.bar.advance(self.trials_task)

    def search_done(self, dataset: str, strategy: str, error: str) -> None:
        self.bar.update(self.trials_task, visible=False)
        if error:
            super().search_done(dataset, strategy, error)

    def cell_done(self, dataset: str, strategy: str, seed: int, outcome: str) -> None:
        super().cell_done(dataset, strategy, seed, outcome)
        self.bar.update(self.cells_task, completed=self.finished)

    def close(self) -> None:
        self.bar.stop()


def make_progress(stream: TextIO | None = None) -> PlainProgress:
    stream = stream or sys.stdout
    return RichProgress(stream) if stream.isatty() else PlainProgress(stream)
