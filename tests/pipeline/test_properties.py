"""Property-based tests: random small corpora and random valid params through the stage functions.

Hypothesis writes random corpora (random unicode, empty and whitespace-only
texts, repeated texts, sentences from a small vocabulary so that topics form;
ids that repeat or are empty; timestamps that are missing, equal, out of order,
naive or tz-aware, placeholder dates such as 0001-01-01; labels that are missing
or of mixed types) as Parquet, CSV or JSON Lines, plus an inbox file, loads them
with ``load_documents`` and runs the model stages' pure functions on them,
composed the way ``topic_pipeline/stages/model.py`` and ``stages/describe.py``
compose them, with random params the param models accept.

The property: every exception raised is a ``TopicPipelineError``. Anything
else fails the test and Hypothesis shows the example that raised it.

Embeddings are deterministic random unit vectors (one per distinct text,
pulled towards the vocabulary group a text's words come from), reduction is
PCA or none (no UMAP: its numba compilation costs ~30 s per process),
clustering is HDBSCAN, KMeans or the labels. Examples are derandomized and no
example database is kept, so CI runs the same examples every time.

Bugs it found have a regression test each below (hdbscan's single-cluster
KeyError, hdbscan#388, is handled by ``soft_clustering.cluster_memberships``).
"""

from __future__ import annotations

import json
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from topic_pipeline.core.clustering import fit_clusterer, is_hdbscan
from topic_pipeline.core.ctfidf import ctfidf_weights
from topic_pipeline.core.hierarchy import build_hierarchy, topic_tree
from topic_pipeline.core.over_time import bin_timestamps, topics_per_group
from topic_pipeline.core.reduction import fit_reducer
from topic_pipeline.core.soft_clustering import cluster_memberships
from topic_pipeline.core.topic_ids import renumber_by_frequency, topic_sizes
from topic_pipeline.core.topic_words import representative_documents, topic_name
from topic_pipeline.core.vectorize import make_vectorizer, vectorize_topics
from topic_pipeline.errors import ParamsError, StageInputError, TopicPipelineError
from topic_pipeline.params import (
    ClusteringParams,
    CorpusParams,
    CtfidfParams,
    HierarchyParams,
    OutlierParams,
    OverTimeParams,
    ReductionParams,
    RepresentationParams,
    TopicsParams,
    VectorizerParams,
    parse_params,
)
from topic_pipeline.pipeline.corpus import LoadedDocuments, load_documents
from topic_pipeline.pipeline.stages.modeling import document_labels
from topic_pipeline.representation.describe import (
    describe_topics,
    main_words_and_aspects,
    reassign_outliers,
    reduce_topic_ids,
)

# degenerate inputs (one document, duplicate points) make scikit-learn warn; that is expected here
pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:Number of distinct clusters")]

PROPERTY_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# --- corpora -------------------------------------------------------------------------------------
VOCABULARY_GROUPS = (
    ("space", "orbit", "rocket", "nasa", "launch", "moon", "shuttle"),
    ("hockey", "goal", "season", "team", "player", "league", "score"),
    ("windows", "driver", "card", "disk", "software", "file", "memory"),
    ("god", "faith", "church", "bible", "belief", "religion", "truth"),
)
ALL_WORDS = tuple(word for group in VOCABULARY_GROUPS for word in group)
EMBEDDING_DIM = 8
_CENTROIDS = np.random.default_rng(0).normal(size=(len(VOCABULARY_GROUPS), EMBEDDING_DIM))


@st.composite
def topical_sentences(draw) -> str:
    group = draw(st.sampled_from(VOCABULARY_GROUPS))
    words = draw(st.lists(st.sampled_from(group), min_size=1, max_size=8))
    noise = draw(st.lists(st.sampled_from(ALL_WORDS + ("the", "and", "is", "a", "Of", "WINDOWS!")), max_size=2))
    separator = draw(st.sampled_from([" ", "  ", "\n", ", ", "\t"]))
    return separator.join(words + noise)


texts_pool = st.lists(
    st.one_of(
        topical_sentences(),
        topical_sentences(),
        topical_sentences(),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),  # any unicode (no lone surrogates)
        st.sampled_from(["", " ", "   ", "\n", "\t\n ", "\u3000", "\u00a0"]),  # empty and whitespace-only
        st.sampled_from(["日本語のテキスト", "Привет мир", "¿qué?", "!!! ???", "12345 678", "naïve café", "a", "I"]),
    ),
    min_size=1,
    max_size=15,
)
timestamp_values = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["2024-03-01", "2024-03-01T12:00:00Z", "2024-03-01 12:00:00+02:00", "2023-12-31T23:59:59",
                     "1999-01-01T00:00:00-05:00", "2024-03-01T12:00:00.123456Z"]),
    st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2030-01-01").to_pydatetime()).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999", "1600-06-01",
                     "2024-01-01T00:00:00.000001Z", "2024-01-01T00:00:00.000002+00:00"]),  # placeholders, extremes
)
label_values = st.one_of(st.none(), st.just(""), st.sampled_from(["sci.space", "rec.hockey", "comp", "-1", "0", "3",
                                                                  "2.0", "nan"]),
                         st.integers(-3, 5), st.floats(allow_nan=False, allow_infinity=False, width=32),
                         st.booleans(), st.text(max_size=5))


@dataclass
class Corpus:
    """One random corpus: its rows and how it is written."""

    rows: list[dict]
    file_format: str
    columns: dict[str, str | None]  # our setting -> the column name written (None = column not written)
    explicit_columns: bool
    inbox_rows: list[dict]
    deduplicate: str
    limit: int | None


@st.composite
def corpora(draw) -> Corpus:
    pool = draw(texts_pool)
    size = draw(st.sampled_from(["medium", "medium", "medium", "medium", "medium", "medium", "small", "empty"]))
    n_documents = {"empty": 0, "small": draw(st.integers(1, 9)), "medium": draw(st.integers(10, 60))}[size]
    texts = [draw(st.sampled_from(pool)) for _ in range(n_documents)]
    id_mode = draw(st.sampled_from(["none", "unique", "unique", "repeated_rows", "small_alphabet", "with_empty"]))
    rows: list[dict] = [{"text": text} for text in texts]
    if id_mode != "none":
        for i, row in enumerate(rows):
            row["doc_id"] = f"d{i}"
        if id_mode == "repeated_rows" and rows:  # the same (id, text) twice: one document
            rows += [dict(rows[draw(st.integers(0, len(rows) - 1))]) for _ in range(draw(st.integers(1, 3)))]
        elif id_mode == "small_alphabet":  # repeats, usually with another text: a corpus error
            for row in rows:
                row["doc_id"] = draw(st.sampled_from(["a", "b", "c", "1", ""]))
        elif id_mode == "with_empty" and rows:
            rows[draw(st.integers(0, len(rows) - 1))]["doc_id"] = ""
    if draw(st.booleans()):
        stamp_mode = draw(st.sampled_from(["random", "random", "equal", "all_missing", "out_of_order",
                                           "microseconds_apart"]))
        for i, row in enumerate(rows):
            if stamp_mode == "random":
                row["timestamp"] = draw(timestamp_values)
            elif stamp_mode == "equal":
                row["timestamp"] = "2024-01-01T00:00:00Z"
            elif stamp_mode == "all_missing":
                row["timestamp"] = None
            elif stamp_mode == "microseconds_apart":
                row["timestamp"] = f"2024-01-01T00:00:00.{i % 3:06d}Z"
            else:  # out_of_order: days 1, 8, 15, 22, 1, 8, ... repeating
                row["timestamp"] = f"2024-01-{1 + (i * 7) % 28:02d}"
    if draw(st.booleans()):
        for row in rows:
            row["label"] = draw(label_values)
    file_format = draw(st.sampled_from(["parquet", "csv", "jsonl"]))
    explicit = draw(st.booleans())
    present = {key for row in rows for key in row}
    columns = {
        "text_column": "body" if explicit else "text",
        "id_column": ("id" if explicit else "doc_id") if "doc_id" in present else None,
        "timestamp_column": ("when" if explicit else "timestamp") if "timestamp" in present else None,
        "label_column": ("class" if explicit else "label") if "label" in present else None,
    }
    inbox_rows = []
    if rows and draw(st.booleans()):  # some repeats (or id clashes) arrive through the inbox
        for _ in range(draw(st.integers(1, 4))):
            row = dict(draw(st.sampled_from(rows)))
            if draw(st.booleans()):
                row["doc_id" if "doc_id" in row else "text"] = draw(st.sampled_from(["inbox-1", "inbox-2"]))
            if "doc_id" not in present:
                row.pop("doc_id", None)
            inbox_rows.append(row)
    limit = draw(st.one_of(st.none(), st.integers(1, 70)))
    return Corpus(rows, file_format, columns, explicit, inbox_rows, draw(st.sampled_from(["inbox", "all", "none"])),
                  limit)


_FIELD_OF = {"text_column": "text", "id_column": "doc_id", "timestamp_column": "timestamp", "label_column": "label"}


def write_corpus(rows: list[dict], corpus: Corpus, path: Path) -> Path:
    """Write ``rows`` in ``corpus.file_format`` with ``corpus.columns`` as column names."""
    renamed = [{corpus.columns[s]: row.get(f) for s, f in _FIELD_OF.items() if corpus.columns[s] is not None}
               for row in rows]
    names = [corpus.columns[s] for s in _FIELD_OF if corpus.columns[s] is not None]
    path = path.with_suffix("." + corpus.file_format)
    if corpus.file_format == "jsonl":  # values keep their JSON types (mixed labels stay mixed)
        path.write_text("".join(json.dumps(row) + "\n" for row in renamed), encoding="utf-8")
        return path
    frame = pd.DataFrame(renamed, columns=names)
    if corpus.file_format == "csv":
        frame.to_csv(path, index=False)
        return path
    for setting in ("timestamp_column", "label_column"):  # Parquet columns have one type
        name = corpus.columns[setting]
        if name is not None:
            frame[name] = pd.Series([None if v is None else str(v) for v in
                                     (row.get(_FIELD_OF[setting]) for row in rows)], dtype=object)
    stamps = corpus.columns["timestamp_column"]
    if stamps is not None and len(frame) and len(frame) % 2:  # sometimes a real datetime column, naive or UTC
        parsed = pd.to_datetime(frame[stamps], utc=True, errors="coerce", format="mixed")
        frame[stamps] = parsed.dt.tz_localize(None) if len(frame) % 4 == 1 else parsed
    frame.to_parquet(path, index=False)
    return path


def load(corpus: Corpus, folder: Path) -> LoadedDocuments:
    source = write_corpus(corpus.rows, corpus, folder / "corpus")
    inbox = folder / "inbox"
    inbox.mkdir()
    if corpus.inbox_rows:
        write_corpus(corpus.inbox_rows, corpus, inbox / "batch1")
    explicit = {s: corpus.columns[s] for s in _FIELD_OF} if corpus.explicit_columns else {}
    params = CorpusParams(source=str(source), inbox=str(inbox), deduplicate=corpus.deduplicate, limit=corpus.limit,
                          **explicit)
    return load_documents(params)


def fake_embeddings(texts: list[str]) -> np.ndarray:
    """A unit vector per distinct text (same text, same vector), pulled towards its words' groups."""
    vectors = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        rng = np.random.default_rng(zlib.crc32(text.encode("utf-8", "replace")))
        words = text.lower().split()
        pull = sum(_CENTROIDS[g] * sum(w in group for w in words) for g, group in enumerate(VOCABULARY_GROUPS))
        vector = 3 * np.asarray(pull, dtype=np.float64) + rng.normal(size=EMBEDDING_DIM)
        vectors[row] = vector / (np.linalg.norm(vector) or 1.0)
    return vectors


class _DocumentsContext:
    """What ``stages.modeling.document_labels`` reads from a step context: the documents table."""

    def __init__(self, documents: pd.DataFrame) -> None:
        self.table = documents

    def documents(self, columns: list[str] | None = None) -> pd.DataFrame:
        return self.table if columns is None else self.table.loc[:, columns]


# --- params --------------------------------------------------------------------------------------
@dataclass
class ModelParams:
    reduction: ReductionParams
    clustering: ClusteringParams
    topics: TopicsParams
    vectorizer: VectorizerParams
    ctfidf: CtfidfParams
    representation: RepresentationParams
    hierarchy: HierarchyParams
    over_time: OverTimeParams


@st.composite
def model_params(draw) -> ModelParams:
    low = draw(st.integers(1, 2))
    reduction = ReductionParams(method=draw(st.sampled_from(["pca", "pca", "none"])),
                                n_components=draw(st.sampled_from([1, 2, 2, 2, 3, 3, 3, 5, 5, 9])),
                                supervised=draw(st.booleans()))
    clustering = ClusteringParams(
        method=draw(st.sampled_from(["hdbscan", "hdbscan", "kmeans", "labels"])),
        n_clusters=draw(st.integers(1, 8)),
        min_cluster_size=draw(st.integers(2, 8)),
        min_samples=draw(st.one_of(st.none(), st.integers(1, 6))),
        cluster_selection_method=draw(st.sampled_from(["eom", "leaf"])),
        cluster_selection_epsilon=draw(st.sampled_from([0.0, 0.0, 0.2])),
        allow_single_cluster=draw(st.booleans()),
        calculate_probabilities=draw(st.booleans()),
    )
    outliers = draw(st.one_of(st.none(), st.builds(
        OutlierParams, strategy=st.sampled_from(["probabilities", "distributions", "c-tf-idf", "embeddings"]),
        threshold=st.sampled_from([0.0, 0.0, 0.1, 0.5]))))
    topics = TopicsParams(nr_topics=draw(st.one_of(st.none(), st.none(), st.integers(2, 5), st.just("auto"))),
                          use_ctfidf=draw(st.booleans()), outliers=outliers)
    stop_words = draw(st.sampled_from([None, None, None, "english", "english", "words", "words", "words"]))
    if stop_words == "words":
        stop_words = draw(st.lists(st.sampled_from(ALL_WORDS), max_size=10))
    vectorizer = VectorizerParams(
        ngram_range=(low, draw(st.integers(low, 3))),
        stop_words=stop_words,
        min_df=draw(st.sampled_from([1] * 8 + [2, 0.1, 0.5, 1.0])),
        max_df=draw(st.sampled_from([1.0, 1.0, 1.0, 0.9, 0.5, 3])),
        max_features=draw(st.one_of(st.none(), st.integers(1, 20))),
        lowercase=draw(st.booleans()),
        language=draw(st.sampled_from(["english", "none"])),
    )
    ctfidf = CtfidfParams(bm25_weighting=draw(st.booleans()), reduce_frequent_words=draw(st.booleans()),
                          seed_words=draw(st.lists(st.sampled_from(ALL_WORDS), max_size=3)),
                          seed_multiplier=draw(st.sampled_from([2.0, 0.5, 1.0])))
    aspects = draw(st.sampled_from([{}, {}, {}, {"MMR": {"type": "MaximalMarginalRelevance", "diversity": 0.3}},
                                    {"Main": "KeyBERTInspired"}, {"Plain": None}]))
    representation = RepresentationParams(top_n_words=draw(st.integers(1, 15)), nr_repr_docs=draw(st.integers(1, 4)),
                                          nr_repr_samples=draw(st.integers(1, 30)), name_words=draw(st.integers(1, 5)),
                                          aspects=aspects)
    hierarchy = HierarchyParams(linkage=draw(st.sampled_from(["ward", "average", "complete", "single"])),
                                name_words=draw(st.integers(1, 6)))
    over_time = OverTimeParams(nr_bins=draw(st.one_of(st.none(), st.integers(1, 6))),
                               global_tuning=draw(st.booleans()), evolution_tuning=draw(st.booleans()),
                               top_n_words=draw(st.integers(5, 12)))
    return ModelParams(reduction, clustering, topics, vectorizer, ctfidf, representation, hierarchy, over_time)


# --- the stages, composed as stages/model.py and stages/describe.py compose them ---------------------
def run_model_stages(docs: pd.DataFrame, p: ModelParams) -> None:
    """reduced_embeddings -> clusters -> topic_assignments -> vectorized_bags -> ctfidf -> describe stages."""
    texts = docs["text"].tolist()
    doc_ids = docs["doc_id"]
    embeddings = fake_embeddings(texts)
    labels_ctx = _DocumentsContext(docs)

    # reduced_embeddings
    event("reached reduced_embeddings")
    y = document_labels(labels_ctx, doc_ids) if p.reduction.supervised else None
    _, reduced = fit_reducer(embeddings, p.reduction, y=y)
    assert reduced.shape[0] == len(docs) and np.isfinite(reduced).all()

    # clusters
    event("reached clusters")
    given = document_labels(labels_ctx, doc_ids) if p.clustering.method == "labels" or p.reduction.supervised else None
    model, labels, probabilities = fit_clusterer(reduced, p.clustering, labels=given)
    assert labels.shape == (len(docs),) and probabilities.shape == (len(docs),)
    membership = None
    if p.clustering.calculate_probabilities and model is not None and is_hdbscan(model):
        membership = cluster_memberships(model)
        assert membership.shape[0] == len(docs)

    # topic_assignments
    event("reached topic_assignments")
    settings_ = p.topics
    n_clusters = len(set(labels.tolist()) - {-1}) + int((labels == -1).any())
    reduce = settings_.nr_topics == "auto" or (settings_.nr_topics is not None and settings_.nr_topics < n_clusters)
    if reduce:
        mapping = {int(c): int(c) for c in np.unique(labels)}
    else:
        _, mapping = renumber_by_frequency(labels)
    mapping.setdefault(-1, -1)
    topics = np.array([mapping[int(c)] for c in labels], dtype=np.int64)
    if reduce:
        remap = reduce_topic_ids(texts, topics, settings_.nr_topics, embeddings, use_ctfidf=settings_.use_ctfidf,
                                 vectorizer=p.vectorizer, ctfidf=p.ctfidf)
        mapping = {c: remap.mapping.get(t, t) for c, t in mapping.items()}
        topics = remap.topics
    if membership is not None:
        from topic_pipeline.core.soft_clustering import map_memberships

        membership = map_memberships(membership, mapping)
    if settings_.outliers is not None and (topics == -1).any():
        topics = reassign_outliers(texts, topics, settings_.outliers.strategy, settings_.outliers.threshold,
                                   vectorizer=p.vectorizer, ctfidf=p.ctfidf, embeddings=embeddings,
                                   probabilities=membership)
    assert topics.shape == (len(docs),) and topics.min() >= -1

    # vectorized_bags, ctfidf
    event("reached vectorized_bags")
    bags = vectorize_topics(texts, topics, p.vectorizer)
    assert bags.doc_term_counts.shape == (len(docs), len(bags.vocabulary))
    idf, weights = ctfidf_weights(bags.topic_term_counts, bags.vocabulary, p.ctfidf)
    assert weights.shape == bags.topic_term_counts.shape and np.isfinite(weights.data).all()

    # topic_representations
    event("reached topic_representations")
    rfw = p.ctfidf.reduce_frequent_words
    r = p.representation
    main, aspects = main_words_and_aspects(weights, bags, idf, topics, texts, r, reduce_frequent_words=rfw,
                                           embed=fake_embeddings if r.aspects else None,
                                           embeddings=embeddings if r.aspects else None)
    words = [main[int(t)] for t in bags.topic_ids]
    representative = representative_documents(topics, bags.topic_ids, bags.doc_term_counts, weights, idf,
                                              reduce_frequent_words=rfw, n_samples=r.nr_repr_samples,
                                              n_docs=r.nr_repr_docs)
    sizes = topic_sizes(topics)
    for topic, topic_words in zip(bags.topic_ids, words, strict=True):
        assert sizes[int(topic)] >= 1 and (len(topic_words) == r.top_n_words or "Main" in r.aspects)
        topic_name(int(topic), topic_words, r.name_words)
        docs["text"].iloc[representative[int(topic)]].tolist()
        assert all(topics[row] == topic for row in representative[int(topic)])

    # topic_hierarchy
    event("reached topic_hierarchy")
    if (bags.topic_ids != -1).sum() >= 2:
        tree = build_hierarchy(bags.topic_ids, bags.topic_term_counts, weights, idf, bags.vocabulary,
                               reduce_frequent_words=rfw, name_words=p.hierarchy.name_words, method=p.hierarchy.linkage)
        assert len(tree) == (bags.topic_ids != -1).sum() - 1
        topic_tree(tree)

    # topics_over_time and topics_per_class (the fitted vocabulary and idf, per group)
    event("reached topics_over_time")
    vectorizer = make_vectorizer(p.vectorizer).set_params(vocabulary=bags.vocabulary.astype(str).tolist())
    grouped = dict(vectorizer=vectorizer, language=p.vectorizer.language, idf=idf, reduce_frequent_words=rfw,
                   topic_ids=bags.topic_ids, global_ctfidf=weights, global_tuning=p.over_time.global_tuning,
                   top_n_words=p.over_time.top_n_words)
    undated = int(docs["timestamp"].isna().sum())
    bins = bin_timestamps(docs["timestamp"], p.over_time.nr_bins) if undated < len(docs) else docs["timestamp"]
    over_time = topics_per_group(texts, topics, list(bins), evolution_tuning=p.over_time.evolution_tuning,
                                 state={"previous": {}}, **grouped)
    over_time = over_time.rename(columns={"group": "timestamp"})
    over_time["timestamp"] = pd.to_datetime(over_time["timestamp"], utc=True)
    assert over_time["frequency"].sum() == len(docs) - undated
    classes = docs["label"].astype(object).where(docs["label"].notna(), None)
    per_class = topics_per_group(texts, topics, list(classes), evolution_tuning=False, **grouped)
    per_class["group"].astype(str)
    assert per_class["frequency"].sum() == int(docs["label"].notna().sum())


def check_corpus(documents: pd.DataFrame) -> None:
    """What load_documents promises about the table it returns."""
    assert len(documents) >= 1
    assert documents["doc_id"].is_unique
    assert all(isinstance(text, str) for text in documents["text"])
    assert str(documents["timestamp"].dtype) == "datetime64[us, UTC]"


@PROPERTY_SETTINGS
@given(corpus=corpora(), params=model_params())
def test_random_corpora_and_params_raise_only_pipeline_errors(corpus: Corpus, params: ModelParams) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            loaded = load(corpus, Path(folder))
        except TopicPipelineError as exc:
            note(f"load_documents: {type(exc).__name__}: {exc}")
            return
        check_corpus(loaded.documents)
        note(f"{len(loaded.documents)} documents, {len(loaded.links)} links, skipped {loaded.skipped_files}")
        try:
            run_model_stages(loaded.documents, params)
        except TopicPipelineError as exc:
            note(f"model stages: {type(exc).__name__}: {exc}")
            return
        event("reached the end")


timestamp_lists = st.lists(
    st.one_of(st.none(), st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
                                      max_value=pd.Timestamp("2200-01-01").to_pydatetime())),
    min_size=1, max_size=30,
)


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(stamps=timestamp_lists, nr_bins=st.integers(1, 30), unit=st.sampled_from(["us", "ns"]), utc=st.booleans())
def test_bin_timestamps_gives_every_timestamp_the_left_edge_pandas_cut_gives(stamps, nr_bins, unit, utc):
    timestamps = pd.Series(pd.to_datetime(stamps)).astype(f"datetime64[{unit}]")
    if utc:
        timestamps = timestamps.dt.tz_localize("UTC")
    binned = bin_timestamps(timestamps, nr_bins)
    assert binned.isna().equals(timestamps.isna())
    assert (binned[timestamps.notna()] <= timestamps[timestamps.notna()]).all()
    if timestamps.notna().any():
        try:
            cut = pd.cut(timestamps, bins=nr_bins)
        except ValueError:  # pandas refuses equal edges (timestamps a few units apart); we do not
            return
        expected = pd.Series([i.left if isinstance(i, pd.Interval) else pd.NaT for i in cut], index=timestamps.index)
        kept = expected.notna()  # pandas.cut can leave the latest timestamp out; we give it the last bin
        assert (binned[kept] == expected[kept]).all()


topic_arrays = st.lists(st.integers(-1, 5), min_size=0, max_size=25).map(lambda t: np.array(t, dtype=np.int64))


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(topics=topic_arrays, groups=st.one_of(
    st.lists(st.integers(-2, 7), max_size=4),
    st.lists(st.lists(st.integers(-1, 7), max_size=3), max_size=3),
    st.lists(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), max_size=2), st.booleans(), st.text(max_size=2)),
             max_size=3)))
def test_merging_random_topic_groups_renumbers_or_raises_a_stage_input_error(topics, groups):
    from topic_pipeline.core.topic_reduction import merge_topic_ids

    try:
        remap = merge_topic_ids(topics, groups)
    except TopicPipelineError:
        return
    kept = sorted(set(remap.topics.tolist()) - {-1})
    assert kept == list(range(len(kept)))
    assert ((remap.topics == -1) == (topics == -1)).all()


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(topics=topic_arrays, strategy=st.sampled_from(["probabilities", "distributions", "c-tf-idf", "embeddings"]),
       rows=st.integers(0, 25), columns=st.integers(0, 7), threshold=st.sampled_from([0.0, 0.3, 2.0]),
       seed=st.integers(0, 2**16))
def test_reducing_outliers_with_random_matrices_moves_only_outliers(topics, strategy, rows, columns, threshold, seed):
    from topic_pipeline.core.outliers import reduce_outliers

    rng = np.random.default_rng(seed)
    document_rows = rng.random((rows, 4)) * (rng.random((rows, 1)) > 0.3)
    topic_rows = rng.random((columns, 4))
    inputs = {"probabilities": {"probabilities": rng.random((rows, columns))},
              "distributions": {"distributions": rng.random((rows, columns)) * (rng.random((rows, 1)) > 0.3)},
              "c-tf-idf": {"document_ctfidf": sp.csr_matrix(document_rows), "topic_ctfidf": sp.csr_matrix(topic_rows)},
              "embeddings": {"document_embeddings": document_rows, "topic_embeddings": topic_rows}}[strategy]
    try:
        new = reduce_outliers(topics, strategy, threshold, **inputs)
    except TopicPipelineError:
        return
    assert new.shape == topics.shape
    assert (new[topics != -1] == topics[topics != -1]).all()
    assert new.max(initial=-1) < max(columns, topics.max(initial=-1) + 1)


# --- regression tests for what the properties found ------------------------------------------------
def test_kmeans_with_fewer_documents_than_clusters_is_a_stage_input_error():
    with pytest.raises(StageInputError, match="n_clusters=3"):
        fit_clusterer(np.zeros((2, 2)), ClusteringParams(method="kmeans", n_clusters=3))


def test_pca_with_more_components_than_documents_or_dimensions_is_a_stage_input_error():
    with pytest.raises(StageInputError, match="n_components=3"):
        fit_reducer(fake_embeddings(["a", "b"]), ReductionParams(method="pca", n_components=3))
    with pytest.raises(StageInputError, match="n_components=9"):
        fit_reducer(fake_embeddings([str(i) for i in range(20)]), ReductionParams(method="pca", n_components=9))


def test_hdbscan_with_fewer_documents_than_min_samples_is_a_stage_input_error():
    reduced = fake_embeddings(["a", "b", "c", "d", "e"])
    with pytest.raises(StageInputError, match="min_samples=6"):
        fit_clusterer(reduced, ClusteringParams(min_cluster_size=2, min_samples=6), prediction_data=True)


@pytest.mark.parametrize("strategy", ["embeddings", "c-tf-idf", "distributions"])
def test_outliers_stay_outliers_when_there_is_no_topic_to_move_them_to(strategy):
    texts = ["space rocket launch", "hockey goal team", "space moon orbit"]
    topics = np.array([-1, -1, -1])
    reassigned = reassign_outliers(texts, topics, strategy, 0.0, vectorizer=VectorizerParams(), ctfidf=CtfidfParams(),
                                   embeddings=fake_embeddings(texts))
    assert reassigned.tolist() == [-1, -1, -1]


@pytest.mark.parametrize("method", ["ward", "average", "complete", "single"])
def test_hierarchy_of_topics_with_proportional_word_weights(method):
    # 1 - cosine of proportional rows is -2.2e-16 here, which scipy's optimal ordering refused
    weights = sp.csr_matrix(np.array([[2.0, 0.5, 0.5], [2.0, 0.5, 0.5], [1.0, 0.25, 0.25], [0.1, 0.6, 0.6]]))
    tree = build_hierarchy(np.arange(4), weights, weights, np.ones(3), np.array(["a", "b", "c"]),
                           reduce_frequent_words=False, method=method)
    assert len(tree) == 3 and (tree["distance"] >= 0).all()


def test_bin_timestamps_with_placeholder_and_microsecond_apart_dates():
    placeholder = pd.Series(pd.to_datetime(["0001-01-01", "2024-03-01", None], utc=True, format="mixed"))
    binned = bin_timestamps(placeholder.astype("datetime64[us, UTC]"), 3)  # pandas.cut: 1970 edges or ValueError
    assert binned.iloc[0] == pd.Timestamp("0001-01-01", tz="UTC") and binned.iloc[1].year == 1349
    assert pd.isna(binned.iloc[2])
    same_day = bin_timestamps(pd.Series(pd.to_datetime(["0001-01-01", "0001-01-01"], utc=True, format="mixed")).astype(
        "datetime64[us, UTC]"), 2)
    assert (same_day == pd.Timestamp("0001-01-01", tz="UTC")).all()
    close = pd.Series(pd.to_datetime(["2024-01-01T00:00:00.000001", "2024-01-01T00:00:00"], utc=True,
                                     format="mixed")).astype("datetime64[us, UTC]")
    assert bin_timestamps(close, 20).notna().all()  # pandas.cut: "Bin edges must be unique"
    latest = pd.Series(pd.to_datetime(["2000-01-01", "2024-01-01 00:00:00.000000001"], format="mixed"))
    assert bin_timestamps(latest, 1).notna().all()  # pandas.cut leaves the latest (ns) timestamp out


def test_values_countvectorizer_refuses_are_params_errors():
    texts, topics = ["space rocket", "hockey goal"], np.array([0, 1])
    for settings_ in ({"min_df": 0}, {"stop_words": "french"}, {"max_df": 1.5}):  # refused with the params file
        with pytest.raises(ParamsError, match=f"vectorizer.{next(iter(settings_))}"):
            parse_params({"vectorizer": settings_})
    with pytest.raises(StageInputError, match="count topics"):
        vectorize_topics(texts, topics, VectorizerParams(min_df=3))


def test_keybert_without_candidate_words():
    # 4 topics, 2 words: the truncated mean words per topic is 0, so every idf and c-TF-IDF weight is 0
    texts = ["space rocket", " ", "  ", "\t"]
    description = describe_topics(texts, np.arange(4), vectorizer=VectorizerParams(), ctfidf=CtfidfParams(),
                                  representation=RepresentationParams(aspects={"Main": "KeyBERTInspired"}),
                                  embed=fake_embeddings)
    assert all(word == "" for words in description.words.values() for word, _ in words)


def test_single_cluster_and_no_cluster_memberships():
    """hdbscan#388 (KeyError for one selected cluster) and its 1-D result for no cluster, guarded."""
    import hdbscan

    points = np.random.default_rng(0).normal(size=(30, 2))
    single = hdbscan.HDBSCAN(min_cluster_size=5, allow_single_cluster=True, prediction_data=True).fit(points)
    assert set(single.labels_) <= {-1, 0}
    memberships = cluster_memberships(single)
    assert memberships.shape == (30, 1) and (memberships[single.labels_ == -1] == 0).all()
    none = hdbscan.HDBSCAN(min_cluster_size=25, prediction_data=True).fit(points[:26] * [1, 1000])
    if set(none.labels_) == {-1}:
        assert cluster_memberships(none).shape == (26, 0)


def test_huge_or_infinite_numeric_labels_stay_distinct_classes():
    """1e30, 2e30 and inf used to become one class, INT64_MIN."""
    frame = pd.DataFrame({"doc_id": ["a", "b", "c", "d", "e"], "label": ["1e30", "2e30", "3", None, "inf"]})
    classes = document_labels(_DocumentsContext(frame), frame["doc_id"])
    assert classes[3] == -1 and len({classes[i] for i in (0, 1, 2, 4)}) == 4
