"""Shared fixtures: slices of the real corpora in ../shared/data and isolated stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

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
        "corpus": {"source": str(NEWSGROUPS), "limit": limit},
        "embedding": {"precomputed": str(NEWSGROUPS_EMBEDDINGS)},
    }
    for name, values in sections.items():
        params[name] = params.get(name, {}) | values
    return params
