"""evaluate.py --calibrate writes thresholds only where the model's served scores would meet them."""

import json

import pytest

from tfface.errors import ConfigError
from tfface.runtime.verify import check_calibration_matches
from tfface.scoring.score import COSINE, Score


def export_folder(tmp_path, meta):
    (tmp_path / "tfface.json").write_text(json.dumps(meta))
    return str(tmp_path)


def test_calibration_must_use_the_exports_flip_and_its_served_score(tmp_path):
    model = export_folder(tmp_path, {"image_size": 64, "flip": True})
    check_calibration_matches(model, True, COSINE)  # the served score: accepted
    with pytest.raises(ConfigError, match="--eval_flip=False: .* serves embeddings with flip=True"):
        check_calibration_matches(model, False, COSINE)
    with pytest.raises(ConfigError, match="--score=ida_r: .* calibrated in the IDA export"):
        check_calibration_matches(model, True, Score("ida_r", lambda e: e[:, 0], 1.0))
    (tmp_path / "old").mkdir()
    old = export_folder(tmp_path / "old", {"image_size": 64})
    with pytest.raises(ConfigError, match="exported by an older version"):
        check_calibration_matches(old, True, COSINE)
