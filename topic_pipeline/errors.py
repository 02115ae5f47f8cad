"""One exception family for everything a user can get wrong.

Each subclass also inherits the builtin it refines, so ``except ValueError`` in
caller code keeps working (the pattern scikit-learn uses for ``NotFittedError``).
Messages start with one line that says what is wrong and where (file, column,
row, parameter), then what to do about it.
"""

from __future__ import annotations


class TopicPipelineError(Exception):
    """Base class of every error topic_pipeline raises on purpose."""


class ParamsError(TopicPipelineError, ValueError):
    """A parameter file or override has an unknown key or an invalid value."""


class CorpusError(TopicPipelineError, ValueError):
    """The corpus cannot be read or does not have the expected shape."""


class EmbeddingError(TopicPipelineError, ValueError):
    """Embeddings cannot be computed or do not match the corpus."""


class StageInputError(TopicPipelineError, ValueError):
    """A stage got inputs it cannot work with (too few documents, missing upstream)."""


class ModelArgumentError(StageInputError):
    """An argument of a ``TopicModel`` method is wrong (documents, embeddings, topics, a setting)."""


class EstimatorError(StageInputError):
    """A reducer or clusterer object cannot be used: a missing method, no labels, settings that cannot key the cache."""


class RepresentationError(StageInputError):
    """A representation model failed or returned something that is not topic words."""


class StoreError(TopicPipelineError, OSError):
    """The stage store is missing an output or cannot be written."""


class NotFittedError(TopicPipelineError, ValueError, AttributeError):
    """A method or fitted attribute that needs a fitted model was used before ``fit``.

    An ``AttributeError`` too, so ``hasattr(model, "topics_")`` is False before ``fit``.
    """


class SavedModelError(StoreError, ValueError):
    """A file of a saved model folder is missing, too large, or holds a value that does not fit.

    A StoreError like every other damaged-store case (so existing handlers keep working) and a
    ValueError because the content, not the disk, is at fault.
    """


class QueryError(TopicPipelineError, ValueError):
    """A SQL query failed or the warehouse does not exist yet."""
