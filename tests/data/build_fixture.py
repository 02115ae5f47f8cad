"""Rebuild the test fixture in tests/data from the full corpora in ../shared/data.

The fixture is the first N = 2,110 posts of 20 Newsgroups (UCI's 20news-bydate, as
scikit-learn's ``fetch_20newsgroups(subset="all", remove=("headers", "footers", "quotes"))``
returns them: same order, same texts) and their all-MiniLM-L6-v2 embeddings:

- ``20newsgroups_head.parquet``: rows 0..N-1 of ``20newsgroups.parquet``, same columns
  (doc_id, text, label, split, timestamp), types and order, zstd-compressed;
- ``20newsgroups_head_minilm.npy``: rows 0..N-1 of ``20newsgroups_minilm.npy``, float32 as they are.

N is the most any test reads: the inbox tests (rows up to 2,106 of the corpus, the 2,025th
distinct dated post), then the 2000:2100 slices of the parity tests and the 2,000-post fit. Tests needing scikit-learn's cache build one from this fixture
(tests/conftest.py, ``sklearn_data_home``) when ../shared/data/sklearn_data is absent.

    python tests/data/build_fixture.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

N_POSTS = 2110
HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = Path(os.environ.get("TOPIC_PIPELINE_SHARED_DATA", HERE.parents[2] / "shared" / "data"))
CORPUS, EMBEDDINGS = HERE / "20newsgroups_head.parquet", HERE / "20newsgroups_head_minilm.npy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder holding the full corpora")
    args = parser.parse_args()

    table = pq.read_table(args.shared / "20newsgroups.parquet")
    pq.write_table(table.slice(0, N_POSTS), CORPUS, compression="zstd", compression_level=19)
    vectors = np.load(args.shared / "20newsgroups_minilm.npy", mmap_mode="r")
    assert vectors.dtype == np.float32 and len(vectors) == len(table)
    np.save(EMBEDDINGS, np.ascontiguousarray(vectors[:N_POSTS]))

    written = pq.read_table(CORPUS)
    assert written.schema == table.schema and written.equals(table.slice(0, N_POSTS))
    assert np.array_equal(np.load(EMBEDDINGS), vectors[:N_POSTS]) and np.load(EMBEDDINGS).dtype == np.float32
    for path in (CORPUS, EMBEDDINGS):
        print(f"{path.relative_to(HERE.parents[1])}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
