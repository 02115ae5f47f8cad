"""Steps that bring documents in: ``documents`` (corpus + inbox) and ``embeddings`` (cached per text)."""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.errors import EmbeddingError, StoreError
from topic_pipeline.params import PipelineParams, fingerprint
from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.corpus import LoadedDocuments, files_signature, load_documents, source_signature
from topic_pipeline.pipeline.embedding import (
    check_embeddings,
    embed_texts,
    is_registered_model,
    load_embedding_model,
    load_precomputed,
    model_cache_key,
    model_identity,
    precomputed_digest,
)
from topic_pipeline.pipeline.stage_outputs import DocumentsOutput, EmbeddingsOutput
from topic_pipeline.pipeline.stages.base import PrepareContext, StepContext, TimeWindow
from topic_pipeline.pipeline.store import StageStore, read_json, write_json

_LOADED: dict[tuple, LoadedDocuments] = {}


def _load_documents_once(params: PipelineParams, inbox_file: str | None) -> LoadedDocuments:
    """Read corpus and inbox once per process and file state (a backfill visits many windows)."""
    memo_key = (params.corpus, source_signature(params.corpus), inbox_file)
    if memo_key not in _LOADED:
        _LOADED.clear()
        _LOADED[memo_key] = load_documents(params.corpus, required_file=Path(inbox_file) if inbox_file else None)
    return _LOADED[memo_key]


def prepare_documents(ctx: PrepareContext) -> tuple[str, LoadedDocuments | str]:
    """The content digest of the documents (the stage's key material), and the documents (or, when they were
    not read, that digest, to check them against if the stage is computed).

    Reading and hashing a large corpus costs seconds, so the digest is also
    remembered in the store under the files' signature (path, size,
    modification time, inode and a digest of each file's first and last
    megabyte: ``corpus.files_signature``); an unchanged corpus is then not read
    at all unless the stage has to be computed.
    """
    signature = fingerprint({"corpus": ctx.params.corpus.model_dump(mode="json"), "files": files_signature(ctx.params.corpus),
                             "window": ctx.window.key if ctx.window else None})
    remembered = read_json(_digests_file(ctx.store), {}).get(signature)
    if isinstance(remembered, str) and ctx.inbox_file is None:
        return remembered, remembered
    loaded = _window_documents(ctx)
    digest = _documents_digest(loaded)
    _remember_digest(ctx.store, signature, digest)
    return digest, loaded


def _window_documents(ctx: PrepareContext | StepContext) -> LoadedDocuments:
    inbox_file = getattr(ctx, "inbox_file", None)
    loaded = _load_documents_once(ctx.params, inbox_file)
    if ctx.window is not None:
        loaded = LoadedDocuments(_in_window(loaded.documents, ctx.window), _in_window(loaded.links, ctx.window),
                                 loaded.skipped_files, loaded.corpus_size)
    return loaded


def _documents_digest(loaded: LoadedDocuments) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for frame in (loaded.documents, loaded.links):
        digest.update(pd.util.hash_pandas_object(frame.drop(columns=["ingested_at"]), index=False).to_numpy().tobytes())
    return digest.hexdigest()


_DIGESTS_KEPT = 64


def _digests_file(store: StageStore) -> Path:
    return store.root / "_signatures" / "documents.json"


def _forget_digests(store: StageStore) -> None:
    try:
        _digests_file(store).unlink(missing_ok=True)
    except OSError:
        pass


def _remember_digest(store: StageStore, signature: str, digest: str) -> None:
    """Keep the digest of the last few corpus states (a small JSON file, replaced atomically)."""
    path = _digests_file(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remembered = read_json(path, {})
        remembered.pop(signature, None)
        remembered[signature] = digest
        write_json(path, dict(list(remembered.items())[-_DIGESTS_KEPT:]))
    except OSError:  # a read-only store still runs; it only reads the corpus each time
        pass


def _in_window(frame: pd.DataFrame, window: TimeWindow) -> pd.DataFrame:
    """Rows whose timestamp (or, without one, ingest time) falls in the window."""
    when = frame["timestamp"].fillna(frame["ingested_at"])
    return frame.loc[(when >= window.start) & (when < window.end)].reset_index(drop=True)


def compute_documents(ctx: StepContext) -> dict[str, Any]:
    loaded: LoadedDocuments | str = ctx.prepared
    if isinstance(loaded, str):  # the digest was remembered: read the corpus now, and check it is still that corpus
        remembered, loaded = loaded, _window_documents(ctx)
        if _documents_digest(loaded) != remembered:
            _forget_digests(ctx.store)  # the next run reads the corpus and digests it afresh
            raise StoreError("The corpus no longer matches the digest remembered for its files (rewritten in place "
                             "with the same size and modification time, or read differently by a new version); "
                             "run again.")
    frame = loaded.documents
    for path, problem in loaded.skipped_files.items():
        ctx.log.warning("Skipped inbox file %s: %s", path, problem)
    DocumentsOutput(ctx.out).write(frame, loaded.links)
    return {
        "rows": len(frame),
        "corpus_rows": loaded.corpus_size,
        "unique_texts": int(frame["doc_hash"].nunique()),
        "linked_repeats": len(loaded.links),
        "skipped_inbox_files": len(loaded.skipped_files),
        "with_timestamp": int(frame["timestamp"].notna().sum()),
        "labels": int(frame["label"].nunique()),
        "preview_md": outputs.markdown_table(frame[["doc_id", "label", "text"]], 5),
    }


def prepare_embeddings(ctx: PrepareContext) -> tuple[str, None]:
    """Key material: the precomputed file's content, or the model's weights (see ``model_cache_key``)."""
    settings = ctx.params.embedding
    if settings.precomputed:
        return "precomputed:" + precomputed_digest(Path(settings.precomputed)), None
    return "model:" + model_cache_key(settings), None


def compute_embeddings(ctx: StepContext) -> dict[str, Any]:
    docs = ctx.documents(["doc_id", "doc_hash", "text", "corpus_row"])
    settings = ctx.params.embedding
    if settings.precomputed:
        vectors = load_precomputed(
            Path(settings.precomputed), docs["doc_id"].tolist(), corpus_rows=docs["corpus_row"].to_numpy(),
            corpus_size=outputs.read_manifest(ctx.inputs["documents"][0])["metadata"]["corpus_rows"],
            allow_prefix=ctx.input_params("documents")["limit"] is not None,
        )
        newly_embedded = 0
        source = f"Precomputed embeddings {settings.precomputed}"
    else:
        vectors, newly_embedded = _embed_with_cache(docs, ctx)
        source = f"Embeddings of model {settings.model!r}"
    # the last gate before the output is stored: nothing non-finite or misshapen becomes a valid output
    vectors = check_embeddings(vectors, count=len(docs), source=source,
                               describe=lambda i: f"document {i} (doc_id {str(docs['doc_id'].iloc[i])!r})")
    EmbeddingsOutput(ctx.out).write(docs["doc_id"], vectors, docs["doc_hash"])
    return {
        "rows": len(docs),
        "dimensions": int(vectors.shape[1]),
        "newly_embedded": newly_embedded,
        "source": settings.precomputed or settings.model,
    }


def _embed_with_cache(docs: pd.DataFrame, ctx: StepContext) -> tuple[np.ndarray, int]:
    """Look every text up in the per-document cache; embed (and cache) only the missing ones.

    The cache is keyed by the model's weights. A name with no local files (a
    Hub model not downloaded yet) has no such key: the model is loaded first
    (offline this is the clear "could not be loaded" error), and only once its
    files are local are vectors cached; failing that, nothing is cached.
    """
    settings = ctx.params.embedding
    identity = model_identity(settings)
    model = None
    if not identity.resolved:
        model = load_embedding_model(settings)
        identity = model_identity(settings)
    model_key = identity.key if identity.resolved else None
    cached_hashes, cached_vectors = ctx.store.cached_embeddings(model_key) if model_key else ([], None)
    position = {doc_hash: row for row, doc_hash in enumerate(cached_hashes)}
    unique = docs.drop_duplicates("doc_hash")
    missing = unique.loc[~unique["doc_hash"].isin(position)]
    ctx.log.info(
        "Embedding: %d documents, %d distinct texts, %d already cached, %d to embed",
        len(docs), len(unique), len(unique) - len(missing), len(missing),
    )
    new_vectors = None
    if len(missing):
        new_vectors = _embed_missing(missing, ctx, model_key, model)
        _check_cached_width(cached_vectors, new_vectors, settings.model)
    offset = len(cached_hashes)
    position |= {doc_hash: offset + row for row, doc_hash in enumerate(missing["doc_hash"])}
    parts = [p for p in (cached_vectors, new_vectors) if p is not None]
    pool = np.vstack(parts) if len(parts) > 1 else parts[0]
    return pool[[position[h] for h in docs["doc_hash"]]], len(missing)


def _embed_missing(missing: pd.DataFrame, ctx: StepContext, model_key: str | None, model: Any) -> np.ndarray:
    """Embed the texts not in the cache, adding each (already checked) chunk to the cache as it comes."""
    from tqdm.auto import tqdm

    started = time.monotonic()
    hashes = missing["doc_hash"].tolist()
    bar = tqdm(total=len(hashes), desc="embedding", unit="doc", disable=not _is_terminal())
    done = 0

    def keep_chunk(start: int, vectors: np.ndarray) -> None:
        nonlocal done
        if model_key is not None:
            ctx.store.add_embeddings(model_key, hashes[start : start + len(vectors)], vectors)
        done += len(vectors)
        bar.update(len(vectors))
        rate = done / max(time.monotonic() - started, 1e-9)
        ctx.log.info("Embedded %d/%d documents (%.1f docs/s)", done, len(hashes), rate)

    execution, texts = ctx.params.execution, missing["text"].tolist()
    with bar:
        if execution.dask_address and model is None and len(texts) > execution.embedding_chunk \
                and not is_registered_model(ctx.params.embedding.model):
            from topic_pipeline.pipeline.dask_cluster import dask_client, embed_on_cluster

            vectors, workers = embed_on_cluster(dask_client(execution.dask_address), texts, ctx.params.embedding,
                                                execution.embedding_chunk, keep_chunk)
            ctx.log.info("Embedded %d texts on %d Dask workers", len(texts), len(workers))
            return vectors
        return embed_texts(texts, ctx.params.embedding, on_chunk=keep_chunk, model=model,
                           doc_ids=missing["doc_id"].tolist())


def _check_cached_width(cached: np.ndarray | None, new: np.ndarray, model: str) -> None:
    """Cached and new vectors of one key must have one width (else the cache folder is not this model's)."""
    if cached is not None and len(cached) and cached.shape[1] != new.shape[1]:
        raise EmbeddingError(
            f"Embedding model {model!r}: cached vectors have {cached.shape[1]} columns but the model makes "
            f"{new.shape[1]}; delete the model's folder under embedding_cache/ and run again."
        )


def _is_terminal() -> bool:
    """Progress bars only on a terminal; Dagster's logs carry progress everywhere else."""
    return sys.stderr.isatty()
