"""Shared fixtures: slices of the real corpora in ../shared/data and isolated stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

# BERTopic.load asks the Hugging Face Hub about a saved model name; offline, fail at once instead of retrying
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED_DATA = Path(os.environ.get("TOPIC_PIPELINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
NEWSGROUPS = SHARED_DATA / "20newsgroups.parquet"
NEWSGROUPS_EMBEDDINGS = SHARED_DATA / "20newsgroups_minilm.npy"


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty store root, also exported as $TOPIC_PIPELINE_DATA."""
    root = tmp_path / "warehouse"
    monkeypatch.setenv("TOPIC_PIPELINE_DATA", str(root))
    return root


@pytest.fixture
def write_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a params file (sections as dicts) and point $TOPIC_PIPELINE_PARAMS at it."""
    path = tmp_path / "params.yaml"
    monkeypatch.setenv("TOPIC_PIPELINE_PARAMS", str(path))

    def write(sections: dict) -> Path:
        path.write_text(yaml.safe_dump(sections))
        return path

    return write


def newsgroups_slice_params(limit: int, **sections: dict) -> dict:
    """Params for the first ``limit`` 20 Newsgroups posts with their precomputed embeddings."""
    params = {
        "corpus": {"source": str(NEWSGROUPS), "limit": limit, "inbox": None},
        "embedding": {"precomputed": str(NEWSGROUPS_EMBEDDINGS)},
    }
    for name, values in sections.items():
        params[name] = params.get(name, {}) | values
    return params


@pytest.fixture(scope="session")
def fitted_slice(tmp_path_factory):
    """BERTopic and our pipeline fitted on the first 2,000 posts, min topic size 5 (some 70-80 topics and -1).

    Shared by the post-fit parity tests; both sides see the same embeddings and UMAP seed. How many topics
    depends on the CPU (UMAP's floating point differs between machines: 76 on some, 71 on others), so tests
    take counts and ids from the fit, never as literals.
    """
    pytest.importorskip("bertopic")
    import numpy as np
    import pandas as pd

    from benchmarks.parity import compare, fit_bertopic, fit_ours

    limit, min_topic_size = 2000, 5
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:limit].tolist()
    theirs = fit_bertopic(texts, np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:limit].copy(), min_topic_size=min_topic_size)
    ours = fit_ours(NEWSGROUPS_EMBEDDINGS, limit, tmp_path_factory.mktemp("store"), clustering={"min_cluster_size": min_topic_size})
    assert compare(ours, theirs).ari == 1.0
    return texts, ours, theirs


@pytest.fixture(scope="session")
def newsgroups_vectors_parquet(tmp_path_factory):
    """The precomputed embeddings as a Parquet of doc_id + vector (joins by id, so inbox posts find theirs)."""
    import numpy as np
    import pandas as pd

    path = tmp_path_factory.mktemp("vectors") / "vectors.parquet"
    ids = pd.read_parquet(NEWSGROUPS, columns=["doc_id"])["doc_id"]
    pd.DataFrame({"doc_id": ids, "vector": list(np.load(NEWSGROUPS_EMBEDDINGS))}).to_parquet(path)
    return path
