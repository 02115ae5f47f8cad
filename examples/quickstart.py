"""BERTopic's quick start, run by ``topic_pipeline``: only the import changes.

BERTopic's docs (Getting Started > Quick Start) write::

    from bertopic import BERTopic
    from sklearn.datasets import fetch_20newsgroups

    docs = fetch_20newsgroups(subset='all',  remove=('headers', 'footers', 'quotes'))['data']

    topic_model = BERTopic()
    topics, probs = topic_model.fit_transform(docs)

    topic_model.get_topic_info()
    topic_model.get_topic(0)
    topic_model.get_document_info(docs)

Here the first line is ``from topic_pipeline import TopicModel as BERTopic``:
the alias is the most literal "change the import", so every other line is the
docs' own. Run with no options it is exactly that flow (it needs 20 Newsgroups
in scikit-learn's data home, e.g. ``SCIKIT_LEARN_DATA`` pointing at a folder
holding ``20news-bydate_py3.pkz``, and embeds all 18,846 posts with
all-MiniLM-L6-v2). For a quick, offline run on a slice::

    python examples/quickstart.py --limit 800 \\
        --corpus ../shared/data/20newsgroups.parquet \\
        --embeddings ../shared/data/20newsgroups_minilm.npy --out /tmp/quickstart

``--corpus`` reads a Parquet file with a ``text`` column instead of
``fetch_20newsgroups``; ``--embeddings`` is a ``.npy`` of document embeddings
row-aligned with the corpus (passed to ``fit_transform`` as BERTopic allows);
``--out`` writes ``report.json`` (the topics and tables' key values) for
checking the run. ``--bertopic`` (on the command line: it picks the import)
runs the same lines with BERTopic's own class (``from bertopic import
BERTopic``): the reference the tests compare with.
BERTopic's default UMAP has no seed, so that run gives it the same UMAP with
``random_state=42``, which is ``TopicModel``'s default (BERTopic's otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from pprint import pprint

import numpy as np
import pandas as pd
from sklearn.datasets import fetch_20newsgroups

if "--bertopic" in sys.argv[1:]:  # the reference run: the docs' own import
    from bertopic import BERTopic
else:
    from topic_pipeline import TopicModel as BERTopic


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="fit on the first N posts only")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="Parquet with a 'text' column, in fetch_20newsgroups order (default: fetch_20newsgroups)")
    parser.add_argument("--embeddings", type=Path, default=None,
                        help=".npy of embeddings row-aligned with the corpus (default: embed with all-MiniLM-L6-v2)")
    parser.add_argument("--out", type=Path, default=None, help="folder for report.json")
    parser.add_argument("--bertopic", action="store_true",
                        help="run BERTopic itself instead (the reference for the tests)")
    return parser.parse_args(argv)


def load_docs(corpus: Path | None, limit: int | None) -> list[str]:
    if corpus is None:
        docs = fetch_20newsgroups(subset='all', remove=('headers', 'footers', 'quotes'))['data']
    else:
        docs = pd.read_parquet(corpus, columns=["text"])["text"].tolist()
    return docs[:limit]


def load_embeddings(path: Path | None, n_docs: int) -> np.ndarray | None:
    if path is None:
        return None
    return np.asarray(np.load(path, mmap_mode="r")[:n_docs], dtype=np.float32)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.bertopic != BERTopic.__module__.startswith("bertopic"):
        raise SystemExit("--bertopic picks the import when the script starts: give it on the command line")
    # the tables are what the quick start shows; print every column so none hides behind "..."
    pd.set_option("display.max_columns", None)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)

    docs = load_docs(args.corpus, args.limit)
    embeddings = load_embeddings(args.embeddings, len(docs))

    if args.bertopic:  # BERTopic's default UMAP, seeded as TopicModel's is: the same fit, run after run
        from umap import UMAP

        umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False,
                          random_state=42)
        topic_model = BERTopic(umap_model=umap_model)
    else:
        topic_model = BERTopic()
    if embeddings is None:
        topics, probs = topic_model.fit_transform(docs)
    else:
        topics, probs = topic_model.fit_transform(docs, embeddings)

    topic_info = topic_model.get_topic_info()
    print(topic_info)
    print()
    pprint(topic_model.get_topic(0))
    print()
    document_info = topic_model.get_document_info(docs)
    print(document_info)

    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        report = {
            "n_documents": len(docs),
            "topics": [int(t) for t in topics],
            "probs": None if probs is None else np.asarray(probs).tolist(),
            "topic_info_columns": list(topic_info.columns),
            "topic_counts": dict(zip(topic_info["Topic"].astype(str), topic_info["Count"].astype(int).tolist())),
            "topic_0": [[word, float(score)] for word, score in topic_model.get_topic(0)],
            "document_info_columns": list(document_info.columns),
            "document_topics": document_info["Topic"].astype(int).tolist(),
            "representative_documents": int(document_info["Representative_document"].sum()),
        }
        (args.out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
