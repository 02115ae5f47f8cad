"""Save and load a fitted topic model in BERTopic's safetensors directory layout.

The folder holds only JSON and safetensors, so loading it runs no code:
``topics.json`` (per-document topics, sizes, words, labels, mapper, aspects),
``config.json`` (BERTopic's hyperparameters plus the embedding model name),
``topic_embeddings.safetensors`` and, optionally, ``ctfidf.safetensors`` with
``ctfidf_config.json`` (vectorizer settings and vocabulary). ``BERTopic.load``
reads a folder we write, and we read one BERTopic writes. UMAP and HDBSCAN are
not part of this format: a loaded model assigns new documents to the topic
whose embedding is closest in cosine, as BERTopic does after such a load.

BERTopic's default format is a pickle, and unpickling a file runs whatever code
its author put in it. ``load_model`` therefore refuses pickle files, and any
folder holding one, instead of opening them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from topic_pipeline.errors import ParamsError, StageInputError, StoreError

logger = logging.getLogger(__name__)

Serialization = Literal["safetensors", "pickle", "pytorch"]

TOPICS_FILE = "topics.json"
CONFIG_FILE = "config.json"
EMBEDDINGS_FILE = "topic_embeddings.safetensors"
CTFIDF_FILE = "ctfidf.safetensors"
CTFIDF_CONFIG_FILE = "ctfidf_config.json"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".joblib", ".ckpt")

# BERTopic's constructor arguments that config.json carries (those without "model" in the
# name), with BERTopic 0.17.4's defaults. BERTopic.load passes them to BERTopic(**config).
BERTOPIC_CONFIG_DEFAULTS: dict[str, Any] = {
    "calculate_probabilities": False, "language": "english", "low_memory": False, "min_topic_size": 10,
    "n_gram_range": (1, 1), "nr_topics": None, "seed_topic_list": None, "top_n_words": 10, "verbose": False,
    "zeroshot_min_similarity": 0.7, "zeroshot_topic_list": None,
}
# BERTopic.load reads exactly these two c-TF-IDF settings back; more keys are kept but unused.
CTFIDF_REQUIRED = ("bm25_weighting", "reduce_frequent_words")
# CountVectorizer settings that cannot be written as JSON (BERTopic drops them too).
_VECTORIZER_DROPPED = ("tokenizer", "preprocessor", "dtype")


@dataclass
class SavedTopicModel:
    """Everything the safetensors layout holds, with BERTopic's attribute meanings.

    Attributes
    ----------
    topics : list of int, length n_documents
        Topic of each training document (-1 = outlier).
    topic_sizes, topic_labels : dict of int to int, dict of int to str
        Documents per topic; default names (``"3_space_nasa_orbit_launch"``).
    topic_representations : dict of int to list of (str, float)
        Topic words with their weights, best first.
    topic_embeddings : ndarray of shape (n_topic_rows, embedding_dim), float32
        One row per topic in ascending id order, the -1 row first when present.
    topic_mapper : list of list of int, optional
        BERTopic's ``TopicMapper.mappings_`` (row = original topic, last column = current id).
        None (no renumbering) is written as each topic mapped to itself.
    custom_labels : list of str, optional
        User labels, one per topic in ascending id order.
    topic_aspects : dict of str to dict of int to list
        Extra representations per aspect name.
    ctfidf, idf, vocabulary : csr_matrix of shape (n_topic_rows, n_terms), ndarray of shape (n_terms,), list of str
        c-TF-IDF weights (rows like ``topic_embeddings``), fitted idf (seed boosts included)
        and the terms in column order; all three or none.
    vectorizer_params, ctfidf_params, config : dict
        ``CountVectorizer`` arguments, c-TF-IDF settings (``bm25_weighting``,
        ``reduce_frequent_words``; other keys are kept) and BERTopic hyperparameters by
        BERTopic's names. Missing vectorizer and config keys are written with the defaults.
    embedding_model : str, optional
        Name of the sentence-transformers model that embedded the documents.
    """

    topics: list[int]
    topic_sizes: dict[int, int]
    topic_representations: dict[int, list[tuple[str, float]]]
    topic_embeddings: np.ndarray
    topic_labels: dict[int, str]
    topic_mapper: list[list[int]] | None = None
    custom_labels: list[str] | None = None
    topic_aspects: dict[str, dict[int, Any]] = field(default_factory=dict)
    ctfidf: sp.csr_matrix | None = None
    idf: np.ndarray | None = None
    vocabulary: list[str] | None = None
    vectorizer_params: dict[str, Any] = field(default_factory=dict)
    ctfidf_params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    embedding_model: str | None = None

    @property
    def outliers(self) -> int:
        """1 if the outlier topic -1 exists (its row comes first), else 0 (BERTopic's ``_outliers``)."""
        return 1 if -1 in self.topic_sizes else 0


def save_model(path: str | os.PathLike[str], model: SavedTopicModel, *, serialization: Serialization = "safetensors",
               save_ctfidf: bool = True, save_embedding_model: bool | str = True) -> Path:
    """Write ``model`` as a BERTopic safetensors folder at ``path``; return the folder.

    Parameters
    ----------
    path : str or PathLike
        The folder to create. It must not exist yet, so nothing is ever overwritten.
    model : SavedTopicModel
    serialization : {"safetensors"}
        Only safetensors: "pickle" and "pytorch" files run code when loaded.
    save_ctfidf : bool
        Also write ``ctfidf.safetensors`` and ``ctfidf_config.json`` (skipped with a warning
        when the model has no c-TF-IDF, e.g. after merging).
    save_embedding_model : bool or str
        True writes ``model.embedding_model``; a string writes that name instead (e.g.
        ``"sentence-transformers/all-MiniLM-L6-v2"``); False writes none.

    Raises
    ------
    ParamsError
        ``serialization`` is not "safetensors", or the config/vectorizer/c-TF-IDF settings
        have keys BERTopic cannot load.
    StageInputError
        ``path`` exists, or the model's arrays do not fit together.
    StoreError
        The folder cannot be written.
    """
    if serialization != "safetensors":
        raise ParamsError(
            f"serialization must be 'safetensors' (one of {get_args(Serialization)} in BERTopic); got "
            f"{serialization!r}. Only safetensors is written because pickle and pytorch files run code "
            "when they are loaded; use serialization='safetensors'.")
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise StageInputError(f"Cannot save the topic model to {target}: the path already exists. "
                              "Pick a new path or remove the existing one first.")
    files = _layout(model, save_ctfidf=save_ctfidf, save_embedding_model=save_embedding_model)
    tmp = target.parent / f".{target.name}.partial-{uuid.uuid4().hex}"
    try:
        tmp.mkdir(parents=True)
        for name, content in files.items():
            (tmp / name).write_bytes(content if isinstance(content, bytes) else json.dumps(content, indent=2).encode())
        os.rename(tmp, target)
    except OSError as exc:
        raise StoreError(f"Could not write the topic model to {target} ({exc}); check that the parent "
                         "folder is writable and the path is still free.") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_model(path: str | os.PathLike[str]) -> SavedTopicModel:
    """Read a safetensors topic-model folder (ours or BERTopic's) without running any code.

    Raises
    ------
    StageInputError
        ``path`` is a file (BERTopic's pickle format) or the folder holds pickle-like files:
        they are refused, never opened.
    StoreError
        The folder or one of its files is missing or malformed (the message names the file).
    """
    folder = Path(path)
    if folder.is_file():
        raise StageInputError(
            f"{folder} is a file, not a safetensors model folder; BERTopic's pickle format saves a file. "
            "Pickles are not loaded here because unpickling runs code stored in the file. In an "
            "environment you trust, re-save it with BERTopic.load(file).save(folder, "
            "serialization='safetensors', save_ctfidf=True) and load that folder.")
    if not folder.is_dir():
        raise StoreError(f"Topic model folder {folder} does not exist; give the folder that save_model "
                         "or BERTopic.save(..., serialization='safetensors') wrote.")
    pickles = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise StageInputError(
            f"{folder} holds pickle-like files {pickles}; the folder is refused and nothing in it is "
            "loaded, because unpickling runs code stored in the file. Re-save the model with "
            "serialization='safetensors' into a new folder (or remove those files if they are stray).")
    topics = _read_json(folder / TOPICS_FILE)
    config = _read_json(folder / CONFIG_FILE)
    embeddings = _read_tensors(folder / EMBEDDINGS_FILE, ("topic_embeddings",))["topic_embeddings"]
    model = _parse_topics(topics, folder / TOPICS_FILE, embeddings)
    if not isinstance(config, dict):
        raise StoreError(f"{folder / CONFIG_FILE} must hold a JSON object of hyperparameters; got {config!r:.80}.")
    model.embedding_model = config.pop("embedding_model", None)
    model.config = config | {"n_gram_range": tuple(config.get("n_gram_range") or (1, 1))}
    if (folder / CTFIDF_FILE).exists() or (folder / CTFIDF_CONFIG_FILE).exists():
        _parse_ctfidf(model, folder)  # both files or a StoreError naming the missing one
    return model


# --- writing -------------------------------------------------------------------------------
def _layout(model: SavedTopicModel, *, save_ctfidf: bool, save_embedding_model: bool | str) -> dict[str, Any]:
    """File name -> JSON value or safetensors bytes, checked before anything touches the disk."""
    from safetensors.numpy import save as save_tensors

    embeddings = np.asarray(model.topic_embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise StageInputError(f"topic_embeddings must be 2-D (n_topics, dim); got shape {embeddings.shape}. "
                              "Pass one embedding row per topic.")
    files: dict[str, Any] = {
        EMBEDDINGS_FILE: save_tensors({"topic_embeddings": np.ascontiguousarray(embeddings)}),
        TOPICS_FILE: _topics_json(model),
        CONFIG_FILE: _config_json(model, save_embedding_model),
    }
    if save_ctfidf and model.ctfidf is None:
        logger.warning("The model has no c-TF-IDF (as after merging models), so %s is not written.", CTFIDF_FILE)
    elif save_ctfidf:
        files[CTFIDF_FILE] = save_tensors(_ctfidf_tensors(model))
        files[CTFIDF_CONFIG_FILE] = _ctfidf_config_json(model)
    try:
        json.dumps([content for content in files.values() if not isinstance(content, bytes)])
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"The model holds a value JSON cannot store ({exc}); pass plain strings, numbers, "
                          "lists and dicts in config, vectorizer_params, ctfidf_params and topic_aspects.") from exc
    return files


def _topics_json(model: SavedTopicModel) -> dict[str, Any]:
    mapper = model.topic_mapper
    if mapper is None:
        mapper = [[topic, topic] for topic in sorted(set(model.topics))]
    return {
        "topic_representations": {int(t): [[str(w), float(s)] for w, s in words]
                                  for t, words in model.topic_representations.items()},
        "topics": [int(t) for t in model.topics],
        "topic_sizes": {int(t): int(n) for t, n in model.topic_sizes.items()},
        "topic_mapper": [[int(t) for t in row] for row in mapper],
        "topic_labels": {int(t): str(label) for t, label in model.topic_labels.items()},
        "custom_labels": None if model.custom_labels is None else [str(x) for x in model.custom_labels],
        "_outliers": model.outliers,
        "topic_aspects": {str(a): {int(t): _plain(v) for t, v in values.items()}
                          for a, values in model.topic_aspects.items()},
    }


def _config_json(model: SavedTopicModel, save_embedding_model: bool | str) -> dict[str, Any]:
    unknown = sorted(set(model.config) - set(BERTOPIC_CONFIG_DEFAULTS))
    if unknown:
        raise ParamsError(f"config has keys BERTopic's constructor does not take: {unknown}. Expected only "
                          f"{sorted(BERTOPIC_CONFIG_DEFAULTS)}; drop or rename the others.")
    config = {key: _plain(value) for key, value in sorted((BERTOPIC_CONFIG_DEFAULTS | model.config).items())}
    if isinstance(save_embedding_model, str):
        config["embedding_model"] = save_embedding_model
    elif save_embedding_model and model.embedding_model is not None:
        config["embedding_model"] = model.embedding_model
    else:
        logger.warning("Saving without an embedding model name: whoever loads %s must supply the "
                       "embedding model to embed new documents.", CONFIG_FILE)
    return config


def _ctfidf_tensors(model: SavedTopicModel) -> dict[str, np.ndarray]:
    matrix = sp.csr_matrix(model.ctfidf, dtype=np.float64)
    vocabulary, idf = model.vocabulary, model.idf
    if vocabulary is None or idf is None or not matrix.shape[1] == len(vocabulary) == len(idf):
        raise StageInputError(
            "ctfidf, idf and vocabulary must describe the same terms; got ctfidf with "
            f"{matrix.shape[1]} columns, {None if vocabulary is None else len(vocabulary)} vocabulary terms and "
            f"{None if idf is None else len(idf)} idf values. Pass all three from the same fit.")
    # scipy keeps int32 indices while they fit; BERTopic's files carry whatever scipy had.
    index_dtype = np.int32 if max(matrix.nnz, *matrix.shape) < np.iinfo(np.int32).max else np.int64
    return {
        "indptr": np.ascontiguousarray(matrix.indptr, dtype=index_dtype),
        "indices": np.ascontiguousarray(matrix.indices, dtype=index_dtype),
        "data": np.ascontiguousarray(matrix.data, dtype=np.float64),
        "shape": np.array(matrix.shape, dtype=np.int64),
        "diag": np.ascontiguousarray(idf, dtype=np.float64),
    }


def _ctfidf_config_json(model: SavedTopicModel) -> dict[str, Any]:
    missing = [key for key in CTFIDF_REQUIRED if key not in model.ctfidf_params]
    if missing:
        raise ParamsError(f"ctfidf_params lacks {missing}, which BERTopic.load reads; got "
                          f"{sorted(model.ctfidf_params)}. Pass both as booleans.")
    defaults = {k: v for k, v in CountVectorizer().get_params().items() if k not in _VECTORIZER_DROPPED}
    unknown = sorted(set(model.vectorizer_params) - set(defaults) - {"analyzer"})
    if unknown:
        raise ParamsError(f"vectorizer_params has keys CountVectorizer does not take: {unknown}. Expected a "
                          f"subset of {sorted(defaults)}; drop the others (e.g. our 'language').")
    params = dict(sorted((defaults | model.vectorizer_params).items()))
    if not isinstance(params.get("analyzer", "word"), str):  # a callable cannot go into JSON
        del params["analyzer"]
    return {
        "ctfidf_model": {key: _plain(value) for key, value in model.ctfidf_params.items()},
        "vectorizer_model": {
            "params": {key: _plain(value) for key, value in params.items()},
            "vocab": {str(term): index for index, term in enumerate(model.vocabulary or [])},
        },
    }


def _plain(value: Any) -> Any:
    """Numpy scalars and tuples -> JSON's ints, floats and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# --- reading -------------------------------------------------------------------------------
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StoreError(f"{path} is missing, so the model folder is incomplete (it needs {TOPICS_FILE}, "
                         f"{CONFIG_FILE}, {EMBEDDINGS_FILE}, and {CTFIDF_FILE} with {CTFIDF_CONFIG_FILE} "
                         "together). Save the model again.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path} is not readable JSON ({exc}); the file is damaged. Save the model again.") from exc


def _read_tensors(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    if not path.is_file():
        raise StoreError(f"{path} is missing; save the model again with serialization='safetensors'.")
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own SafetensorError for damaged headers
        raise StoreError(f"{path} is not a readable safetensors file ({exc}); save the model again.") from exc
    missing = [key for key in keys if key not in tensors]
    if missing:
        raise StoreError(f"{path} has no tensor(s) {missing} (found {sorted(tensors)}); save the model again.")
    return tensors


def _parse_topics(topics: Any, path: Path, embeddings: np.ndarray) -> SavedTopicModel:
    try:
        model = SavedTopicModel(
            topics=[int(t) for t in topics["topics"]],
            topic_sizes={int(t): int(n) for t, n in topics["topic_sizes"].items()},
            topic_representations={int(t): [(str(w), float(s)) for w, s in words]
                                   for t, words in topics["topic_representations"].items()},
            topic_embeddings=np.asarray(embeddings, dtype=np.float32),
            topic_labels={int(t): str(label) for t, label in topics["topic_labels"].items()},
            topic_mapper=[[int(t) for t in row] for row in topics["topic_mapper"]],
            custom_labels=None if topics["custom_labels"] is None else [str(x) for x in topics["custom_labels"]],
            # Images of a visual aspect live in images/ and are not read; BERTopic marks them this way.
            topic_aspects={aspect: {int(t): _pairs(v) for t, v in values.items()}
                           for aspect, values in (topics.get("topic_aspects") or {}).items()
                           if aspect != "Visual_Aspect"},
        )
        flag = int(topics.get("_outliers", model.outliers))
    except KeyError as exc:
        raise StoreError(f"{path} has no key {exc}; it is not a BERTopic/topic_pipeline topics file.") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise StoreError(f"{path} holds a value of an unexpected type ({exc}); the file is damaged.") from exc
    if flag != model.outliers or embeddings.ndim != 2:
        raise StoreError(f"{path} is inconsistent: _outliers={flag} but topic -1 is in topic_sizes: "
                         f"{bool(model.outliers)}; embeddings shape {embeddings.shape}. Save the model again.")
    return model


def _parse_ctfidf(model: SavedTopicModel, folder: Path) -> None:
    tensors = _read_tensors(folder / CTFIDF_FILE, ("data", "indices", "indptr", "shape", "diag"))
    config = _read_json(path := folder / CTFIDF_CONFIG_FILE)
    try:
        params = dict(config["vectorizer_model"]["params"])
        vocab = config["vectorizer_model"]["vocab"]
        ctfidf_params = dict(config["ctfidf_model"])
        shape = tuple(int(n) for n in tensors["shape"])
        vocabulary = sorted(vocab, key=lambda term: int(vocab[term]))
        numbers = [int(vocab[term]) for term in vocabulary]
        matrix = sp.csr_matrix((tensors["data"], tensors["indices"], tensors["indptr"]), shape=shape)
    except KeyError as exc:
        raise StoreError(f"{path} has no key {exc}; it is not a BERTopic c-TF-IDF config.") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise StoreError(f"{folder / CTFIDF_FILE} and {path} do not form a c-TF-IDF matrix ({exc}); "
                         "save the model again.") from exc
    if numbers != list(range(len(vocab))) or len(vocab) != shape[1]:
        raise StoreError(f"{path}'s vocabulary must number the {shape[1]} c-TF-IDF columns 0..n-1 once each; "
                         f"got {len(vocab)} terms. Save the model again.")
    params["ngram_range"] = tuple(params.get("ngram_range") or (1, 1))  # JSON has no tuples
    model.ctfidf, model.idf, model.vocabulary = matrix, np.asarray(tensors["diag"], dtype=np.float64), vocabulary
    model.vectorizer_params, model.ctfidf_params = params, ctfidf_params


def _pairs(value: Any) -> Any:
    """JSON turns (word, weight) tuples into lists; turn them back."""
    if isinstance(value, list) and all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) for v in value):
        return [(v[0], v[1]) for v in value]
    return value
