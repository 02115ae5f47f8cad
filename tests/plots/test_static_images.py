"""Static PNG pictures for the Dagster UI: valid PNGs, small, and drawing the stored topics' names and words."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text
from PIL import Image

from topic_pipeline.plots import static_images

MAX_BYTES = 60_000


def _topics() -> pd.DataFrame:
    # sizes out of id order: the panels follow size, the outlier topic -1 never gets a panel
    return pd.DataFrame({"topic_id": [-1, 0, 1, 2, 3],
                         "size": [50, 30, 40, 10, 20],
                         "name": ["-1_the_of", "0_game_team", "1_$price$_cost", "2_god_jesus", "3_car_engine"]})


def _terms() -> pd.DataFrame:
    words = {-1: ["the", "of"], 0: ["game", "team", "season"], 1: ["$price$", "cost", "sale"],
             2: ["god", "jesus", "bible"], 3: ["car", "engine", "oil"]}
    rows = [(t, "Main", r, w, 1.0 / (r + 1)) for t, ws in words.items() for r, w in enumerate(ws)]
    rows += [(0, "KeyBERT", 0, "keybert_only", 0.9)]  # another aspect's words are not drawn
    return pd.DataFrame(rows, columns=["topic_id", "aspect", "rank", "term", "weight"])


def _texts(figure) -> list[str]:
    return [artist.get_text() for artist in figure.findobj(Text) if artist.get_text()]


def _assert_png(data: bytes) -> Image.Image:
    assert len(data) < MAX_BYTES
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    # not blank: more than a handful of colours are drawn
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 5
    return image


def test_topic_words_draws_the_largest_topics_top_main_words():
    figure = static_images.draw_topic_words(_terms(), _topics(), n_topics=3, n_words=2)
    texts = _texts(figure)
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == ["1_$price$_cost", "0_game_team", "3_car_engine"]  # by size, -1 left out
    words = [[label.get_text() for label in axes.get_yticklabels()] for axes in figure.axes]
    assert words == [["cost", "$price$"], ["team", "game"], ["engine", "car"]]  # top 2 by rank, best on top
    widths = [patch.get_width() for patch in figure.axes[1].patches]
    assert widths == pytest.approx([0.5, 1.0])
    assert "keybert_only" not in texts and "god" not in texts
    _assert_png(static_images.figure_png(figure))


def test_dollar_signs_are_drawn_as_text_not_mathtext():
    figure = static_images.draw_topic_words(_terms(), _topics(), n_topics=2, n_words=3)
    for artist in figure.findobj(Text):
        if "$" in artist.get_text():
            assert artist._preprocess_math(artist.get_text()) == (artist.get_text(), False)
    assert "1_$price$_cost" in _texts(figure)
    _assert_png(static_images.topic_words_png(_terms(), _topics()))


def test_topic_sizes_has_one_bar_per_topic_and_the_outliers_in_grey():
    figure = static_images.draw_topic_sizes(_topics())
    axes = figure.axes[0]
    assert [p.get_height() for p in axes.patches] == [50, 30, 40, 10, 20]
    colours = [to_hex(p.get_facecolor()) for p in axes.patches]
    assert colours[0] == static_images.OUTLIER_COLOUR and set(colours[1:]) == {static_images.BAR_COLOUR}
    assert [t.get_text() for t in axes.get_xticklabels()] == ["-1", "0", "1", "2", "3"]
    assert "Topic sizes (4 topics)" in _texts(figure)
    _assert_png(static_images.topic_sizes_png(_topics()))


def test_documents_map_colours_by_topic_greys_outliers_and_labels_the_topics():
    rng = np.random.default_rng(1)
    topic_ids = np.repeat([-1, 0, 1], [100, 300, 200])
    centres = {-1: (0.0, 0.0), 0: (10.0, 0.0), 1: (0.0, 10.0)}
    x = np.array([centres[t][0] for t in topic_ids]) + rng.normal(0, 0.5, len(topic_ids))
    y = np.array([centres[t][1] for t in topic_ids]) + rng.normal(0, 0.5, len(topic_ids))
    figure = static_images.draw_documents_map(x, y, topic_ids, {0: "0_<b>game</b>", 1: "1_$god$"})
    outliers, clustered = figure.axes[0].collections
    assert len(outliers.get_offsets()) == 100 and len(clustered.get_offsets()) == 500
    assert {to_hex(c) for c in outliers.get_facecolor()} == {static_images.OUTLIER_COLOUR}
    assert len({to_hex(c) for c in clustered.get_facecolor()}) == 2
    labels = {t.get_text(): t.get_position() for t in figure.axes[0].texts}
    assert set(labels) == {"0_<b>game</b>", "1_$god$"}  # drawn as text, outliers unlabelled
    assert labels["0_<b>game</b>"] == pytest.approx((10.0, 0.0), abs=0.2)
    _assert_png(static_images.documents_map_png(x, y, topic_ids, None))


def test_documents_map_of_many_documents_stays_small():
    rng = np.random.default_rng(2)
    n = 20_000
    topic_ids = rng.integers(-1, 40, n)
    data = static_images.documents_map_png(rng.normal(size=n), rng.normal(size=n), topic_ids)
    image = _assert_png(data)
    assert image.size == (480, 280)


@pytest.mark.parametrize("draw", [
    lambda: static_images.draw_topic_words(_terms().head(0), _topics().head(0)),
    lambda: static_images.draw_topic_sizes(_topics().head(0)),
    lambda: static_images.draw_documents_map(np.array([]), np.array([]), np.array([], int)),
], ids=["words", "sizes", "map"])
def test_an_empty_result_says_so_instead_of_failing(draw):
    assert any(text.startswith("no ") for text in _texts(draw()))


def test_documents_map_zooms_to_the_bulk_when_a_few_documents_lie_far_away():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=1000), rng.normal(size=1000)
    x[:3] = 1000.0  # a far island of three documents
    axes = static_images.draw_documents_map(x, y, np.zeros(1000, int)).axes[0]
    assert axes.get_xlim()[1] < 10 and axes.get_ylim()[1] < 10
    assert len(axes.collections[1].get_offsets()) == 1000  # all drawn, only the view is zoomed
