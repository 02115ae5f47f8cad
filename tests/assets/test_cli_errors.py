"""Failed runs end in one line a user can act on: the cause, the file and row or line, a short stderr.

Each case runs `topic-pipeline run` in its own process, as a user would, and
checks: exit code 1, our message first and last on stderr, under 20 lines,
and nothing stored for the stage that failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["space", "orbit", "nasa", "launch", "hockey", "goal", "team", "season", "linux", "kernel", "driver", "disk"]


def _texts(count: int = 40) -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=12)) for _ in range(count)]


def _run(tmp_path: Path, params: dict, root: Path | None = None, inject: str | None = None
         ) -> subprocess.CompletedProcess:
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(params_file),
                        "TOPIC_PIPELINE_DATA": str(root or tmp_path / "warehouse")}
    env.pop("DAGSTER_HOME", None)
    code = (inject or "") + "\nimport sys\nfrom assets.cli import main\nsys.exit(main(['run']))\n"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def _base(source: Path, **sections: dict) -> dict:
    params = {"corpus": {"source": str(source), "inbox": None}, "reduction": {"method": "pca"},
              "clustering": {"min_cluster_size": 3}}
    for name, values in sections.items():
        params[name] = params.get(name, {}) | values
    return params


def _assert_one_clear_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) < 20, result.stderr
    assert lines[0].startswith("error: ") and lines[-1].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _nothing_stored(root: Path, stage: str) -> None:
    assert not list(root.glob(f"{stage}/*/manifest.json")), f"{stage} stored an output"


@pytest.fixture
def csv_corpus(tmp_path) -> Path:
    path = tmp_path / "corpus.csv"
    pd.DataFrame({"doc_id": [f"d{i}" for i in range(40)], "text": _texts()}).to_csv(path, index=False)
    return path


def test_missing_precomputed_file(tmp_path, csv_corpus):
    missing = tmp_path / "nowhere.npy"
    result = _run(tmp_path, _base(csv_corpus, embedding={"precomputed": str(missing)}))
    _assert_one_clear_line(result, "embeddings", str(missing), "embedding.precomputed")
    _nothing_stored(tmp_path / "warehouse", "embeddings")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_embeddings(tmp_path, csv_corpus, bad):
    vectors = np.random.default_rng(1).normal(size=(40, 8)).astype(np.float32)
    vectors[17, 3] = bad
    path = tmp_path / "vectors.npy"
    np.save(path, vectors)
    result = _run(tmp_path, _base(csv_corpus, embedding={"precomputed": str(path)}))
    _assert_one_clear_line(result, "embeddings", str(path), "row 17", "NaN" if np.isnan(bad) else "inf")
    _nothing_stored(tmp_path / "warehouse", "embeddings")


def test_latin1_csv_names_the_line_and_the_setting(tmp_path):
    path = tmp_path / "latin.csv"
    rows = ["doc_id,text", *[f"d{i},{t}" for i, t in enumerate(_texts(10))], "d10,caf\u00e9 au lait"]
    path.write_bytes("\n".join(rows).encode("latin-1"))
    result = _run(tmp_path, _base(path))
    _assert_one_clear_line(result, "documents", str(path), "line 12", "corpus.encoding")
    _nothing_stored(tmp_path / "warehouse", "documents")


def test_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "corpus.jsonl"
    lines = [f'{{"doc_id": "d{i}", "text": "{t}"}}' for i, t in enumerate(_texts(10))]
    lines.insert(6, '{"doc_id": "d99", "text": "unterminated')
    path.write_text("\n".join(lines) + "\n")
    result = _run(tmp_path, _base(path))
    _assert_one_clear_line(result, "documents", str(path), "line 7")
    _nothing_stored(tmp_path / "warehouse", "documents")


def _mount_small_tmpfs(folder: Path) -> bool:
    folder.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


_ENOSPC = """
import errno, pyarrow.parquet as pq
_write = pq.write_table
def _full(table, where, *args, **kwargs):
    if 'embeddings' in str(where):
        raise OSError(errno.ENOSPC, 'No space left on device', str(where))
    return _write(table, where, *args, **kwargs)
pq.write_table = _full
"""


def test_a_full_disk_names_the_stage_file_and_cause(tmp_path, csv_corpus):
    vectors = np.random.default_rng(1).normal(size=(40, 8)).astype(np.float32)
    np.save(tmp_path / "vectors.npy", vectors)
    params = _base(csv_corpus, embedding={"precomputed": str(tmp_path / "vectors.npy")})
    disk = tmp_path / "disk"
    if _mount_small_tmpfs(disk):  # a real full disk: the report's plotly.js alone (4.6 MB) does not fit in 2 MB
        try:
            result = _run(tmp_path, params, root=disk / "warehouse")
            line = _assert_one_clear_line(result, "No space left on device", str(disk))
            stage = line.split("'")[1]
            _nothing_stored(disk / "warehouse", stage)
            assert not list((disk / "warehouse").glob("*/.tmp-*"))  # the failed stage cleaned up its folder
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True, timeout=20)
    else:  # no permission to mount here: the same OSError, injected where the embeddings are written
        result = _run(tmp_path, params, inject=_ENOSPC)
        _assert_one_clear_line(result, "Stage 'embeddings' failed", "No space left on device", "embeddings.parquet")
        _nothing_stored(tmp_path / "warehouse", "embeddings")


def test_verbose_shows_dagster_and_ends_with_our_line(tmp_path, csv_corpus):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(_base(csv_corpus, embedding={"precomputed": str(tmp_path / "no.npy")})))
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(params_file), "TOPIC_PIPELINE_DATA": str(tmp_path / "w")}
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run([sys.executable, "-m", "assets.cli", "run", "--verbose"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) > 20 and "STEP_FAILURE" in result.stderr  # Dagster's own log, on request
    assert lines[-1].startswith("error: embeddings:") and "no.npy" in lines[-1]
    log = Path(lines[-1].rsplit("full log: ", 1)[1].rstrip(")"))
    assert "STEP_FAILURE" in log.read_text() or "embedding.precomputed" in log.read_text()
