"""evaluate(EvaluateConfig): a protocol that does not score by --score refuses a non-cosine score, before any
model is loaded, whichever registry it comes from."""

import pytest

from tfface.config import EvaluateConfig
from tfface.errors import ConfigError
from tfface.programs.evaluation import evaluate
from tfface.registry import PROTOCOLS


@pytest.mark.parametrize("protocol", ["tflite", "retrieval", "distribution", "ida_sweep"])
def test_a_score_a_protocol_does_not_take_is_refused(protocol):
    cfg = EvaluateConfig.of(model="no_such_model", protocol=protocol, score="ida_r")
    with pytest.raises(ConfigError, match=f"`score=ida_r` does not apply to `protocol={protocol}`"):
        evaluate(cfg)


def test_the_scoring_protocols_say_so():
    scoring = ("verification", "all_pairs", "identification", "distractors", "ijb_1to1", "ijb_1toN")
    assert all(PROTOCOLS.get(name).scores for name in scoring)
    assert not PROTOCOLS.get("retrieval").scores


def test_an_ida_setting_without_an_ida_score_is_refused():
    cfg = EvaluateConfig.of(model="no_such_model", protocol="all_pairs", eval_list="x.csv", ida_anchors="a.csv")
    with pytest.raises(ConfigError, match="`ida_anchors=a.csv` applies with `score=ida_r|ida_l`"):
        evaluate(cfg)
    assert PROTOCOLS.get("ida_sweep").uses_ida  # IDA's own protocols read them with any score
