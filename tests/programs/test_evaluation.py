"""evaluate(EvaluateConfig): a protocol that does not score by --score refuses a non-cosine score, before any
model is loaded, whichever registry it comes from."""

import pytest

from tfface.config import EvaluateConfig
from tfface.errors import ConfigError
from tfface.programs.evaluation import evaluate, protocol_named


@pytest.mark.parametrize("protocol", ["tflite", "ijb_1to1", "distractors", "retrieval", "ida_sweep"])
def test_a_score_a_protocol_does_not_take_is_refused(protocol):
    cfg = EvaluateConfig.of(model="no_such_model", protocol=protocol, score="ida_r")
    with pytest.raises(ConfigError, match=f"`score=ida_r` does not apply to `protocol={protocol}`"):
        evaluate(cfg)


def test_the_scoring_protocols_say_so():
    assert protocol_named("verification").scores and protocol_named("all_pairs").scores
    assert not protocol_named("identification").scores
