"""What every figure shares: text made safe to show, and topic labels as BERTopic writes them."""

from __future__ import annotations

import html
from collections.abc import Sequence


def escape_text(text: object, *, limit: int | None = None) -> str:
    """``text`` as plain characters for a figure's hover or label (plotly reads a subset of HTML, so a
    document's ``<script>`` or ``<img onerror=...>`` would otherwise become markup); ``limit`` cuts long
    documents to that many characters first, with an ellipsis."""
    value = "" if text is None else str(text)
    if limit is not None and len(value) > limit:
        value = value[:limit].rstrip() + "..."
    # quotes stay as they are: plotly draws text into SVG nodes (a quote cannot end an attribute there)
    # and decodes only a few named entities, so &quot; would show literally
    return html.escape(value, quote=False)


def words_label(topic_id: int, words: Sequence[str], n_words: int = 3, separator: str = "_") -> str:
    """``"<id>_word_word_word"``: BERTopic's default label of a topic in its figures."""
    return separator.join([str(topic_id), *[w for w in list(words)[:n_words] if w]])
