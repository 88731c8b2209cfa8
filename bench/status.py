"""The text of `bench status DIR`: counts by status, then every unfinished cell."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.store import Store


def status_text(directory: Path) -> str:
    store = Store.open_existing(directory)
    try:
        cells = store.cells()
        failed_searches = [row for row in store.searches() if row["status"] == "failed"]
    finally:
        store.close()
    counts = Counter(row["status"] for row in cells)
    lines = [
        f"{directory}: {len(cells)} cells: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "running", "pending", "failed", "skipped"))
    ]
    for row in cells:
        if row["status"] != "done":
            error = f": {row['error']}" if row["error"] else ""
            lines.append(f"  {row['status']:<8} {row['dataset']} / {row['strategy']} / seed {row['seed']}{error}")
    for row in failed_searches:
        lines.append(f"  tuning failed for {row['dataset']} / {row['strategy']}: {row['error']}")
    return "\n".join(lines)
