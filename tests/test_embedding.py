"""Embedding with the real default model (a few dozen documents) and the per-document cache."""

import numpy as np
import pandas as pd
import pytest

from topic_pipeline.embedding import load_precomputed
from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import parse_params
from topic_pipeline.runner import materialize_stage
from topic_pipeline.store import StageStore, vectors_from_column

from conftest import NEWSGROUPS


def _embed(store, corpus, run_id):
    params = parse_params({"corpus": {"source": str(corpus)}})
    materialize_stage("documents", params, store, run_id=run_id)
    return materialize_stage("embeddings", params, store, run_id=run_id)


def test_default_model_embeds_each_text_once(tmp_path):
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:40].tolist()
    corpus = tmp_path / "corpus.parquet"
    pd.DataFrame({"doc_id": [f"d{i}" for i in range(30)], "text": texts[:30]}).to_parquet(corpus)
    store = StageStore(tmp_path / "warehouse")

    first = _embed(store, corpus, "r1")
    assert first.computed and first.metadata["newly_embedded"] == len(set(texts[:30]))
    assert first.metadata["dimensions"] == 384
    vectors = pd.read_parquet(first.output_dir / "embeddings.parquet")
    reference = np.load(NEWSGROUPS.with_name("20newsgroups_minilm.npy"), mmap_mode="r")[:30]
    got = np.vstack(vectors["vector"].to_numpy())
    cosine = (got * reference).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() > 0.99  # the same model as the precomputed file (CPU float noise only)

    # 10 new documents plus one old text under a new id: only the 10 are embedded
    grown = pd.DataFrame({"doc_id": [f"d{i}" for i in range(40)] + ["copy-of-d3"], "text": texts + [texts[3]]})
    grown.to_parquet(corpus)
    second = _embed(store, corpus, "r2")
    assert second.computed and second.metadata["newly_embedded"] == len(set(texts[30:]) - set(texts[:30]))
    table = pd.read_parquet(second.output_dir / "embeddings.parquet")
    assert np.array_equal(table["vector"].iloc[40], table["vector"].iloc[3])
    assert np.array_equal(np.vstack(table["vector"].iloc[:30].to_numpy()), got)


def test_precomputed_files_must_align(tmp_path):
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    npy = tmp_path / "v.npy"
    np.save(npy, vectors)
    assert load_precomputed(npy, ["a", "b"], corpus_rows=[0, 1], corpus_size=2, allow_prefix=True).tolist() == \
        vectors[:2].tolist()
    # rows follow the corpus source, e.g. one partition's documents, or after a repeated row was dropped
    assert load_precomputed(npy, ["c", "a"], corpus_rows=[2, 0], corpus_size=4, allow_prefix=False).tolist() == \
        vectors[[2, 0]].tolist()
    with pytest.raises(EmbeddingError, match=r"v\.npy have 4 rows but the corpus has 2 documents"):
        load_precomputed(npy, ["a", "b"], corpus_rows=[0, 1], corpus_size=2, allow_prefix=False)
    with pytest.raises(EmbeddingError, match=r"document 'x' came from the inbox"):
        load_precomputed(npy, ["a", "x"], corpus_rows=[0, -1], corpus_size=4, allow_prefix=False)
    parquet = tmp_path / "v.parquet"
    pd.DataFrame({"doc_id": ["b", "a"], "vector": list(vectors[:2])}).to_parquet(parquet)
    by_id = {"corpus_rows": [-1, -1], "corpus_size": 0, "allow_prefix": False}
    assert load_precomputed(parquet, ["a", "b"], **by_id).tolist() == [vectors[1].tolist(), vectors[0].tolist()]
    with pytest.raises(EmbeddingError, match=r"no vector for doc_id 'c'"):
        load_precomputed(parquet, ["a", "c"], **by_id)


def test_vector_columns_round_trip():
    import pyarrow as pa

    from topic_pipeline.store import vectors_to_column

    matrix = np.random.default_rng(0).random((5, 7), dtype=np.float32)
    assert np.array_equal(vectors_from_column(pa.chunked_array([vectors_to_column(matrix)])), matrix)
