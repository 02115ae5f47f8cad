"""The token-level topic distribution of one document as a styled table (BERTopic's
``visualize_approximate_distribution``).

Rows are topics, columns the document's tokens, cells how much each token belongs to each topic, shaded
blue; topics with no weight on any token are left out. Returned as a pandas ``Styler`` as BERTopic does
(``styler.data`` is the plain table). Token and topic labels are escaped when the table is rendered as
HTML, so a document's markup shows as text in a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from topic_pipeline.errors import ModelArgumentError


def token_topic_frame(tokens: Sequence[str], topic_token_distribution: np.ndarray, topic_labels: Sequence[str],
                      normalize: bool = False) -> pd.DataFrame:
    """The plain table: one row per topic with any weight, one column per token.

    Columns are the tokens, the i-th followed by i spaces, which keeps repeated tokens apart as BERTopic
    does (``[c.strip() for c in frame.columns]`` gives the tokens back).

    Parameters
    ----------
    tokens : the document's tokens (the vectorizer's tokenizer), n_tokens of them
    topic_token_distribution : ndarray of shape (n_tokens, n_topics), from ``approximate_distribution``
        with ``calculate_tokens=True``
    topic_labels : the n_topics labels of the columns (the topics' labels, outliers excluded)
    normalize : divide by the total so that all cells sum to 1

    Raises
    ------
    ModelArgumentError
        When the document has no token, or the shapes of the tokens, distribution and labels disagree.
    """
    if len(tokens) == 0:
        raise ModelArgumentError("Make sure that the document contains at least 1 token.")
    values = np.asarray(topic_token_distribution, dtype=float)
    if values.ndim != 2 or values.shape != (len(tokens), len(topic_labels)):
        raise ModelArgumentError(
            f"topic_token_distribution must have shape (n_tokens, n_topics) = ({len(tokens)}, {len(topic_labels)}) "
            f"for this document and model; got {values.shape}. Pass the array of the same document."
        )
    if normalize:
        values = values / values.sum()
    frame = pd.DataFrame(values.T, index=list(topic_labels), columns=[f"{t}{' ' * i}" for i, t in enumerate(tokens)])
    return frame.loc[frame.sum(axis=1) != 0]


def approximate_distribution_table(tokens: Sequence[str], topic_token_distribution: np.ndarray,
                                   topic_labels: Sequence[str], normalize: bool = False):
    """BERTopic's styled table: 3 decimals, a blue gradient over the whole table, zero cells blank (white).

    Returns the plain (empty) DataFrame when no topic has weight, as BERTopic does, else a ``Styler``.
    """
    frame = token_topic_frame(tokens, topic_token_distribution, topic_labels, normalize)
    if frame.empty:
        return frame

    def zero_cells_white(data: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(np.where(data == 0, "background-color: white", ""), index=data.index, columns=data.columns)

    return (
        frame.style.format("{:.3f}")
        .format_index(escape="html", axis=0)
        .format_index(escape="html", axis=1)
        .background_gradient(cmap="Blues", axis=None)
        .map(lambda value: "color: white" if value == 0 else "color: black")
        .apply(zero_cells_white, axis=None)
    )
