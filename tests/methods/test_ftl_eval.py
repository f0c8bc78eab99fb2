"""FTL's evaluation: nearest-centre rank-1 and one-shot coverage by hand."""

import numpy as np
import pytest


def test_centre_rank1_and_coverage_by_hand():
    from tfface.evaluation.identification import centre_rank1
    from tfface.methods.ftl_eval import coverage_at_precision

    train = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    ty = np.array([0, 0, 1, 1])
    probes = np.array([[1.0, 0.2], [0.3, 1.0], [1.0, 0.9]])
    np.testing.assert_array_equal(centre_rank1(train, ty, probes, np.array([0, 1, 1]), 2), [True, True, False])
    conf = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    # by confidence: right, right, wrong, right, right → precision 1, 1, 2/3, 3/4, 4/5
    assert coverage_at_precision(conf, np.array([1, 1, 0, 1, 1]), 0.99) == pytest.approx(0.4)
    # six probes, the last wrong: precision 1, 1, 2/3, 3/4, 4/5, 2/3 → ≥ 0.75 up to the 5th
    six = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert coverage_at_precision(six, np.array([1, 1, 0, 1, 1, 0]), 0.75) == pytest.approx(5 / 6)
    assert coverage_at_precision(conf, np.array([0, 1, 1, 1, 1]), 0.99) == 0.0
