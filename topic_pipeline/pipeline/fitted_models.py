"""Fitted UMAP / HDBSCAN models kept inside their stage output, loaded only when their digest matches.

Unpickling runs code, so a ``fitted_model.joblib`` is read only if its SHA-256
equals the digest its stage wrote into the output's manifest when it saved the
model. A file replaced or altered in the store afterwards is refused before
``joblib.load`` ever sees it. This guards against a changed file, not against
someone who may rewrite the whole store (manifest included): the store itself
must be a trusted location (see the README).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from topic_pipeline.errors import StoreError
from topic_pipeline.pipeline.store import MANIFEST

FITTED_MODEL = "fitted_model.joblib"
DIGEST_FIELD = "fitted_model_sha256"


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def save_fitted_model(model: object, folder: Path) -> str:
    """Pickle ``model`` into an output folder being written; return the digest for its manifest metadata."""
    import joblib

    path = folder / FITTED_MODEL
    joblib.dump(model, path)
    return file_sha256(path)


def link_fitted_model(base: Path, folder: Path) -> str:
    """Reuse the base output's model (hard link, or a copy across devices) after checking it; return its digest."""
    digest = verified_digest(base)
    target = folder / FITTED_MODEL
    try:
        os.link(base / FITTED_MODEL, target)
    except OSError:
        target.write_bytes((base / FITTED_MODEL).read_bytes())
    if file_sha256(target) != digest:
        raise StoreError(f"{target}: the copied model does not match its digest; the base changed while copying.")
    return digest


def verified_digest(folder: Path) -> str:
    """The model's digest after checking the file against the manifest.

    Raises
    ------
    StoreError
        No model, no digest in the manifest, or a file that differs from it.
    """
    return _verified_bytes(folder)[0]


def _verified_bytes(folder: Path) -> tuple[str, bytes]:
    """The digest and the very bytes that were checked (read once: no swap between check and load)."""
    path = folder / FITTED_MODEL
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{folder / MANIFEST}: cannot read the manifest that vouches for {path.name} ({exc}).") \
            from exc
    expected = (manifest.get("metadata") or {}).get(DIGEST_FIELD) if isinstance(manifest, dict) else None
    if not isinstance(expected, str):
        raise StoreError(f"{path}: its manifest records no {DIGEST_FIELD}; refusing to unpickle an unvouched file "
                         "(recompute the stage: delete the folder or change a parameter).")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{path} is missing; recompute the stage.") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise StoreError(f"{path} differs from the digest in its manifest (sha256 {actual[:12]}… vs {expected[:12]}…); "
                         "it was changed after it was stored and is not loaded.")
    return expected, data


def load_fitted_model(folder: Path) -> object:
    """Unpickle the model of a stage output folder: exactly the bytes whose digest matched the manifest."""
    import joblib

    _, data = _verified_bytes(folder)
    return joblib.load(io.BytesIO(data))
