"""Typed, validated parameters: the bottom layer every other package reads.

``sections`` holds one pydantic class per ``params.yaml`` section, ``loading``
reads the file and fingerprints params for cache keys, ``representation`` the
settings of the built-in representation models, ``trust`` the allow-list of
classes a params file may name.
"""

from topic_pipeline.params.loading import (
                                           DEFAULT_PARAMS_FILE,
                                           PARAMS_ENV,
                                           fingerprint,
                                           load_params,
                                           params_path,
                                           parse_params,
                                           section_fingerprint,
)
from topic_pipeline.params.sections import *  # noqa: F403 (the section classes and their type aliases)
from topic_pipeline.params.sections import __all__ as _section_names

__all__ = ["DEFAULT_PARAMS_FILE", "PARAMS_ENV", "fingerprint", "load_params", "params_path", "parse_params",
           "section_fingerprint", *_section_names]
