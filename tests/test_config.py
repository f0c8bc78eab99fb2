"""Flags -> RunConfig (including the nested metric-loss section) -> config.json -> RunConfig."""

import dataclasses
import json

from absl import flags as absl_flags

import tfface.flags.data  # noqa: F401
import tfface.flags.distribute  # noqa: F401
import tfface.flags.eval  # noqa: F401
import tfface.flags.head  # noqa: F401
import tfface.flags.loss  # noqa: F401
import tfface.flags.method  # noqa: F401
import tfface.flags.model  # noqa: F401
import tfface.flags.train  # noqa: F401
from tfface.config import RunConfig


def test_flags_to_config_and_back():
    fv = absl_flags.FLAGS
    fv.unparse_flags()
    fv(["train.py", "--ms_beta=7", "--triplet_mining=semi_hard", "--lr_boundaries=10,20", "--batch_size=32"])
    try:
        cfg = RunConfig.from_flags(fv)
    finally:
        fv.unparse_flags()
    assert cfg.metric.ms_beta == 7.0 and cfg.metric.triplet_mining == "semi_hard"
    assert cfg.lr_boundaries == (10, 20) and cfg.batch_size == 32
    again = RunConfig.from_dict(json.loads(json.dumps({**dataclasses.asdict(cfg), "num_classes": 5})))
    assert again == cfg
