"""Reports from the store alone: tables, CSV and Markdown, no Keras backend needed."""

from reports.render import write_report

__all__ = ["write_report"]
