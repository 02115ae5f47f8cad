"""Where each cluster went: the history of topic ids through sorting, merging and reduction.

Same layout as BERTopic's ``TopicMapper.mappings_`` (one row per cluster as
found, one column per change, first column = the cluster, last = its topic
now), so a saved model's ``topic_mapper`` means the same thing in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class TopicMapper:
    """History of topic ids; ``get_mappings()`` maps clusters as found to today's topics."""

    def __init__(self, clusters: Sequence[int]) -> None:
        self.mappings_: list[list[int | None]] = [[int(c), int(c)] for c in sorted(set(int(c) for c in clusters))]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int | None]]) -> TopicMapper:
        mapper = cls([])
        mapper.mappings_ = [list(row) for row in rows]
        return mapper

    def get_mappings(self, original_topics: bool = True) -> dict[int, int]:
        """Cluster as found (or the previous topic id) -> topic id now."""
        source = 0 if original_topics else -2
        return {int(row[source]): int(row[-1]) for row in self.mappings_ if row[source] is not None}

    def add_mappings(self, mapping: Mapping[int, int]) -> None:
        """Append one change: each current topic id -> its new id (-1 when it is gone)."""
        for row in self.mappings_:
            row.append(int(mapping.get(int(row[-1]), -1)))

    def __repr__(self) -> str:
        return f"TopicMapper({len(self.mappings_)} clusters, {len(self.mappings_[0]) if self.mappings_ else 0} columns)"
