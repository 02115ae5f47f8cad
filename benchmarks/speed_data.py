"""The inputs of the speed benchmark, written once per run into its temporary folder (never measured).

Run as its own process (``python -m benchmarks.speed_data FOLDER SIZE...``) so that the orchestrator
never loads pandas or numpy: a child's peak RSS starts from its parent's (see ``speed_measure``).

For each size N it writes ``posts_N.parquet`` (the first N posts of the shared corpus: doc_id, text,
timestamp, label) and ``posts_N.npy`` (their precomputed all-MiniLM-L6-v2 rows), which both sides read.
For the "+1 % documents" scenario it writes ``vectors_M.parquet`` (doc_id + vector of the first M posts):
a row-aligned ``.npy`` cannot cover documents that arrive through the inbox (the pipeline refuses them,
they have no corpus row), a Parquet joined on doc_id can; and ``new_B_K.parquet``, the K posts after the
first B, the file dropped into the inbox. It also prints, as one JSON line, which optional switches
the params schema has (``hierarchy.enabled`` etc. are being added while this benchmark is written).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.parity import CORPUS, EMBEDDINGS

COLUMNS = ["doc_id", "text", "timestamp", "label"]
# section -> fields: switched off in the "fit" configuration, when the schema has them
OPTIONAL_SWITCHES = {
    "document_map": ("enabled",),
    "report": ("enabled",),
    "representation": ("quality", "pictures"),
    "hierarchy": ("enabled",),
    "over_time": ("enabled", "per_class"),
}


def increment_sizes(size: int, total: int, share: float = 0.01) -> tuple[int, int]:
    """(base, new): ``new`` = ``share`` of the base, the posts right after it; at the corpus's full size the
    base gives up the last ``new`` posts, since there are no posts after the last one."""
    new = max(1, round(size * share))
    base = min(size, total - new)
    return base, max(1, round(base * share))


def store_has_root() -> bool:
    """Whether the params schema has ``store.root`` (else the store is set by ``$TOPIC_PIPELINE_DATA`` only)."""
    from topic_pipeline.params import StoreParams

    return "root" in StoreParams.model_fields


def schema_switches() -> dict[str, list[str]]:
    """The optional-stage switches the params schema has now, e.g. {"hierarchy": ["enabled"]}."""
    from topic_pipeline.params import PipelineParams

    found: dict[str, list[str]] = {}
    for section, fields in OPTIONAL_SWITCHES.items():
        info = PipelineParams.model_fields.get(section)
        model_fields = getattr(info.annotation, "model_fields", {}) if info is not None else {}
        present = [field for field in fields if field in model_fields]
        if present:
            found[section] = present
    return found


def write_inputs(folder: Path, sizes: list[int]) -> dict:
    """Write every file named in the module doc; return their paths and counts."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    posts = pd.read_parquet(CORPUS, columns=COLUMNS)
    vectors = np.load(EMBEDDINGS, mmap_mode="r")
    total = len(posts)
    written: dict = {"total_posts": total, "embeddings_file": str(EMBEDDINGS), "slices": {}, "increments": {}}
    for size in sorted(set(min(s, total) for s in sizes)):
        posts.iloc[:size].to_parquet(folder / f"posts_{size}.parquet", index=False)
        np.save(folder / f"posts_{size}.npy", np.ascontiguousarray(vectors[:size], dtype=np.float32))
        base, new = increment_sizes(size, total)
        end = base + new
        if base != size:
            posts.iloc[:base].to_parquet(folder / f"posts_{base}.parquet", index=False)
            np.save(folder / f"posts_{base}.npy", np.ascontiguousarray(vectors[:base], dtype=np.float32))
        posts.iloc[base:end].to_parquet(folder / f"new_{base}_{new}.parquet", index=False)
        table = pd.DataFrame({"doc_id": posts["doc_id"].iloc[:end], "vector": list(np.asarray(vectors[:end]))})
        table.to_parquet(folder / f"vectors_{end}.parquet", index=False)
        written["slices"][str(size)] = str(folder / f"posts_{size}")
        written["increments"][str(size)] = {"base": base, "new": new,
                                            "new_ids": posts["doc_id"].iloc[base:end].astype(str).tolist()}
    return written


def main(argv: list[str]) -> int:
    folder, sizes = Path(argv[0]), [int(value) for value in argv[1:]]
    written = write_inputs(folder, sizes)
    written["switches"] = schema_switches()
    written["store_root"] = store_has_root()
    print(json.dumps(written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
