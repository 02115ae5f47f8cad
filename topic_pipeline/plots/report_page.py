"""The topic report as one self-contained HTML page: tables and plotly figures that open offline.

A user mails the file to a colleague, who double-clicks it: nothing may be fetched (plotly.js is embedded
once, no CDN, no relative file), and nothing from a document may run. Three layers keep document text inert:
every table text is html-escaped; each figure's JSON sits in a ``<script type="application/json">`` with
``<``, ``>``, ``&`` and U+2028/U+2029 written as ``\\uXXXX`` (plotly's own JSON escapes only some of them and
its orjson path none of U+2028/9), so no string can end the script element; and a Content-Security-Policy
forbids every fetch, so even a bug here cannot reach the network.
"""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

# Inline scripts and styles only; no source of any kind from outside the file. 'unsafe-eval' is there because
# plotly's WebGL traces (scattergl, BERTopic's documents map) compile their shaders' glue with ``new
# Function``; it opens no network access. base-uri/form-action close the two ways a page could point elsewhere
# without a fetch directive.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
)
DEFAULT_CLIP = 300
# Column names (compared lower-case, spaces as "_") whose lists are documents: one clipped block each, not a
# comma-joined line of words.
REPORT_SIGNATURE = "Written by topic_pipeline."  # near the end of every report: how a file is known to be one
DOCUMENT_COLUMNS = frozenset({"representative_docs", "representative_documents", "documents", "docs"})
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")
_WHITESPACE = re.compile(r"\s+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_CSS = """
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --band: #f5f7fa; --accent: #2f6fb2; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
h1 { font-size: 1.8em; margin: 28px 0 8px; }
h2 { font-size: 1.3em; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
a { color: var(--accent); }
.notes { margin: 12px 0; padding: 10px 16px 10px 34px; background: #fff8e1; border-left: 4px solid #f0b429; }
nav ol { margin: 4px 0 0; padding-left: 22px; columns: 2; max-width: 720px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { position: sticky; top: 0; background: #e4ebf3; font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--band); }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.doc { margin: 0 0 6px; max-width: 70ch; overflow-wrap: anywhere; }
.doc:last-child { margin-bottom: 0; }
.doc summary { cursor: pointer; }
.doc summary::after { content: " (show all)"; color: var(--accent); font-size: 0.9em; }
.doc[open] summary::after { content: " (show less)"; }
.full { white-space: pre-wrap; margin: 6px 0 0; padding: 8px; background: #fff; border: 1px solid var(--line); }
.figure-wrap { overflow-x: auto; }
.figure-error { color: #b42318; }
footer { color: var(--muted); font-size: 0.85em; margin: 40px auto 24px; }
"""

# Draws every figure from its JSON block; one failing figure is reported in its own box and on the console,
# and does not stop the others.
_DRAW_SCRIPT = """
(function () {
  document.querySelectorAll("div.figure[data-figure]").forEach(function (div) {
    try {
      var figure = JSON.parse(document.getElementById(div.getAttribute("data-figure")).textContent);
      var config = Object.assign({responsive: true, displaylogo: false}, figure.config || {});
      Plotly.newPlot(div, {data: figure.data || [], layout: figure.layout || {}, frames: figure.frames || [],
                           config: config})
        .then(function () { div.setAttribute("data-drawn", "true"); })
        .catch(function (error) { fail(div, error); });
    } catch (error) { fail(div, error); }
  });
  function fail(div, error) {
    console.error("figure " + div.id + " could not be drawn:", error);
    div.textContent = "This figure could not be drawn: " + error;
    div.className = "figure figure-error";
  }
})();
"""


def escape_json_for_script(text: str) -> str:
    """``text`` (JSON) with every character that could end or confuse a ``<script>`` element written as a
    JSON ``\\uXXXX`` escape; ``JSON.parse`` reads it back unchanged. These characters can only occur inside
    JSON strings, so the substitution never touches the structure."""
    return _JSON_UNSAFE.sub(lambda match: _JSON_ESCAPES[match.group()], text)


def figure_json(figure: Any) -> str:
    """The plotly figure as JSON safe to place inside a ``<script type="application/json">``."""
    import plotly.io as pio

    return escape_json_for_script(pio.to_json(figure, validate=False, pretty=False))


def _plotly_js() -> str:
    """plotly.js, checked to hold nothing that would end its script element early."""
    from plotly.offline import get_plotlyjs

    script = get_plotlyjs()
    if re.search(r"</script|<!--", script, re.IGNORECASE):
        raise RuntimeError("This plotly.js contains '</script' or '<!--' and cannot be embedded inline as is; "
                           "check the installed plotly version.")
    return script


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA; a list or array is never missing (it is shown item by item)."""
    if value is None:
        return True
    try:
        return bool(pd.api.types.is_scalar(value) and pd.isna(value))
    except (TypeError, ValueError):
        return False


def _document_html(text: object, clip: int) -> str:
    """One document: whole when short, else its first ``clip`` characters with the full text in a
    ``<details>``, so a table row stays a few lines tall and nothing is lost."""
    value = "" if text is None else str(text).strip()
    if len(value) <= clip:
        return f'<div class="doc">{html.escape(_WHITESPACE.sub(" ", value))}</div>'
    preview = _WHITESPACE.sub(" ", value)[:clip].rstrip() + "\u2026"
    return (f'<details class="doc"><summary>{html.escape(preview)}</summary>'
            f'<div class="full">{html.escape(value)}</div></details>')


def _cell_html(value: Any, *, is_documents: bool, clip: int) -> tuple[str, bool]:
    """A table cell's inner HTML and whether it is a number (right-aligned)."""
    if isinstance(value, list | tuple) or (hasattr(value, "tolist") and not pd.api.types.is_scalar(value)):
        items = [item for item in list(value) if not _is_missing(item)]
        if is_documents:
            return "".join(_document_html(item, clip) for item in items), False
        return html.escape(", ".join(str(item) for item in items)), False
    if _is_missing(value):
        return "", False
    if isinstance(value, bool):
        return html.escape(str(value)), False
    if isinstance(value, int) or pd.api.types.is_integer(value):
        return html.escape(str(int(value))), True
    if isinstance(value, float) or pd.api.types.is_float(value):
        return html.escape(f"{float(value):.4g}"), True
    if is_documents or len(str(value)) > clip:
        return _document_html(value, clip), False
    return html.escape(str(value)), False


def table_html(frame: pd.DataFrame, *, clip: int = DEFAULT_CLIP,
               document_columns: Collection[str] = DOCUMENT_COLUMNS) -> str:
    """``frame`` as an HTML table, every header and cell escaped; lists in a documents column become one
    clipped block per document, other lists a comma-separated line; floats show four significant digits."""
    wanted = {name.lower().replace(" ", "_") for name in document_columns}
    columns = list(frame.columns)
    documents = [str(name).lower().replace(" ", "_") in wanted for name in columns]
    head = "".join(f"<th>{html.escape(str(name))}</th>" for name in columns)
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = []
        for value, is_documents in zip(record, documents, strict=True):
            inner, numeric = _cell_html(value, is_documents=is_documents, clip=clip)
            cells.append(f'<td class="number">{inner}</td>' if numeric else f"<td>{inner}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>{body}</section>'


def _figure_section(index: int, heading: str, figure: Any) -> str:
    """A heading, the div plotly draws into, and the figure's JSON beside it."""
    anchor = f"figure-{index}"
    body = (f'<div class="figure-wrap"><div class="figure" id="{anchor}-plot" data-figure="{anchor}-data"></div>'
            f'</div><script type="application/json" id="{anchor}-data">{figure_json(figure)}</script>')
    return _section(anchor, heading, body)


def _contents(entries: Iterable[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="#{anchor}">{html.escape(heading)}</a></li>' for anchor, heading in entries)
    return f'<nav aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>'


def report_page(*, title: str, topics: pd.DataFrame, sections: Sequence[tuple[str, Any]] = (),
                notes: Sequence[str] = (), quality: pd.DataFrame | None = None, clip: int = DEFAULT_CLIP,
                document_columns: Collection[str] = DOCUMENT_COLUMNS) -> str:
    """The whole report as one HTML document.

    Parameters
    ----------
    title : str
        Page title and top heading (escaped).
    topics : DataFrame
        The topic table, shown with its columns in order (e.g. topic id, size, name, words, representative
        documents); representative documents are clipped to ``clip`` characters, the full text one click away.
    sections : sequence of (str, plotly Figure)
        Figures in the order shown, each under its heading and listed in the contents.
    notes : sequence of str
        Plain sentences shown above the contents, e.g. why a figure is missing (escaped).
    quality : DataFrame, optional
        Topic-quality figures, shown as a second table when given.
    clip : int, default 300
        Characters of a document shown before "show all".
    document_columns : collection of str
        Column names whose lists hold documents rather than words.

    Returns
    -------
    str
        The page; it fetches nothing when opened (plotly.js embedded, a CSP forbidding every fetch).
    """
    blocks = [("topics", "Topics", table_html(topics, clip=clip, document_columns=document_columns))]
    if quality is not None:
        blocks.append(("quality", "Topic quality", table_html(quality, clip=clip, document_columns=())))
    # figures first: they are what a reader opens the report for; the long tables follow
    body = [_figure_section(index, heading, figure) for index, (heading, figure) in enumerate(sections, start=1)]
    body += [_section(anchor, heading, content) for anchor, heading, content in blocks]
    contents = [(f"figure-{index}", heading) for index, (heading, _) in enumerate(sections, start=1)]
    contents += [(anchor, heading) for anchor, heading, _ in blocks]
    notes_html = ("<ul class=\"notes\">" + "".join(f"<li>{html.escape(str(note))}</li>" for note in notes)
                  + "</ul>") if notes else ""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{_plotly_js()}</script>', "</head>", "<body>",
        f"<header><h1>{html.escape(title)}</h1>{notes_html}{_contents(contents)}</header>",
        "<main>", *body, "</main>",
        f"<footer>{REPORT_SIGNATURE} This file needs nothing else: plotly.js is inside it and it "
        "fetches nothing.</footer>",
        f"<script>{_DRAW_SCRIPT}</script>", "</body>", "</html>", "",
    ])


def write_report_page(page: str, path: str | os.PathLike[str]) -> Path:
    """Write ``page`` to ``path`` atomically (a temporary name in the same folder, renamed on success and
    deleted on any failure), so a reader never opens half a report. Lone surrogates from badly decoded
    documents become U+FFFD instead of failing the write."""
    data = _LONE_SURROGATE.sub("\ufffd", page).encode("utf-8")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}.{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
