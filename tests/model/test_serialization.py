"""Safetensors save/load in BERTopic's layout, pickle refusal and model merging, checked against BERTopic 0.17.4.

The ~77-topic model (with -1) comes from the shared ``fitted_slice`` fixture; the merge tests fit two small BERTopic
models on neighbouring slices of the same corpus (one without outliers, one with), so merging in both
orders exercises BERTopic's row offsets.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from topic_pipeline.errors import ParamsError, StageInputError, StoreError
from topic_pipeline.model.merging import merge_saved_models
from topic_pipeline.model.serialization import SavedTopicModel, load_model, save_model

pytest.importorskip("bertopic")

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
INFO_COLUMNS = ["Topic", "Count", "Name", "Representation"]


def saved_from_bertopic(model) -> SavedTopicModel:
    """What the facade hands to save_model, read off a fitted BERTopic (partial settings: defaults fill in)."""
    return SavedTopicModel(
        topics=[int(t) for t in model.topics_],
        topic_sizes={int(t): int(n) for t, n in model.topic_sizes_.items()},
        topic_representations={int(t): [(w, float(s)) for w, s in words] for t, words in model.topic_representations_.items()},
        topic_embeddings=np.asarray(model.topic_embeddings_, dtype=np.float32),
        topic_labels=dict(model.topic_labels_),
        topic_mapper=np.asarray(model.topic_mapper_.mappings_, dtype=int).tolist(),
        ctfidf=model.c_tf_idf_,
        idf=np.asarray(model.ctfidf_model._idf_diag.data),
        vocabulary=model.vectorizer_model.get_feature_names_out().tolist(),
        vectorizer_params={"ngram_range": (1, 1), "min_df": 1},
        ctfidf_params={"bm25_weighting": False, "reduce_frequent_words": False},
        config={"min_topic_size": model.min_topic_size},
        embedding_model=MINILM,
    )


def representations(model) -> dict[int, list[tuple[str, float]]]:
    return {int(t): [(w, float(s)) for w, s in words] for t, words in model.topic_representations_.items()}


def topic_info(model) -> pd.DataFrame:
    return model.get_topic_info()[INFO_COLUMNS].reset_index(drop=True)


@pytest.fixture(scope="module", autouse=True)
def offline_hub():
    """BERTopic.load asks the Hub for the saved embedding model name; without a network each ask retries
    for a minute. Offline mode makes it fail at once (huggingface_hub reads the flag at call time)."""
    constants = pytest.importorskip("huggingface_hub.constants")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_OFFLINE", True)
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def sentence_model():
    from topic_pipeline.pipeline.embedding import load_sentence_model

    return load_sentence_model("all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def bertopic_dir(fitted_slice, tmp_path_factory) -> Path:
    """BERTopic's own safetensors save of the shared model."""
    path = tmp_path_factory.mktemp("theirs") / "bt"
    copy.deepcopy(fitted_slice[2].model).save(path, serialization="safetensors", save_ctfidf=True,
                                              save_embedding_model=MINILM)
    return path


@pytest.fixture(scope="module")
def our_dir(fitted_slice, tmp_path_factory) -> Path:
    return save_model(tmp_path_factory.mktemp("ours") / "model", saved_from_bertopic(fitted_slice[2].model))


# --- BERTopic -> ours ---------------------------------------------------------------------------------
def test_load_reads_every_field_of_a_bertopic_save(fitted_slice, bertopic_dir):
    theirs = fitted_slice[2].model
    loaded = load_model(bertopic_dir)
    assert loaded.topics == [int(t) for t in theirs.topics_]
    assert list(loaded.topic_sizes.items()) == [(int(t), n) for t, n in theirs.topic_sizes_.items()]
    assert loaded.topic_representations == representations(theirs)
    assert loaded.topic_labels == theirs.topic_labels_ and len(loaded.topic_labels) == len(theirs.topic_sizes_) > 70
    assert loaded.topic_mapper == np.asarray(theirs.topic_mapper_.mappings_).tolist()
    assert loaded.custom_labels is None and loaded.topic_aspects == {}
    assert loaded.outliers == theirs._outliers == 1
    assert loaded.topic_embeddings.dtype == np.float32
    np.testing.assert_array_equal(loaded.topic_embeddings, np.asarray(theirs.topic_embeddings_, dtype=np.float32))
    assert loaded.ctfidf.shape == theirs.c_tf_idf_.shape and (loaded.ctfidf != theirs.c_tf_idf_).nnz == 0
    np.testing.assert_array_equal(loaded.idf, theirs.ctfidf_model._idf_diag.data)
    assert loaded.vocabulary == theirs.vectorizer_model.get_feature_names_out().tolist()
    expected_params = theirs.vectorizer_model.get_params()
    for dropped in ("tokenizer", "preprocessor", "dtype"):
        del expected_params[dropped]
    assert loaded.vectorizer_params == expected_params
    assert loaded.ctfidf_params == {"bm25_weighting": False, "reduce_frequent_words": False}
    assert loaded.config == {k: v for k, v in theirs.get_params().items() if "model" not in k}
    assert loaded.embedding_model == MINILM


def test_resaving_a_bertopic_save_reproduces_its_files(bertopic_dir, tmp_path):
    import safetensors.numpy

    ours = save_model(tmp_path / "again", load_model(bertopic_dir))
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in bertopic_dir.iterdir())
    for name in ("topics.json", "config.json", "ctfidf_config.json"):
        assert json.loads((ours / name).read_text()) == json.loads((bertopic_dir / name).read_text()), name
    for name in ("topic_embeddings.safetensors", "ctfidf.safetensors"):
        mine, theirs = safetensors.numpy.load_file(ours / name), safetensors.numpy.load_file(bertopic_dir / name)
        assert sorted(mine) == sorted(theirs)
        for key in theirs:
            assert mine[key].dtype == theirs[key].dtype, (name, key)
            np.testing.assert_array_equal(mine[key], theirs[key])


# --- ours -> BERTopic ---------------------------------------------------------------------------------
def test_bertopic_loads_our_save_like_its_own(fitted_slice, bertopic_dir, our_dir, sentence_model):
    from bertopic import BERTopic

    original = fitted_slice[2].model
    from_ours = BERTopic.load(our_dir, embedding_model=sentence_model)
    from_theirs = BERTopic.load(bertopic_dir, embedding_model=sentence_model)
    pd.testing.assert_frame_equal(topic_info(from_ours), topic_info(original))
    np.testing.assert_array_equal(from_ours.topic_embeddings_, original.topic_embeddings_)
    assert (from_ours.c_tf_idf_ != original.c_tf_idf_).nnz == 0
    assert from_ours.vectorizer_model.vocabulary_ == original.vectorizer_model.vocabulary_
    assert from_ours.get_params()["min_topic_size"] == 5

    unseen = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[2000:2050].tolist()
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[2000:2050].copy()
    ours_topics, ours_probs = from_ours.transform(unseen, embeddings)
    theirs_topics, theirs_probs = from_theirs.transform(unseen, embeddings)
    np.testing.assert_array_equal(ours_topics, theirs_topics)
    np.testing.assert_array_equal(ours_probs, theirs_probs)
    assert len(set(ours_topics)) > 10  # a real spread over topics, not one constant answer


# --- refusals -----------------------------------------------------------------------------------------
class _Tripwire:
    """Unpickling this creates a folder: if the folder appears, something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_pickles_are_refused_and_never_opened(fitted_slice, our_dir, tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Tripwire(marker))
    bertopic_pickle = tmp_path / "bertopic_model"
    copy.deepcopy(fitted_slice[2].model).save(bertopic_pickle, serialization="pickle", save_embedding_model=False)
    with pytest.raises(StageInputError, match="is a file, not a safetensors model folder.*serialization='safetensors'"):
        load_model(bertopic_pickle)

    (tmp_path / "evil.pkl").write_bytes(payload)
    with pytest.raises(StageInputError, match="unpickling runs code"):
        load_model(tmp_path / "evil.pkl")
    for stray in ("model.pkl", "nested/topic_embeddings.bin", "ctfidf.joblib"):
        folder = tmp_path / f"with-{Path(stray).name}"
        shutil.copytree(our_dir, folder)
        (folder / stray).parent.mkdir(exist_ok=True)
        (folder / stray).write_bytes(payload)
        with pytest.raises(StageInputError, match=rf"pickle-like files \['{stray}'\].*serialization='safetensors'"):
            load_model(folder)
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: loading it does create the marker
    assert marker.exists()


def test_save_refuses_existing_paths_and_other_formats(fitted_slice, our_dir, tmp_path):
    model = saved_from_bertopic(fitted_slice[2].model)
    before = sorted(p.name for p in our_dir.iterdir())
    with pytest.raises(StageInputError, match="already exists. Pick a new path or remove"):
        save_model(our_dir, model)
    assert sorted(p.name for p in our_dir.iterdir()) == before
    (tmp_path / "a_file").write_text("keep me")
    with pytest.raises(StageInputError, match="already exists"):
        save_model(tmp_path / "a_file", model)
    assert (tmp_path / "a_file").read_text() == "keep me"
    for serialization in ("pickle", "pytorch"):
        with pytest.raises(ParamsError, match="Only safetensors is written because pickle and pytorch"):
            save_model(tmp_path / serialization, model, serialization=serialization)
        assert not (tmp_path / serialization).exists()


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"config": {"nr_topic": 5}}, ParamsError, r"config has keys .*\['nr_topic'\]"),  # a typo BERTopic(**config) rejects
    ({"vectorizer_params": {"language": "english"}}, ParamsError, "CountVectorizer does not take.*'language'"),
    ({"ctfidf_params": {}}, ParamsError, "ctfidf_params lacks"),  # BERTopic.load reads both flags
    ({"vocabulary": ["just", "two"]}, StageInputError, "must describe the same terms"),
    ({"topic_embeddings": np.zeros(3, dtype=np.float32)}, StageInputError, "must be 2-D"),
    ({"config": {"nr_topics": object()}}, ParamsError, "JSON cannot store"),
])
def test_invalid_models_leave_nothing_behind(fitted_slice, tmp_path, change, error, message):
    model = copy.copy(saved_from_bertopic(fitted_slice[2].model))
    for name, value in change.items():
        setattr(model, name, value)
    with pytest.raises(error, match=message):
        save_model(tmp_path / "model", model)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_nothing_behind(fitted_slice, tmp_path, monkeypatch):
    written = []
    real_write = Path.write_bytes

    def failing_write(self, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(StoreError, match="Could not write the topic model to .*No space left"):
        save_model(tmp_path / "model", saved_from_bertopic(fitted_slice[2].model))
    assert len(written) == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: (d / "config.json").unlink(), r"config.json is missing"),
    (lambda d: (d / "topics.json").write_text("{not json"), r"topics.json is not readable JSON"),
    (lambda d: (d / "ctfidf_config.json").unlink(), r"ctfidf_config.json is missing"),
    (lambda d: (d / "topic_embeddings.safetensors").write_bytes(b"junk"), "topic_embeddings.safetensors is not a readable"),
    (lambda d: (d / "topics.json").write_text('{"topics": []}'), r"topics.json has no key 'topic_sizes'"),
    (lambda d: shutil.rmtree(d), r"does not exist"),
])
def test_damaged_folders_name_the_file(our_dir, tmp_path, damage, message):
    folder = shutil.copytree(our_dir, tmp_path / "copy")
    damage(folder)
    with pytest.raises(StoreError, match=message):
        load_model(folder)


# --- merging ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slice_models(fitted_slice, tmp_path_factory):
    """Two BERTopic models on rows 0:1000 (3 KMeans topics, no outliers) and 1000:2000 (HDBSCAN, with -1),
    as (our load, BERTopic's load) pairs of the same safetensors saves.

    The first uses KMeans so that it has no outliers on every CPU (HDBSCAN over UMAP on a 1,000-post
    slice finds 3 clusters on some machines and 40 with outliers on others)."""
    from bertopic import BERTopic
    from sklearn.cluster import KMeans
    from umap import UMAP

    texts = fitted_slice[0]
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:2000].copy()
    pairs = []
    for start in (0, 1000):
        umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=42)
        clusterer = {"hdbscan_model": KMeans(n_clusters=3, random_state=0, n_init=10)} if start == 0 else {}
        model = BERTopic(umap_model=umap_model, min_topic_size=5, **clusterer).fit(
            texts[start:start + 1000], embeddings[start:start + 1000])
        path = tmp_path_factory.mktemp("slice") / f"rows{start}"
        model.save(path, serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
        pairs.append((load_model(path), BERTopic.load(path)))
    assert [m.outliers for m, _ in pairs] == [0, 1]
    return pairs


def assert_same_merge(ours: SavedTopicModel, theirs) -> None:
    assert ours.topics == list(theirs.topics_)
    assert list(ours.topic_sizes.items()) == list(theirs.topic_sizes_.items())
    assert ours.topic_representations == representations(theirs)
    assert ours.topic_labels == theirs.topic_labels_
    assert ours.topic_mapper == np.asarray(theirs.topic_mapper_.mappings_).tolist()
    np.testing.assert_array_equal(ours.topic_embeddings, theirs.topic_embeddings_)
    assert ours.custom_labels is None is theirs.custom_labels_
    assert ours.ctfidf is None and theirs.c_tf_idf_ is None


def test_merging_a_model_with_itself_adds_no_topics(bertopic_dir):
    from bertopic import BERTopic

    model = load_model(bertopic_dir)
    merged = merge_saved_models([model, model])
    assert merged.topic_representations == model.topic_representations
    np.testing.assert_array_equal(merged.topic_embeddings, model.topic_embeddings)
    assert merged.topics == model.topics * 2
    assert merged.topic_sizes == {t: 2 * n for t, n in model.topic_sizes.items()}
    theirs = BERTopic.load(bertopic_dir)
    assert_same_merge(merged, BERTopic.merge_models([theirs, theirs]))


@pytest.mark.parametrize(("order", "min_similarity"), [
    ((0, 1), 0.7),  # base without outliers, later model with: its unmatched topics are added, its -1 stays -1
    ((0, 1), 0.5),  # a looser threshold matches more
    ((1, 0), 0.95),  # base with outliers (matched rows shift by one)
    ((0, 1, 0), 0.7),  # the third model matches topics of the first again, adds none
])
def test_merge_matches_bertopic(slice_models, tmp_path, order, min_similarity):
    from bertopic import BERTopic

    ours = merge_saved_models([slice_models[i][0] for i in order], min_similarity=min_similarity)
    theirs = BERTopic.merge_models([slice_models[i][1] for i in order], min_similarity=min_similarity)
    assert_same_merge(ours, theirs)
    added = len(ours.topic_representations) - len(slice_models[order[0]][0].topic_representations)
    assert 0 < added < len(slice_models[order[1]][0].topic_representations)
    if order == (0, 1, 0):  # the first model's topics are all matched again: as many as (0, 1) alone adds
        pair = merge_saved_models([slice_models[0][0], slice_models[1][0]], min_similarity=min_similarity)
        assert len(ours.topic_representations) == len(pair.topic_representations)
    assert len(ours.topics) == 1000 * len(order)
    # The merged model saves without c-TF-IDF and loads into BERTopic with the same topic table.
    reloaded = BERTopic.load(save_model(tmp_path / "merged", ours, save_embedding_model=False))
    pd.testing.assert_frame_equal(topic_info(reloaded), topic_info(theirs))
    assert not (tmp_path / "merged" / "ctfidf.safetensors").exists()


def test_merge_rejects_bad_arguments(slice_models):
    model = slice_models[0][0]
    with pytest.raises(StageInputError, match="at least one model"):
        merge_saved_models([])
    with pytest.raises(ParamsError, match=r"min_similarity must be a cosine similarity in \[-1, 1\]; got 1.5"):
        merge_saved_models([model, model], min_similarity=1.5)
    narrow = copy.copy(model)
    narrow.topic_embeddings = model.topic_embeddings[:, :10]
    with pytest.raises(StageInputError, match=r"embedding widths \[10, 384\]"):
        merge_saved_models([model, narrow])
    assert sp.issparse(model.ctfidf)  # the inputs keep their c-TF-IDF; only the merged model drops it


def test_custom_labels_aspects_and_default_mapper_round_trip(slice_models, tmp_path):
    from bertopic import BERTopic

    model = copy.deepcopy(slice_models[0][0])
    ids = sorted(model.topic_sizes)
    model.custom_labels = [f"label {t}" for t in ids]
    model.topic_aspects = {"KeyBERT": {t: [("word", 0.5), ("other", 0.25)] for t in ids}, "Summary": {t: "text" for t in ids}}
    model.topic_mapper = None  # no renumbering: written as each topic mapped to itself, like BERTopic's TopicMapper
    path = save_model(tmp_path / "model", model, save_embedding_model=False)
    loaded = load_model(path)
    assert loaded.custom_labels == model.custom_labels and loaded.topic_aspects == model.topic_aspects
    assert loaded.topic_mapper == [[t, t] for t in ids] and loaded.embedding_model is None
    info = BERTopic.load(path).get_topic_info()
    assert info["CustomName"].tolist() == model.custom_labels
    assert info["KeyBERT"].tolist() == [["word", "other"]] * len(ids) and set(info["Summary"]) == {"text"}
