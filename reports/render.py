"""Write the report from the store: the model once (reports.sections), then Markdown and HTML from templates.

`bench report DIR` calls this without training anything; it never imports a
Keras backend, and it renders partial studies (missing cells are listed).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from bench.config import check_metric
from bench.storage.files import write_atomically
from bench.storage.store import Store
from reports import figures
from reports.formatting import markdown_cell
from reports.results import load
from reports.sections import report_model

TEMPLATES = jinja2.PackageLoader("reports", "templates")


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=TEMPLATES,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = markdown_cell
    return env


MARKDOWN, HTML = _environment(autoescape=False), _environment(autoescape=True)


def write_report(store: Store, directory: Path, metric: str | None = None, figure_format: str = "png") -> Path:
    """Regenerate results.csv, figures/, report.md and report.html; returns report.md's path.

    `metric` (default: the study's setting, else macro-F1) orders the summary and decides the verdicts and
    ranks; `figure_format` is that of the figure files (PDF adds files beside the PNGs the reports show).
    """
    directory = Path(directory)
    data = load(store)
    metric = metric or data.config.get("metric", "macro_f1")
    check_metric(metric)
    model = report_model(data, metric)
    write_atomically(directory / "results.csv", data.results.to_csv(index=False))
    shown = model.all_figures
    figures.draw_all(shown, figures.formats_drawn(figure_format), reuse=directory / "figures")
    figures.write_files(shown, directory)
    markdown = MARKDOWN.get_template("report.md.j2").render({f.name: getattr(model, f.name) for f in fields(model)})
    write_atomically(directory / "report.html", html_page(markdown, shown, str(model.config["name"])))
    report = directory / "report.md"
    write_atomically(report, markdown)
    return report


def html_page(markdown: str, embedded: list[figures.Figure], title: str) -> str:
    """The Markdown report as one self-contained HTML file.

    Rendering the same Markdown (markdown-it-py, which rich already depends on)
    keeps the two reports identical in content. Raw HTML in the Markdown is not
    passed through, and figures become data URIs, so the page loads nothing.
    """
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    for figure in embedded:
        body = body.replace(f'src="{figure.file}"', f'src="{figure.data_uri()}"')
    return HTML.get_template("report.html.j2").render(title=title, body=Markup(body))
