"""Online topic modeling state: decayed per-topic bags of words, stable ids for clusters across batches."""

import numpy as np
import pytest

from topic_pipeline.core.online import map_clusters, update_online
from topic_pipeline.errors import StageInputError
from topic_pipeline.params import VectorizerParams

WORDS = VectorizerParams()


def counts_of(state, topic):
    row = state.topic_term_counts[list(state.topic_ids).index(topic)].toarray().ravel()
    return {term: float(value) for term, value in zip(state.vocabulary, row, strict=True) if value}


def test_counts_decay_and_rare_terms_drop():
    vectors = np.eye(3, dtype=np.float32)
    first, topics = update_online(None, ["apple banana", "apple"], vectors[:2], np.array([0, 0]), WORDS, decay=0.5)
    assert topics.tolist() == [0, 0] and counts_of(first, 0) == {"apple": 2.0, "banana": 1.0}
    second, topics = update_online(first, ["cherry cherry"], vectors[2:], np.array([1]), WORDS, decay=0.5,
                                   delete_min_df=0.6)
    # old counts halve before the batch is added; banana (0.5) falls below delete_min_df and leaves the vocabulary
    assert counts_of(second, 0) == {"apple": 1.0} and counts_of(second, 1) == {"cherry": 2.0}
    assert "banana" not in second.vocabulary and second.topic_sizes == {0: 2, 1: 1}
    assert np.allclose(second.topic_embeddings, [[0.5, 0.5, 0], [0, 0, 1]])


def test_clusters_keep_their_topic_and_new_ones_get_the_next_id():
    assert map_clusters({}, np.array([3, 1, -1])) == {-1: -1, 1: 0, 3: 1}
    assert map_clusters({1: 0, 3: 1}, np.array([7, 3, 5])) == {1: 0, 3: 1, 5: 2, 7: 3}


def test_bad_batches_are_refused():
    with pytest.raises(StageInputError, match="one label and one embedding per document"):
        update_online(None, ["a b"], np.zeros((2, 3)), np.array([0]), WORDS)
    with pytest.raises(StageInputError, match="decay must be between 0 and 1"):
        update_online(None, ["a b"], np.zeros((1, 3)), np.array([0]), WORDS, decay=2)


def test_topic_model_partial_fit_online_with_incremental_models():
    """BERTopic's online recipe: IncrementalPCA + MiniBatchKMeans + OnlineCountVectorizer(decay), batch by batch."""
    import pandas as pd
    from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import IncrementalPCA

    from topic_pipeline import OnlineCountVectorizer, TopicModel

    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:900].tolist()
    vectors = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:900].copy()
    reducer, clusterer = IncrementalPCA(n_components=5), MiniBatchKMeans(n_clusters=8, random_state=0, n_init=3)
    model = TopicModel(umap_model=reducer, hdbscan_model=clusterer,
                       vectorizer_model=OnlineCountVectorizer(stop_words="english", decay=0.01))
    for start in range(0, 900, 300):
        model.partial_fit(texts[start:start + 300], vectors[start:start + 300])
    assert not hasattr(reducer, "components_") and not hasattr(clusterer, "cluster_centers_")  # copies were fitted
    assert len(model.topics_) == 300 and sum(model.topic_sizes_.values()) == 900
    assert set(model.topic_sizes_) == set(range(8))
    topics, _ = model.transform(texts[600:900], vectors[600:900])
    assert topics == model.topics_  # the last batch is placed where partial_fit put it
    words = [w for w, _ in model.get_topic(0)]
    assert len(words) == 10 and "the" not in words  # stop words removed by the online vectorizer
    assert model.get_topic_info()["Count"].sum() == 900
