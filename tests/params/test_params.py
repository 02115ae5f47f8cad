from pathlib import Path

import pytest

from topic_pipeline.errors import ParamsError
from topic_pipeline.params import PipelineParams, load_params, parse_params, section_fingerprint

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_params_file_is_the_defaults_plus_bertopics_best_practices():
    # params.yaml documents every default (writing a default out must not change any cache key); it departs
    # from BERTopic's defaults, which the code keeps, only where BERTopic's best-practices guide does.
    shipped, defaults = load_params(ROOT / "params.yaml"), PipelineParams()
    assert shipped.vectorizer == defaults.vectorizer.model_copy(update={"stop_words": "english"})
    assert shipped.representation == defaults.representation.model_copy(update={"aspects": {
        "KeyBERT": {"type": "KeyBERTInspired"}, "MMR": {"type": "MaximalMarginalRelevance", "diversity": 0.3}}})
    assert shipped.model_copy(update={"vectorizer": defaults.vectorizer,
                                      "representation": defaults.representation}) == defaults
    assert defaults.vectorizer.stop_words is None and defaults.representation.aspects == {}  # BERTopic's


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"clustering": {"min_cluster_sise": 5}}, r"unknown key 'clustering\.min_cluster_sise'\. Did you mean 'clustering\.min_cluster_size'\?"),
        ({"clustring": {}}, r"unknown key 'clustring'\. Did you mean 'clustering'\?"),
        ({"clustering": {"min_cluster_size": "ten"}}, r"invalid value for 'clustering\.min_cluster_size'"),
        ({"clustering": {"min_cluster_size": 1}}, r"greater than or equal to 2"),
        ({"vectorizer": {"ngram_range": [2, 1]}}, r"'vectorizer\.ngram_range'"),
        ({"clustering": {"cluster_selection_method": "best"}}, r"'clustering\.cluster_selection_method'"),
        ({"clustering": [1, 2]}, r"section 'clustering' must be a mapping"),
    ],
)
def test_bad_params_name_the_key(raw, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(raw, origin="params.yaml")


def test_fingerprint_follows_values_not_spelling():
    explicit = parse_params({"clustering": {"min_cluster_size": 10}})
    assert section_fingerprint(explicit.clustering) == section_fingerprint(PipelineParams().clustering)
    changed = parse_params({"clustering": {"min_cluster_size": 11}})
    assert section_fingerprint(changed.clustering) != section_fingerprint(PipelineParams().clustering)


def test_unreadable_and_missing_files(tmp_path):
    broken = tmp_path / "params.yaml"
    broken.write_text("corpus: [unclosed")
    with pytest.raises(ParamsError, match=f"Params file {broken} cannot be read"):
        load_params(broken)
    with pytest.raises(ParamsError, match="does not exist"):
        load_params(tmp_path / "missing.yaml")


def test_overrides_are_validated_like_the_file():
    params = PipelineParams().with_overrides("clustering", {"min_cluster_size": 25}, origin="run config")
    assert params.clustering.min_cluster_size == 25
    with pytest.raises(ParamsError, match="run config: unknown key 'clustering.min_size'"):
        PipelineParams().with_overrides("clustering", {"min_size": 25}, origin="run config")
