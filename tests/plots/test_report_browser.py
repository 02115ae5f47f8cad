"""The report page in a real browser: it draws every figure, fetches nothing, and runs nothing from a document.

Headless Chromium (tests/browser.py) opens pages built by ``report_page`` from hand-made plotly figures of the
kinds the report holds (a barchart of topic words, a documents map with hover texts, in SVG and WebGL, a
similarity heatmap). The figures escape their texts with ``escape_text`` as the figure functions do; one
figure carries the hostile strings unescaped to show that the page's JSON embedding alone keeps them inside
their script element. Where Chromium is missing (a user's clone) the browser tests skip; ``.ci/run`` installs it.
The page-building checks at the end need no browser.
"""

from __future__ import annotations

import html
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.browser import INSTALL_HINT, Browser, PageResult, chromium_executable
from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.report_page import escape_json_for_script, report_page, table_html, write_report_page

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(2)</script>",
    '<a href="javascript:alert(3)">click me</a>',
    "<!--<script>alert(4)//",
    "<svg onload=alert(5)>",
    "javascript:alert(6)",
    "&lt;b&gt;not bold&lt;/b&gt; \u2028 line\u2029separator",
]
# The texts as a reader must see them, one per line (innerText splits table cells and list items by lines)
WORDS = {0: ["space", "nasa", "orbit", "launch", "moon"], 1: ["game", "team", "hockey", "season", "players"],
         2: ["god", "jesus", "bible", "church", "faith"]}
LONG_DOC = ("The shuttle launch was delayed again because of the weather over the cape, " * 12).strip()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module (starting one takes a second or two)."""
    if chromium_executable() is None:
        pytest.skip(INSTALL_HINT)
    with Browser() as started:
        yield started


def _topics(names: list[str] | None = None, docs: list[list[str]] | None = None) -> pd.DataFrame:
    names = names or [f"{topic}_{'_'.join(words[:3])}" for topic, words in WORDS.items()]
    docs = docs or [[LONG_DOC, "NASA's budget for next year."], ["The Bruins won in overtime."],
                    ["A question about the book of Job."]]
    return pd.DataFrame({"topic_id": list(WORDS), "size": [120, 85, 40], "name": names,
                         "words": [np.array(words) for words in WORDS.values()], "representative_docs": docs})


def _barchart(title: str = "Topic word scores", labels: list[str] | None = None):
    """BERTopic's barchart shape: one subplot of horizontal bars per topic, subplot titles = topic labels."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = labels or [f"Topic {topic}" for topic in WORDS]
    figure = make_subplots(rows=1, cols=3, subplot_titles=[escape_text(label) for label in labels])
    for column, words in enumerate(WORDS.values(), start=1):
        figure.add_trace(go.Bar(x=[0.05, 0.04, 0.03, 0.02, 0.01][::-1], y=[escape_text(w) for w in words][::-1],
                                orientation="h", showlegend=False), row=1, col=column)
    figure.update_layout(title=escape_text(title), template="plotly_white", height=350)
    return figure


def _documents_map(hover: list[str], *, webgl: bool = False, title: str = "Documents"):
    """A 2-D map of documents coloured by topic, hover text = the (escaped, clipped) document."""
    import plotly.graph_objects as go

    rng = np.random.default_rng(0)
    trace = go.Scattergl if webgl else go.Scatter
    figure = go.Figure()
    for topic in WORDS:
        points = rng.normal(loc=topic * 3, size=(len(hover), 2))
        figure.add_trace(trace(x=points[:, 0], y=points[:, 1], mode="markers", name=f"topic {topic}",
                               text=[escape_text(text, limit=300) for text in hover], hoverinfo="text"))
    figure.update_layout(title=escape_text(title), template="plotly_white")
    return figure


def _heatmap(labels: list[str] | None = None):
    import plotly.graph_objects as go

    labels = [escape_text(label) for label in labels or [f"Topic {topic}" for topic in WORDS]]
    similarity = np.array([[1.0, 0.2, 0.1], [0.2, 1.0, 0.3], [0.1, 0.3, 1.0]])
    return go.Figure(go.Heatmap(z=similarity, x=labels, y=labels, colorscale="GnBu"),
                     layout={"title": "Similarity matrix", "template": "plotly_white"})


def _page(tmp_path: Path, name: str = "report.html", **parts) -> Path:
    return write_report_page(report_page(**parts), tmp_path / name)


def _figure_pixels(result: PageResult) -> list[tuple[int, float]]:
    """(distinct colours, share of non-white pixels) of each figure's region of the screenshot."""
    from PIL import Image

    image = Image.open(io.BytesIO(result.screenshot_png)).convert("RGB")
    measures = []
    for x, y, width, height in result.figure_boxes:
        region = np.asarray(image.crop((int(x), int(y), int(x + width), int(y + height))))
        colours = len(np.unique(region.reshape(-1, 3), axis=0))
        measures.append((colours, float((region.min(axis=2) < 240).mean())))
    return measures


def _assert_clean(result: PageResult) -> None:
    assert result.dialogs == [], "a script from the page's data ran"
    assert result.console_errors == []
    assert result.network_requests == []
    assert result.figure_count == result.drawn_figure_count


def test_every_figure_is_drawn_and_nothing_is_fetched(browser, tmp_path):
    """Acceptance 1 on a page of the report's figure kinds: all drawn, no console error, no request."""
    hover = ["A post about the shuttle.", "Hockey scores tonight.", LONG_DOC]
    sections = [("Top words", _barchart()), ("Documents", _documents_map(hover)),
                ("Documents (WebGL)", _documents_map(hover, webgl=True)), ("Topic similarity", _heatmap())]
    quality = pd.DataFrame({"metric": ["npmi", "diversity"], "topic_id": [None, None], "value": [0.08234567, 0.9]})
    path = _page(tmp_path, title="Topics of 20 Newsgroups", topics=_topics(), sections=sections, quality=quality,
                 notes=["This corpus has no timestamps: no topics over time"])
    result = browser.render_page(path, evaluate={
        "traces": "[...document.querySelectorAll('div.figure')].map(d => d._fullData.map(t => t.type))",
        "status": "[...document.querySelectorAll('div.figure')].map(d => d.getAttribute('data-drawn'))",
        "bar_labels": "document.getElementById('figure-1-plot').data.map(t => t.y.join(','))",
        "full_doc": "document.querySelector('details.doc .full').textContent",
    })

    _assert_clean(result)
    assert result.figure_count == 4
    assert result.evaluations["status"] == ["true"] * 4
    assert result.evaluations["traces"] == [["bar"] * 3, ["scatter"] * 3, ["scattergl"] * 3, ["heatmap"]]
    assert result.evaluations["bar_labels"] == [",".join(words[::-1]) for words in WORDS.values()]
    # each figure's part of the screenshot holds a picture: bars, points, a colour scale, not a blank box
    for colours, inked in _figure_pixels(result):
        assert colours > 20 and inked > 0.01, (colours, inked)
    text = result.inner_text
    for expected in ["Topics of 20 Newsgroups", "This corpus has no timestamps: no topics over time",
                     "0_space_nasa_orbit", "space, nasa, orbit, launch, moon", "NASA's budget for next year.",
                     "Top words", "Topic similarity", "0.08235", "Topic quality"]:
        assert expected in text
    # the long document is clipped in the table, the whole of it one click away
    assert LONG_DOC[:250] in text and LONG_DOC not in text
    assert result.evaluations["full_doc"] == LONG_DOC


def test_nothing_from_a_document_runs(browser, tmp_path):
    """Acceptance 4: hostile documents and labels in the title, notes, topic table, figure titles, tick
    labels and hover texts show as text; no dialog, no console error, no request, no element made of them."""
    names = [HOSTILE[0], HOSTILE[1], HOSTILE[3]]
    docs = [[HOSTILE[2], HOSTILE[4]], [HOSTILE[5]], [HOSTILE[6], HOSTILE[7] + " " + LONG_DOC]]
    raw = _documents_map(["plain"], title="raw")  # the strings unescaped: only the JSON embedding guards them
    raw.update_layout(title=HOSTILE[2])
    raw.update_traces(text=HOSTILE[2], hovertext=HOSTILE[4], name=HOSTILE[1])
    sections = [(HOSTILE[0], _barchart(HOSTILE[1], labels=names)),
                (HOSTILE[2], _documents_map(HOSTILE, title=HOSTILE[0])), ("Raw", raw),
                (HOSTILE[3], _heatmap(names))]
    path = _page(tmp_path, title=HOSTILE[0], notes=HOSTILE, topics=_topics(names, docs), sections=sections)
    result = browser.render_page(path, evaluate={
        "title": "document.title",
        "figure_titles": "[...document.querySelectorAll('.gtitle')].map(t => t.textContent)",
        "subplot_titles": "[...document.querySelectorAll('#figure-1-plot .annotation-text')].map(t => t.textContent)",
        "ticks": "[...document.querySelectorAll('#figure-4-plot .xtick text')].map(t => t.textContent)",
        "hover": """(async () => { const div = document.getElementById('figure-2-plot');
            Plotly.Fx.hover(div, [{curveNumber: 0, pointNumber: 0}]);
            await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
            return div.querySelector('.hoverlayer').textContent; })()""",
        "scripts": "document.scripts.length",
        "made_elements": "document.querySelectorAll('img, iframe, object, embed, svg a, a[href^=javascript]').length",
        "links": "[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))",
    })

    _assert_clean(result)
    assert result.figure_count == 4
    values = result.evaluations
    assert values["title"] == HOSTILE[0]
    assert values["scripts"] == 1 + 4 + 1  # plotly.js, one JSON block per figure, the drawing script
    assert values["made_elements"] == 0
    assert all(link.startswith("#") for link in values["links"]), values["links"]
    # plotly.js decodes numeric entities and only &mu; &amp; &lt; &gt; &nbsp; &times; &plusmn; &deg; by name:
    # an escaped '"' must be &#34;, or the reader sees "&quot;" in every figure
    assert values["figure_titles"][:2] == [HOSTILE[1], HOSTILE[0]]
    assert values["subplot_titles"] == names
    assert values["ticks"] == names
    assert values["hover"].startswith(HOSTILE[0])
    lines = result.inner_text.splitlines()
    for text in HOSTILE[:7]:
        assert text in result.inner_text, text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in result.inner_text  # an escaped text stays escaped: no double decode
    assert HOSTILE[3] in lines  # the hostile link's whole tag is a line of text in the notes


def test_the_page_opens_with_nothing_beside_it(browser, tmp_path):
    """The file alone, copied to an empty folder, draws all its figures: nothing relative, nothing remote."""
    written = _page(tmp_path / "built", title="Copied report", topics=_topics(),
                    sections=[("Top words", _barchart()), ("Documents", _documents_map(["a", "b"]))])
    copy = tmp_path / "elsewhere" / "sent by mail.html"
    copy.parent.mkdir()
    shutil.copyfile(written, copy)
    written.unlink()

    result = browser.render_page(copy)

    _assert_clean(result)
    assert result.figure_count == 2
    assert "Copied report" in result.inner_text
    references = _References()
    references.feed(copy.read_text(encoding="utf-8"))
    assert references.sources == [] and all(href.startswith("#") for href in references.hrefs), references.hrefs


class _References(HTMLParser):
    """Every src and href of the page's elements (script bodies are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "src":
                self.sources.append(str(value))
            elif name == "href":
                self.hrefs.append(str(value))


# The page as text: no browser needed


def test_figure_json_cannot_end_its_script_element():
    text = '{"t": "</script><!-- & \u2028\u2029 >"}'
    escaped = escape_json_for_script(text)
    assert not any(char in escaped for char in "<>&\u2028\u2029")
    assert json.loads(escaped) == json.loads(text)


def test_the_page_holds_plotly_once_and_a_policy_against_fetching():
    from plotly.offline import get_plotlyjs

    page = report_page(title="t", topics=_topics(), sections=[("a", _heatmap()), ("b", _heatmap())])
    assert page.count(get_plotlyjs()) == 1
    assert page.count('<script type="text/javascript">') == 1
    assert page.count('<script type="application/json"') == 2
    assert page.index("Content-Security-Policy") < page.index("<script")
    assert "default-src 'none'" in page and "cdn" not in page[: page.index("<script")].lower()


@pytest.mark.parametrize(("value", "documents", "expected"), [
    # words: one comma-separated line
    (["space", "nasa"], False, "<td>space, nasa</td>"),
    # floats rounded to four significant digits, right-aligned; integers as they are
    (0.123456789, False, '<td class="number">0.1235</td>'),
    (np.int64(1200), False, '<td class="number">1200</td>'),
    # an empty value is an empty cell, never "None" or "nan"
    (None, False, "<td></td>"),
    (float("nan"), False, "<td></td>"),
    # a short document whole, escaped
    (["<b>hi</b>"], True, '<td><div class="doc">&lt;b&gt;hi&lt;/b&gt;</div></td>'),
])
def test_table_cells(value, documents, expected):
    frame = pd.DataFrame({"docs" if documents else "x": [value]})
    assert expected in table_html(frame)


def test_a_long_document_is_clipped_with_the_full_text_one_click_away():
    document = "word " * 200 + "<end>"
    cell = table_html(pd.DataFrame({"representative_docs": [[document]]}), clip=50)
    summary = cell[cell.index("<summary>") + 9: cell.index("</summary>")]
    assert summary == html.escape(document[:50].strip()) + "\u2026"
    assert html.escape(document.strip()) in cell


def test_the_page_is_written_atomically(tmp_path, monkeypatch):
    target = write_report_page("<p>caf\u00e9 \udcff</p>", tmp_path / "out" / "report.html")
    assert target.read_text(encoding="utf-8") == "<p>caf\u00e9 \ufffd</p>"

    def broken_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report_page("<p>new</p>", target)
    assert target.read_text(encoding="utf-8") == "<p>caf\u00e9 \ufffd</p>"
    assert [path.name for path in target.parent.iterdir()] == ["report.html"]
