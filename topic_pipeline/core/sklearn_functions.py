"""scikit-learn's ``cosine_similarity`` and ``normalize``, imported when first called.

Importing scikit-learn takes about a second. The stage modules import these
at load time, so a run that reuses every stored output (or the CLI deciding
that nothing changed) would pay that second for nothing; these wrappers move
the import to the first call and are otherwise the library's functions.
"""

from __future__ import annotations

from typing import Any


def cosine_similarity(*args: Any, **kwargs: Any) -> Any:
    from sklearn.metrics.pairwise import cosine_similarity as function

    return function(*args, **kwargs)


def normalize(*args: Any, **kwargs: Any) -> Any:
    from sklearn.preprocessing import normalize as function

    return function(*args, **kwargs)
