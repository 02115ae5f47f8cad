"""Embedding with the real default model (a few dozen documents) and the per-document cache.

Also the promises of the embedding stage: nothing non-finite or misshapen is
stored (precomputed or from a model), unreadable files are named, and the
per-document cache is keyed by the model's weights, not its name.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import EmbeddingParams, parse_params
from topic_pipeline.pipeline import embedding
from topic_pipeline.pipeline.embedding import (
    embed_texts,
    load_precomputed,
    model_cache_key,
    model_identity,
    register_model,
)
from topic_pipeline.pipeline.runner import materialize_stage
from topic_pipeline.pipeline.stage_outputs import EmbeddingsOutput
from topic_pipeline.pipeline.store import StageStore, vectors_from_column


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
    reference = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:30]
    got = EmbeddingsOutput(first.output_dir).vectors()
    cosine = (got * reference).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() > 0.99  # the same model as the precomputed file (CPU float noise only)

    # 10 new documents plus one old text under a new id: only the 10 are embedded
    grown = pd.DataFrame({"doc_id": [f"d{i}" for i in range(40)] + ["copy-of-d3"], "text": texts + [texts[3]]})
    grown.to_parquet(corpus)
    second = _embed(store, corpus, "r2")
    assert second.computed and second.metadata["newly_embedded"] == len(set(texts[30:]) - set(texts[:30]))
    stored = EmbeddingsOutput(second.output_dir).vectors()
    assert np.array_equal(stored[40], stored[3])
    assert np.array_equal(stored[:30], got)

    # the same texts under new ids: every one is cached, and a fresh process neither imports torch nor loads the model
    grown.assign(doc_id=[f"again-{i}" for i in range(len(grown))]).iloc[::-1].to_parquet(corpus)
    third = _run_in_fresh_process(corpus, store.root)
    assert third == {"computed": True, "newly_embedded": 0, "heavy_modules": []}


_STAGE_SCRIPT = """
import json, sys
from topic_pipeline.params import parse_params
from topic_pipeline.pipeline.runner import materialize_stage
from topic_pipeline.pipeline.store import StageStore
params, store = parse_params({"corpus": {"source": sys.argv[1]}}), StageStore(sys.argv[2])
materialize_stage("documents", params, store, run_id="fresh")
outcome = materialize_stage("embeddings", params, store, run_id="fresh")
heavy = [name for name in ("torch", "sentence_transformers", "transformers") if name in sys.modules]
print(json.dumps({"computed": outcome.computed, "newly_embedded": outcome.metadata["newly_embedded"],
                  "heavy_modules": heavy}))
"""


def _run_in_fresh_process(corpus, root):
    done = subprocess.run([sys.executable, "-c", _STAGE_SCRIPT, str(corpus), str(root)], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[2], timeout=300,
                          env=os.environ | {"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


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

    from topic_pipeline.pipeline.store import vectors_to_column

    matrix = np.random.default_rng(0).random((5, 7), dtype=np.float32)
    assert np.array_equal(vectors_from_column(pa.chunked_array([vectors_to_column(matrix)])), matrix)


# --- helpers for the promises below -------------------------------------------------------------
@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    """Registered fakes stay in their test: the registry maps names to objects for the whole process."""
    monkeypatch.setattr(embedding, "_REGISTERED_MODELS", {})


def _corpus(tmp_path, n=20, prefix="a:", name="corpus.parquet"):
    texts = [f"document number {i} talks about subject {'abc'[i % 3]} and more" for i in range(n)]
    path = tmp_path / name
    pd.DataFrame({"doc_id": [f"{prefix}{i}" for i in range(n)], "text": texts}).to_parquet(path)
    return path


def _materialize(store, corpus, embedding_section):
    params = parse_params({"corpus": {"source": str(corpus)}, "embedding": embedding_section})
    materialize_stage("documents", params, store, run_id="t")
    return materialize_stage("embeddings", params, store, run_id="t")


def _stored_embeddings(store):
    return sorted(store.root.rglob("embeddings.parquet"))


def _cached_parts(store, model_name, normalize=False):
    return sorted(store.embedding_cache_dir(model_cache_key(EmbeddingParams(model=model_name, normalize=normalize)))
                  .glob("*.parquet"))


LETTERS = "abcdefghijklmnopqrstuvwxyz"


class FakeEncoder:
    """A tiny model: a fixed random projection of letter counts, with a card naming its base model."""

    def __init__(self, seed, base_model="org/base-model", width=6, poison=None):
        self.weights = np.random.default_rng(seed).normal(size=(len(LETTERS), width)).astype(np.float32)
        self.model_card_data = SimpleNamespace(base_model=base_model)
        self.poison, self.encoded = poison, 0

    def state_dict(self):
        return {"projection": self.weights}

    def get_embedding_dimension(self):
        return self.weights.shape[1]

    def encode(self, texts, batch_size=32, show_progress_bar=False, normalize_embeddings=False, convert_to_numpy=True):
        self.encoded += len(texts)
        counts = np.array([[t.lower().count(c) for c in LETTERS] for t in texts], dtype=np.float32)
        vectors = counts @ self.weights
        if normalize_embeddings:
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if self.poison is not None:
            vectors[[i for i, t in enumerate(texts) if self.poison in t]] = self.poison_value
        return vectors

    poison_value = np.nan


class ProbedEncoder(FakeEncoder):
    """The same fake without a state_dict (an API client, say): fingerprinted by probe vectors."""

    state_dict = None


# --- 1. validation: nothing non-finite or misshapen is stored -----------------------------------
@pytest.mark.parametrize("bad, problem", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf"), (1e300, "inf")])
def test_non_finite_precomputed_npy_is_refused_before_anything_is_stored(tmp_path, bad, problem):
    corpus = _corpus(tmp_path)
    vectors = np.ones((20, 4), dtype=np.float64)
    vectors[17, 2] = bad  # 1e300 is finite in float64 but inf as the float32 we store
    np.save(tmp_path / "x.npy", vectors)
    store = StageStore(tmp_path / "warehouse")
    message = rf"^Precomputed embeddings \S*x\.npy: row 17 \(doc_id 'a:17'\) has {problem}\.$"
    with pytest.raises(EmbeddingError, match=message):
        _materialize(store, corpus, {"precomputed": str(tmp_path / "x.npy")})
    assert _stored_embeddings(store) == [] and store.current("embeddings") is None


def test_the_message_names_the_row_of_the_file_not_the_position_of_the_document(tmp_path):
    vectors = np.ones((4, 3), dtype=np.float32)
    vectors[2, 0] = np.nan
    np.save(tmp_path / "v.npy", vectors)
    with pytest.raises(EmbeddingError, match=r"v\.npy: row 2 \(doc_id 'c'\) has NaN"):
        load_precomputed(tmp_path / "v.npy", ["a", "c"], corpus_rows=[0, 2], corpus_size=4, allow_prefix=False)
    assert load_precomputed(tmp_path / "v.npy", ["a", "d"], corpus_rows=[0, 3], corpus_size=4,
                            allow_prefix=False).dtype == np.float32  # the bad row is not this run's: fine


@pytest.mark.parametrize("array, problem", [
    pytest.param(np.ones(4), r"expected a 2-d array, got shape \(4,\)", id="1-d"),
    pytest.param(np.ones((4, 2, 2)), r"expected a 2-d array, got shape \(4, 2, 2\)", id="3-d"),
    pytest.param(np.ones((4, 0)), r"the vectors have 0 columns", id="no-columns"),
    pytest.param(np.ones((4, 3), dtype=bool), r"expected a matrix of numbers, got dtype bool", id="bool"),
    pytest.param(np.ones((4, 3), dtype=complex), r"expected a matrix of numbers, got dtype complex128", id="complex"),
])
def test_precomputed_npy_must_be_a_matrix_of_numbers(tmp_path, array, problem):
    np.save(tmp_path / "v.npy", array)
    with pytest.raises(EmbeddingError, match=rf"^Precomputed embeddings \S*v\.npy: {problem}"):
        load_precomputed(tmp_path / "v.npy", list("abcd"), corpus_rows=range(4), corpus_size=4, allow_prefix=False)


def test_integer_precomputed_vectors_become_float32(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(8, dtype=np.int64).reshape(4, 2))
    got = load_precomputed(tmp_path / "v.npy", list("abcd"), corpus_rows=range(4), corpus_size=4, allow_prefix=False)
    assert got.dtype == np.float32 and got.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]


def _vector_table(vectors, value_type, ids):
    """doc_id + a list column of ``value_type`` (an Arrow type name), as written by hand or by another tool."""
    import pyarrow as pa

    return pa.table({"doc_id": list(ids), "vector": pa.array(vectors, type=pa.list_(getattr(pa, value_type)()))})


@pytest.mark.parametrize("vectors, value_type, ids, requested, problem", [
    pytest.param([[1, 2, 3], [1, 2, 3], [1, 2]], "float32", "abc", "abc",
                 r"row 2 \(doc_id 'c'\) has 2 values but row 0 has 3; every vector must have the same length",
                 id="ragged"),
    pytest.param([[1, 2, 3], [1, 2, 3], [1, 2]], "float32", "abc", "a",
                 r"row 2 \(doc_id 'c'\) has 2 values but row 0 has 3", id="ragged-in-a-row-not-requested"),
    pytest.param([[1, 2, 3], [1, float("nan"), 3], [1, 2, 3]], "float64", "abc", "cab", r"row 1 \(doc_id 'b'\) has NaN",
                 id="nan"),
    pytest.param([[1, 2, 3], [1, 2, 3], [float("-inf"), 2, 3]], "float32", "abc", "abc",
                 r"row 2 \(doc_id 'c'\) has -inf", id="inf"),
    pytest.param([[1, 2, 3], None, [1, 2, 3]], "float32", "abc", "abc", r"row 1 \(doc_id 'b'\) has no vector \(null\)",
                 id="null-vector"),
    pytest.param([[1, 2, 3], [1, 2, 3], [1, None, 3]], "float32", "abc", "abc",
                 r"row 2 \(doc_id 'c'\) has a missing value \(null\)", id="null-value"),
    pytest.param([[], [], []], "float32", "abc", "abc", r"the vectors have 0 columns", id="empty-vectors"),
    pytest.param([["1"], ["2"], ["3"]], "string", "abc", "abc", r"column 'vector' must hold lists of numbers",
                 id="strings"),
    pytest.param([[1, 2], [3, 4], [5, 6]], "int64", "aba", "ab", r"doc_id 'a' has more than one vector",
                 id="repeated-id"),
])
def test_precomputed_parquet_vectors_are_checked_row_by_row(tmp_path, vectors, value_type, ids, requested, problem):
    import pyarrow.parquet as pq

    pq.write_table(_vector_table(vectors, value_type, ids), tmp_path / "v.parquet")
    with pytest.raises(EmbeddingError, match=rf"^Precomputed embeddings \S*v\.parquet: {problem}"):
        load_precomputed(tmp_path / "v.parquet", list(requested), corpus_rows=[-1] * len(requested), corpus_size=0,
                         allow_prefix=False)


def test_non_finite_vectors_from_a_model_never_reach_the_cache_or_the_output(tmp_path):
    corpus = _corpus(tmp_path)
    model = FakeEncoder(0, poison="number 3 ")
    name = register_model(model)
    store = StageStore(tmp_path / "warehouse")
    with pytest.raises(EmbeddingError, match=r"^Embedding model 'org/base-model': text 3 \(doc_id 'a:3'\) has NaN\.$"):
        _materialize(store, corpus, {"model": name})
    assert _cached_parts(store, name) == [] and _stored_embeddings(store) == []


def test_a_bad_chunk_is_not_handed_to_the_cache_but_earlier_good_chunks_are():
    model, handed = FakeEncoder(0, poison="three"), []
    model.poison_value = np.inf
    texts = ["one", "two", "three", "four", "five"]
    with pytest.raises(EmbeddingError, match=r"text 2 \(doc_id 'x2'\) has inf"):
        embed_texts(texts, EmbeddingParams(model="fake"), chunk_size=2, model=model,
                    on_chunk=lambda start, vectors: handed.append(start), doc_ids=[f"x{i}" for i in range(5)])
    assert handed == [0]


class _WrongWidth(FakeEncoder):
    def get_embedding_dimension(self):
        return 5


class _OneShort(FakeEncoder):
    def encode(self, texts, **kwargs):
        return super().encode(texts, **kwargs)[:-1]


class _Ragged(FakeEncoder):
    def encode(self, texts, **kwargs):
        return [np.ones(3)] + [np.ones(2)] * (len(texts) - 1)


@pytest.mark.parametrize("model, problem", [
    pytest.param(_WrongWidth(0), r"the vectors have 6 columns but the model makes 5", id="width"),
    pytest.param(_OneShort(0), r"3 vectors for 4 documents", id="rows"),
    pytest.param(_Ragged(0), r"the vectors do not form a matrix", id="ragged"),
])
def test_a_model_must_return_one_vector_of_its_width_per_text(model, problem):
    with pytest.raises(EmbeddingError, match=rf"^Embedding model 'fake': {problem}"):
        embed_texts(["a", "b", "c", "d"], EmbeddingParams(model="fake"), model=model)


# --- 2. missing or unreadable precomputed files --------------------------------------------------
class _Trap:
    """Unpickling this creates a folder: a pickle in a data file must never be executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _bad_file(tmp_path, kind):
    """A precomputed file that cannot be used, and the message it must give."""
    if kind == "missing":
        return tmp_path / "nope.npy", r"nope\.npy do not exist \(embedding\.precomputed\)"
    if kind == "directory":
        (tmp_path / "folder.npy").mkdir()
        return tmp_path / "folder.npy", r"folder\.npy \(embedding\.precomputed\) is not a file"
    if kind == "suffix":
        (tmp_path / "v.csv").write_text("1,2,3\n")
        return tmp_path / "v.csv", r"v\.csv: use a \.npy \(row-aligned\) or \.parquet \(doc_id \+ vector\) file"
    if kind == "pickle":
        np.save(tmp_path / "o.npy", np.array([_Trap(tmp_path / "pwned")] * 20, dtype=object), allow_pickle=True)
        return tmp_path / "o.npy", r"o\.npy cannot be read: it holds pickled Python objects, which are never loaded"
    if kind == "garbage-npy":
        (tmp_path / "g.npy").write_bytes(b"not an array at all" * 10)
        return tmp_path / "g.npy", r"g\.npy cannot be read"
    if kind == "truncated-npy":
        np.save(tmp_path / "t.npy", np.ones((20, 8), dtype=np.float32))
        (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:300])
        return tmp_path / "t.npy", r"t\.npy cannot be read"
    (tmp_path / "c.parquet").write_bytes(b"PAR1 this is no parquet file PAR1")
    return tmp_path / "c.parquet", r"c\.parquet cannot be read"


@pytest.mark.parametrize("kind", ["missing", "directory", "suffix", "pickle", "garbage-npy", "truncated-npy",
                                  "corrupt-parquet"])
def test_an_unusable_precomputed_file_is_a_clear_embedding_error(tmp_path, kind):
    corpus = _corpus(tmp_path)
    path, problem = _bad_file(tmp_path, kind)
    store = StageStore(tmp_path / "warehouse")
    with pytest.raises(EmbeddingError, match=rf"^Precomputed embeddings \S*{problem}") as raised:
        _materialize(store, corpus, {"precomputed": str(path)})
    assert "\n" not in str(raised.value) and _stored_embeddings(store) == []
    assert not (tmp_path / "pwned").exists()


def test_a_precomputed_file_that_cannot_be_opened_names_the_file_and_the_key(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path)
    np.save(tmp_path / "locked.npy", np.ones((20, 3), dtype=np.float32))

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(embedding, "open", refuse, raising=False)  # tests run as root, where chmod 000 is no lock
    with pytest.raises(EmbeddingError, match=r"locked\.npy \(embedding\.precomputed\) cannot be read: "
                                             r"PermissionError: Permission denied"):
        _materialize(StageStore(tmp_path / "warehouse"), corpus, {"precomputed": str(tmp_path / "locked.npy")})


# --- 3. the cache key identifies the weights -----------------------------------------------------
def test_fine_tuned_models_naming_the_same_base_model_never_read_each_others_vectors(tmp_path):
    corpus = _corpus(tmp_path)
    base, tuned = FakeEncoder(0), FakeEncoder(0)
    tuned.weights[4, 1] += 0.5  # one weight moved by fine-tuning; the card still names the base model
    base_name, tuned_name = register_model(base), register_model(tuned)
    assert base_name == "org/base-model" and tuned_name.startswith("org/base-model@")
    assert model_cache_key(EmbeddingParams(model=base_name)) != model_cache_key(EmbeddingParams(model=tuned_name))

    store = StageStore(tmp_path / "warehouse")
    texts = pd.read_parquet(corpus)["text"].tolist()
    first = _materialize(store, corpus, {"model": base_name})
    second = _materialize(store, corpus, {"model": tuned_name})
    assert first.metadata["newly_embedded"] == second.metadata["newly_embedded"] == tuned.encoded == 20
    for outcome, model in ((first, base), (second, tuned)):
        stored = EmbeddingsOutput(outcome.output_dir).vectors()
        np.testing.assert_allclose(stored, model.encode(texts), rtol=1e-6)


def test_the_same_model_loaded_twice_shares_one_key_and_its_cached_vectors(tmp_path):
    store = StageStore(tmp_path / "warehouse")
    first = FakeEncoder(7)
    _materialize(store, _corpus(tmp_path), {"model": register_model(first)})
    again = FakeEncoder(7)  # another object, the same weights
    name = register_model(again)
    assert model_cache_key(EmbeddingParams(model=name)) == model_cache_key(EmbeddingParams(model=register_model(first)))
    outcome = _materialize(store, _corpus(tmp_path, prefix="other:", name="other.parquet"), {"model": name})
    assert outcome.metadata["newly_embedded"] == 0 and again.encoded == 0


def test_registering_again_after_training_in_place_gives_a_new_key():
    model = FakeEncoder(1)
    before = model_cache_key(EmbeddingParams(model=register_model(model)))
    model.weights[0, 0] += 1.0
    assert model_cache_key(EmbeddingParams(model=register_model(model))) != before


def test_models_without_parameters_are_fingerprinted_by_probe_vectors():
    one, same, other = ProbedEncoder(3), ProbedEncoder(3), ProbedEncoder(4)
    fingerprints = [embedding.model_object_fingerprint(m) for m in (one, same, other)]
    assert fingerprints[0].startswith("probes:") and fingerprints[0] == fingerprints[1] != fingerprints[2]
    assert embedding.model_object_fingerprint(FakeEncoder(3)).startswith("params:")


def test_normalize_is_part_of_the_key():
    name = register_model(FakeEncoder(2))
    assert model_cache_key(EmbeddingParams(model=name)) != model_cache_key(EmbeddingParams(model=name, normalize=True))


def test_the_same_sentence_transformer_loaded_twice_has_one_fingerprint_and_a_changed_weight_another():
    torch = pytest.importorskip("torch")
    from sentence_transformers import SentenceTransformer

    shared = embedding.load_sentence_model("all-MiniLM-L6-v2")  # already loaded by the first test
    fresh = SentenceTransformer(str(embedding.local_model_folder("all-MiniLM-L6-v2")), device="cpu")
    loaded = embedding.model_object_fingerprint(shared)
    assert loaded.startswith("params:") and embedding.model_object_fingerprint(fresh) == loaded
    with torch.no_grad():
        next(fresh.parameters()).view(-1)[0] += 1e-3
    moved = embedding.model_object_fingerprint(fresh)
    fresh.max_seq_length = 64
    assert len({loaded, moved, embedding.model_object_fingerprint(fresh)}) == 3


def _model_folder(path, weights=b"weights, version 1"):
    (path / "1_Pooling").mkdir(parents=True)
    (path / "model.safetensors").write_bytes(weights)
    (path / "modules.json").write_text('[{"idx": 0, "path": "", "type": "Transformer"}]')
    (path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (path / "README.md").write_text("a model card")
    return path


def test_a_model_folder_is_keyed_by_its_weight_and_config_files_not_by_its_path(tmp_path):
    folder = _model_folder(tmp_path / "model")
    key = model_cache_key(EmbeddingParams(model=str(folder)))
    assert model_identity(EmbeddingParams(model=str(folder))).resolved
    copy = shutil.copytree(folder, tmp_path / "elsewhere" / "copy")
    assert model_cache_key(EmbeddingParams(model=str(copy))) == key
    (copy / "README.md").write_text("the model card, edited")
    assert model_cache_key(EmbeddingParams(model=str(copy))) == key
    (copy / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    pooled = model_cache_key(EmbeddingParams(model=str(copy)))
    (copy / "model.safetensors").write_bytes(b"weights, version 2 (fine-tuned)")
    assert len({key, pooled, model_cache_key(EmbeddingParams(model=str(copy)))}) == 3
    (folder / "model.safetensors").unlink()
    assert not model_identity(EmbeddingParams(model=str(folder))).resolved  # no weights: nothing to key by


def test_weight_files_are_hashed_once_per_process_until_they_change(tmp_path, monkeypatch):
    folder = _model_folder(tmp_path / "model")
    hashed = []
    real = embedding.file_digest
    monkeypatch.setattr(embedding, "file_digest", lambda path: hashed.append(Path(path).name) or real(path))
    params = EmbeddingParams(model=str(folder))
    first = model_cache_key(params)
    assert sorted(hashed) == ["config.json", "model.safetensors", "modules.json"]
    assert model_cache_key(params) == first and len(hashed) == 3
    (folder / "modules.json").write_text('[{"idx": 0, "path": "", "type": "Transformer"}, {"idx": 1}]')
    assert model_cache_key(params) != first and hashed[3:] == ["modules.json"]


def test_a_model_name_not_available_offline_fails_clearly_only_when_embedding_is_needed(tmp_path):
    pytest.importorskip("sentence_transformers")
    name = "some-org/not-downloaded-model"
    assert not model_identity(EmbeddingParams(model=name)).resolved  # the stage key can still be computed
    store = StageStore(tmp_path / "warehouse")
    with pytest.raises(EmbeddingError, match=rf"^Embedding model '{name}' could not be loaded"):
        _materialize(store, _corpus(tmp_path), {"model": name})
    assert list(store.root.rglob("*.parquet")) == list(store.root.rglob("documents/*/*.parquet"))


def test_cached_vectors_of_another_width_under_a_key_are_refused_not_stacked(tmp_path):
    store, name = StageStore(tmp_path / "warehouse"), register_model(FakeEncoder(5))
    store.add_embeddings(model_cache_key(EmbeddingParams(model=name)), ["not-a-real-hash"], np.ones((1, 3), np.float32))
    with pytest.raises(EmbeddingError, match=r"^Embedding model 'org/base-model': cached vectors have 3 columns but "
                                             r"the model makes 6"):
        _materialize(store, _corpus(tmp_path), {"model": name})
