"""Shared fixtures: the 20 Newsgroups slice in tests/data (no ../shared needed) and isolated stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

# BERTopic.load asks the Hugging Face Hub about a saved model name; offline, fail at once instead of retrying
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The first 5,000 posts of 20 Newsgroups and their all-MiniLM-L6-v2 embeddings (tests/data/README.md): the
# tests' only corpus, whether or not the full copy in ../shared/data is there, so results never depend on it.
TEST_DATA = Path(__file__).resolve().parent / "data"
NEWSGROUPS = TEST_DATA / "20newsgroups_head.parquet"
NEWSGROUPS_EMBEDDINGS = TEST_DATA / "20newsgroups_head_minilm.npy"
# Optional: the full corpora beside the checkout. Only scikit-learn's 20 Newsgroups cache is read from there,
# when present (``sklearn_data_home``); nothing in the tests resolves ../shared except through SHARED_DATA.
SHARED_DATA = Path(os.environ.get("TOPIC_PIPELINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SKLEARN_20NEWSGROUPS_CACHE = "20news-bydate_py3.pkz"  # fetch_20newsgroups's cache file in a scikit-learn data home


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
    ours = fit_ours(NEWSGROUPS_EMBEDDINGS, limit, tmp_path_factory.mktemp("store"), corpus_path=NEWSGROUPS,
                    clustering={"min_cluster_size": min_topic_size})
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


@pytest.fixture(scope="session")
def sklearn_data_home(tmp_path_factory) -> Path:
    """A scikit-learn data home whose 20 Newsgroups cache begins with the fixture's posts, in the fixture's order.

    The real cache (../shared/data/sklearn_data) where present; otherwise one written from tests/data, the same
    posts that ``fetch_20newsgroups(subset="all", remove=("headers", "footers", "quotes"))`` returns first.
    """
    real = SHARED_DATA / "sklearn_data"
    if (real / SKLEARN_20NEWSGROUPS_CACHE).exists():
        return real
    import pandas as pd

    home = tmp_path_factory.mktemp("sklearn_data")
    write_20newsgroups_cache(pd.read_parquet(NEWSGROUPS, columns=["doc_id", "text", "label", "split"]), home)
    return home


def write_20newsgroups_cache(posts, home: Path) -> Path:
    """Write ``posts`` (doc_id, text, label, split) as scikit-learn's 20 Newsgroups cache in the data home ``home``.

    The cache is what ``fetch_20newsgroups`` writes after its download: a zlib-compressed pickle of
    {"train": Bunch, "test": Bunch} of raw posts. Each text is stored as a post that the loader's ``remove``
    steps turn back into exactly that text (a header line and blank line; a ">" line before and after, which
    quote removal drops; a "--" signature, which footer removal drops), and the posts are placed where the
    loader's shuffle (random_state=42) takes them from, so ``subset="all"`` returns them in ``posts`` order.
    Checked by loading it back.
    """
    import codecs
    import pickle

    import numpy as np
    from sklearn.datasets import fetch_20newsgroups
    from sklearn.utils import Bunch, check_random_state

    remove = ("headers", "footers", "quotes")
    texts, labels = posts["text"].tolist(), posts["label"].tolist()
    target_names = sorted(set(labels))
    order = np.arange(len(posts))
    check_random_state(42).shuffle(order)  # fetch_20newsgroups: returned row i is stored row order[i]
    stored = np.empty(len(posts), dtype=np.int64)
    stored[order] = np.arange(len(posts))  # stored row j holds post stored[j]
    raw = [f"From: tests/data\n\n>\n{texts[i]}\n>\n--\nsignature" for i in stored]
    filenames = np.array([f"20news-bydate-{posts['split'].iloc[i]}/{posts['doc_id'].iloc[i]}" for i in stored])
    target = np.array([target_names.index(labels[i]) for i in stored])
    cache = {
        "train": Bunch(data=raw, filenames=filenames, target_names=target_names, target=target, DESCR=None),
        "test": Bunch(data=[], filenames=np.array([], dtype=str), target_names=target_names,
                      target=np.array([], dtype=target.dtype), DESCR=None),
    }
    path = home / SKLEARN_20NEWSGROUPS_CACHE
    path.write_bytes(codecs.encode(pickle.dumps(cache), "zlib_codec"))
    loaded = fetch_20newsgroups(data_home=str(home), subset="all", remove=remove, download_if_missing=False)
    assert list(loaded.data) == texts, "a post does not survive fetch_20newsgroups's remove steps"
    assert [f"{Path(f).parent.name}/{Path(f).name}" for f in loaded.filenames] == posts["doc_id"].tolist()
    assert [loaded.target_names[t] for t in loaded.target] == labels
    return path
