"""evaluate(EvaluateConfig): a protocol that does not score by --score refuses a non-cosine score, before any
model is loaded, whichever registry it comes from."""

import re

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


@pytest.mark.parametrize("protocol,settings,message", [
    ("verification", {"eval_pairs": "p.csv", "gallery_per_id": 2},
     "`gallery_per_id=2` is not read by `protocol=verification` (read by `protocol=identification`)"),
    ("identification", {"eval_list": "x.csv", "open_set_fraction": 0.2, "bootstrap": 50},
     "`bootstrap=50` is not read by `protocol=identification` (read by `protocol=all_pairs|ijb_1to1`)"),
    ("retrieval", {"eval_list": "x.csv", "tflite_quantize": ("none",)},
     "`tflite_quantize=none` is not read by `protocol=retrieval` (read by `protocol=tflite`)"),
    ("tflite", {"eval_list": "x.csv"}, "`eval_list=x.csv` is not read by `protocol=tflite`"),
])
def test_a_setting_the_protocol_does_not_read_is_refused(protocol, settings, message):
    cfg = EvaluateConfig.of(model="no_such_model", protocol=protocol, **settings)
    with pytest.raises(ConfigError, match=re.escape(message)):
        evaluate(cfg)


def test_every_evaluate_setting_is_read_or_refused_by_every_protocol():
    """Generated from the declarations and the registry: each setting given alone to each protocol is one it
    reads, or it is refused before the model is loaded."""
    from tfface.registry import EVERY_PROTOCOL
    from tfface.settings import declarations

    counts = {"read": 0, "refused": 0}
    for name in PROTOCOLS.names():
        protocol = PROTOCOLS.get(name)
        for flag, d in declarations("evaluate").items():
            if flag in EVERY_PROTOCOL:
                continue
            value = {"bool": not d.default, "int": 3, "float": 0.5, "ints": (3,)}.get(d.kind, "x")
            value = ("none",) if flag == "tflite_quantize" else value
            cfg = EvaluateConfig.of(model="no_such_model", protocol=name, **{flag: value})
            if flag in protocol.settings_read(cfg):
                counts["read"] += 1
                continue
            with pytest.raises(ConfigError, match=f"`{flag}="):
                evaluate(cfg)
            counts["refused"] += 1
    assert counts["read"] > 10 and counts["refused"] > 100
