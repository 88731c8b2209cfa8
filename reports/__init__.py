"""Reports from the store alone: tables, CSV and Markdown, no Keras backend needed.

`write_report` is imported on first use, not with the package, so that a light module here
(`reports.class_coverage`, which `bench status` reads) does not load pandas, scikit-learn and matplotlib.
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    """`reports.write_report`, loaded when first asked for (PEP 562)."""
    if name == "write_report":
        from reports.render import write_report

        return write_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
