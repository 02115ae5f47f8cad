"""BERTopic's best-practices guide, run by ``topic_pipeline``: only the imports change.

The guide (Getting Started > Best Practices) walks through: pre-calculated
embeddings, a seeded UMAP, HDBSCAN's ``min_cluster_size``, a CountVectorizer
with stop words and bigrams, KeyBERTInspired and MMR as extra aspects,
training, custom labels with ``set_topic_labels``, ``approximate_distribution``,
``reduce_outliers`` followed by ``update_topics``, saving with safetensors and
inference with the loaded model. This script runs those steps in that order,
written as the guide writes them, with two import lines changed::

    from bertopic import BERTopic                                    ->  from topic_pipeline import TopicModel as BERTopic
    from bertopic.representation import KeyBERTInspired, ...         ->  from topic_pipeline import KeyBERTInspired, ...

What differs from the guide, and why:

- The guide's data are ArXiv abstracts from Hugging Face ``datasets``; here
  they are the quick start's 20 Newsgroups posts (``fetch_20newsgroups``), so
  both examples run on the same corpus and need no download.
- ``SentenceTransformer("all-MiniLM-L6-v2")`` asks the Hugging Face Hub for the
  model; ``topic_pipeline.pipeline.embedding.load_sentence_model`` returns the same
  SentenceTransformer, read from the bundled copy, so this runs offline.
- The PartOfSpeech aspect needs spaCy's ``en_core_web_sm`` and the OpenAI one
  an API key; both are left out (``PartOfSpeech`` is importable from
  ``topic_pipeline`` the same way when spaCy is installed).
- The guide's plots (``visualize_distribution``, ``visualize_approximate_distribution``,
  ``visualize_topics``, ``visualize_hierarchy``, ``visualize_documents``) are
  not ``TopicModel`` methods; the script prints the distribution they would draw.
- ``update_topics`` gets the guide's ``vectorizer_model`` and
  ``representation_model`` again: like BERTopic, it resets the models it is
  not given to their defaults, which would drop the bigrams and the aspects.
- The last ``--new-docs`` posts (the next ones after ``--limit``) are held out
  of training to show inference on documents the model has not seen.

Run with no options for the whole corpus (it needs 20 Newsgroups in
scikit-learn's data home, e.g. ``SCIKIT_LEARN_DATA``, and embeds all posts).
A quick, offline run on a slice::

    python examples/best_practices.py --limit 800 --min-cluster-size 20 \\
        --corpus ../shared/data/20newsgroups.parquet \\
        --embeddings ../shared/data/20newsgroups_minilm.npy --out /tmp/best_practices

``--embeddings`` is a ``.npy`` row-aligned with the corpus, used instead of
encoding the posts; ``--out`` is where ``my_model_dir`` and ``report.json``
(the topics, labels, distributions and transform results) are written.
``--bertopic`` (on the command line: it picks the imports) runs the same lines
with BERTopic's own classes, the guide's imports: the reference the tests
compare with. Offline, its ``load`` cannot fetch the saved model name, so that
run passes it the same bundled model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from pprint import pprint

import numpy as np
import pandas as pd
from hdbscan import HDBSCAN
from sklearn.datasets import fetch_20newsgroups
from sklearn.feature_extraction.text import CountVectorizer
from umap import UMAP

from topic_pipeline.pipeline.embedding import load_sentence_model

if "--bertopic" in sys.argv[1:]:  # the reference run: the guide's own imports
    from bertopic import BERTopic
    from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance
else:
    from topic_pipeline import KeyBERTInspired, MaximalMarginalRelevance
    from topic_pipeline import TopicModel as BERTopic


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="train on the first N posts only")
    parser.add_argument("--new-docs", type=int, default=100,
                        help="posts held out after the training ones, for inference (default 100)")
    parser.add_argument("--min-cluster-size", type=int, default=40, help="HDBSCAN's min_cluster_size (guide: 40)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="Parquet with a 'text' column, in fetch_20newsgroups order (default: fetch_20newsgroups)")
    parser.add_argument("--embeddings", type=Path, default=None,
                        help=".npy of embeddings row-aligned with the corpus (default: encode with all-MiniLM-L6-v2)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for my_model_dir and report.json")
    parser.add_argument("--bertopic", action="store_true",
                        help="run BERTopic itself instead (the reference for the tests)")
    args = parser.parse_args(argv)
    if (args.out / "my_model_dir").exists():  # save() refuses to overwrite: say so before the long fit
        parser.error(f"{args.out / 'my_model_dir'} already exists; remove it or pick another --out")
    return args


def load_posts(corpus: Path | None) -> list[str]:
    if corpus is None:
        return fetch_20newsgroups(subset='all', remove=('headers', 'footers', 'quotes'))['data']
    return pd.read_parquet(corpus, columns=["text"])["text"].tolist()


def split_posts(posts: list[str], limit: int | None, new_docs: int) -> tuple[list[str], list[str]]:
    """Training posts (the first ``limit``, or all but the held-out ones) and the ``new_docs`` after them."""
    n_train = len(posts) - new_docs if limit is None else min(limit, len(posts) - new_docs)
    return posts[:n_train], posts[n_train:n_train + new_docs]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.bertopic != BERTopic.__module__.startswith("bertopic"):
        raise SystemExit("--bertopic picks the imports when the script starts: give it on the command line")
    # the guide shows these tables in a notebook; print every column so none hides behind "..."
    pd.set_option("display.max_columns", None)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 50)
    report: dict = {}

    # Data
    abstracts, new_abstracts = split_posts(load_posts(args.corpus), args.limit, args.new_docs)

    # Pre-calculate embeddings
    embedding_model = load_sentence_model("all-MiniLM-L6-v2")  # the guide: SentenceTransformer("all-MiniLM-L6-v2")
    if args.embeddings is None:
        embeddings = embedding_model.encode(abstracts, show_progress_bar=True)
    else:
        embeddings = np.asarray(np.load(args.embeddings, mmap_mode="r")[:len(abstracts)], dtype=np.float32)

    topic_model, topics, vectorizer_model, representation_model = train(abstracts, embeddings, embedding_model,
                                                                         args.min_cluster_size, report)
    label_topics(topic_model, report)
    show_distributions(topic_model, abstracts, report)
    reduce_outliers_and_update(topic_model, abstracts, topics, vectorizer_model, representation_model, report)
    save_and_infer(topic_model, args, new_abstracts, report)
    (args.out / "report.json").write_text(json.dumps(report, indent=1))


def train(abstracts: list[str], embeddings: np.ndarray, embedding_model: object, min_cluster_size: int,
          report: dict) -> tuple[BERTopic, list[int], CountVectorizer, dict]:
    """The guide's sub-models and training; also returns the two models ``update_topics`` is given again."""
    # Preventing stochastic behavior
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric='cosine', random_state=42)

    # Controlling number of topics
    hdbscan_model = HDBSCAN(min_cluster_size=min_cluster_size, metric='euclidean',
                            cluster_selection_method='eom', prediction_data=True)

    # Improving default representation
    vectorizer_model = CountVectorizer(stop_words="english", min_df=2, ngram_range=(1, 2))

    # Additional representations
    keybert_model = KeyBERTInspired()
    mmr_model = MaximalMarginalRelevance(diversity=0.3)
    representation_model = {
        "KeyBERT": keybert_model,
        "MMR": mmr_model,
    }

    # Training
    topic_model = BERTopic(

        # Pipeline models
        embedding_model=embedding_model,
        umap_model=umap_model,
        hdbscan_model=hdbscan_model,
        vectorizer_model=vectorizer_model,
        representation_model=representation_model,

        # Hyperparameters
        top_n_words=10,
        verbose=True
    )
    topics, probs = topic_model.fit_transform(abstracts, embeddings)
    print(topic_model.get_topic_info())
    print()
    pprint(topic_model.get_topic(1, full=True))
    print()
    report_training(topic_model, topics, probs, report)
    return topic_model, topics, vectorizer_model, representation_model


def report_training(topic_model: BERTopic, topics: list[int], probs: np.ndarray, report: dict) -> None:
    """What the tests compare after training: topics, probabilities, columns, words and aspects."""
    report["topics"] = [int(t) for t in topics]
    report["probs"] = np.asarray(probs, dtype=float).tolist()
    report["topic_info_columns"] = list(topic_model.get_topic_info().columns)
    report["aspects"] = sorted(topic_model.topic_aspects_)
    report["topic_words"] = {str(topic): [[word, float(score)] for word, score in topic_model.get_topic(topic)]
                             for topic in sorted(set(topics))}
    report["aspect_words"] = {aspect: {str(topic): [[word, float(score)] for word, score in words]
                                       for topic, words in values.items()}
                              for aspect, values in topic_model.topic_aspects_.items()}


def label_topics(topic_model: BERTopic, report: dict) -> None:
    """The guide's (Custom) labels section: labels by hand, then from the KeyBERT aspect."""
    topic_model.set_topic_labels({1: "Space Travel", 7: "Religion"})
    report["custom_labels_by_hand"] = list(topic_model.custom_labels_)
    keybert_topic_labels = {topic: " | ".join(list(zip(*values))[0][:3])  # noqa: RUF015 (the guide's line)
                            for topic, values in topic_model.topic_aspects_["KeyBERT"].items()}
    topic_model.set_topic_labels(keybert_topic_labels)
    print(topic_model.get_topic_info()[["Topic", "Count", "Name", "CustomName"]])
    print()
    report["keybert_labels"] = {str(topic): label for topic, label in keybert_topic_labels.items()}
    report["custom_labels"] = list(topic_model.custom_labels_)
    report["generated_mmr_labels"] = topic_model.generate_topic_labels(nr_words=3, aspect="MMR")


def show_distributions(topic_model: BERTopic, abstracts: list[str], report: dict) -> None:
    """The guide's Topic-document distribution section, printed where the guide draws it."""
    topic_distr, _ = topic_model.approximate_distribution(abstracts, window=8, stride=4)
    print(f"topic_distr: {topic_distr.shape[0]} documents x {topic_distr.shape[1]} topics")
    report["topic_distr_shape"] = list(topic_distr.shape)
    report["topic_distr_argmax"] = topic_distr.argmax(axis=1).tolist()
    abstract_id = 1
    # the guide draws this with visualize_distribution (the topics with probability > 0); print them instead
    shown = np.flatnonzero(topic_distr[abstract_id] > 0)
    topic_info = topic_model.get_topic_info()
    labels = dict(zip(topic_info["Topic"], topic_info["CustomName"], strict=True))
    print(pd.DataFrame({"Topic": shown, "Label": [labels[t] for t in shown],
                        "Probability": topic_distr[abstract_id][shown]}))
    topic_distr, topic_token_distr = topic_model.approximate_distribution(abstracts[abstract_id],
                                                                          calculate_tokens=True)
    # visualize_approximate_distribution would colour each token by topic; print the matrix's size
    print(f"token-level distribution of abstract {abstract_id}: {topic_token_distr[0].shape[0]} tokens x "
          f"{topic_token_distr[0].shape[1]} topics")
    print()
    report["token_distr_shape"] = list(topic_token_distr[0].shape)


def reduce_outliers_and_update(topic_model: BERTopic, abstracts: list[str], topics: list[int],
                               vectorizer_model: CountVectorizer, representation_model: dict, report: dict) -> None:
    """The guide's Outlier reduction section (see the module docstring for why the models are given again)."""
    new_topics = topic_model.reduce_outliers(abstracts, topics)
    topic_model.update_topics(abstracts, topics=new_topics, vectorizer_model=vectorizer_model,
                              representation_model=representation_model)
    # the topics' words changed with the new assignments: label them again from KeyBERT
    topic_model.set_topic_labels({topic: " | ".join(list(zip(*values))[0][:3])  # noqa: RUF015 (as above)
                                  for topic, values in topic_model.topic_aspects_["KeyBERT"].items()})
    print(topic_model.get_topic_info()[["Topic", "Count", "Name", "CustomName", "Representation"]])
    print()
    report["new_topics"] = [int(t) for t in new_topics]
    report["custom_labels_after_update"] = list(topic_model.custom_labels_)
    report["topic_counts_after_update"] = {str(t): int(c) for t, c in sorted(topic_model.topic_sizes_.items())}


def save_and_infer(topic_model: BERTopic, args: argparse.Namespace, new_abstracts: list[str], report: dict) -> None:
    """The guide's Serialization and Inference sections: save with safetensors, load, transform new posts."""
    # Serialization
    model_dir = args.out / "my_model_dir"
    embedding_model = "sentence-transformers/all-MiniLM-L6-v2"
    topic_model.save(model_dir, serialization="safetensors", save_ctfidf=True, save_embedding_model=embedding_model)

    # Inference
    if args.bertopic:  # BERTopic would ask the Hub for the saved name; offline it needs the model itself
        loaded_model = BERTopic.load(model_dir, embedding_model=load_sentence_model("all-MiniLM-L6-v2"))
    else:
        loaded_model = BERTopic.load(model_dir)
    loaded_topics, loaded_probs = loaded_model.transform(new_abstracts)
    fitted_topics, _ = topic_model.transform(new_abstracts)
    print(pd.DataFrame({"Document": new_abstracts, "loaded_model": loaded_topics,
                        "similarity": loaded_probs, "topic_model": fitted_topics}))
    report["new_docs"] = len(new_abstracts)
    report["loaded_transform_topics"] = [int(t) for t in loaded_topics]
    report["loaded_transform_probs"] = np.asarray(loaded_probs, dtype=float).tolist()
    report["fitted_transform_topics"] = [int(t) for t in fitted_topics]


if __name__ == "__main__":
    main()
