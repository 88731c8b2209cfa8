"""The report's number and text formats, in one place so that every table, sentence and command writes them alike."""

from __future__ import annotations

import datetime
import math
from typing import Any


def fmt(value: Any, digits: int = 3) -> str:
    """A float to `digits` decimals, anything else as text; None and NaN as 'n/a', so a gap reads as one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def fmt_p(value: float, clause: bool = False) -> str:
    """A p-value to three decimals, below 0.001 only as that bound (smaller digits claim precision no test has).

    In a table: '0.031', '< 0.001' or 'n/a'; with `clause`, in a sentence: 'p = 0.031' or 'p < 0.001'.
    """
    if math.isnan(value):
        return "p = n/a" if clause else "n/a"
    if value < 0.001:
        return "p < 0.001" if clause else "< 0.001"
    return f"p = {value:.3f}" if clause else f"{value:.3f}"


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes or line breaks, HTML escaped."""
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_hyperparameters(values: dict[str, Any]) -> str:
    """'learning_rate=0.001, units=64': sorted by name, floats to three significant digits, for one table cell."""
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(values.items()))


def when(timestamp: str) -> str:
    """A stored Unix timestamp as UTC date and time ('n/a' if none was stored), the same wherever it is read."""
    if not timestamp:
        return "n/a"
    return datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def seed_list(seeds: list[int]) -> str:
    """'seed 3' or 'seeds 1, 2, 5': which seeds a statement rests on."""
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def spread(values: list[float]) -> str:
    """'4.0' when every value agrees, else '2.5 to 4.0': the range over seeds without a misleading mean."""
    low, high = min(values), max(values)
    return fmt(low, 1) if low == high else f"{fmt(low, 1)} to {fmt(high, 1)}"
