"""Calibrated thresholds against hand-checked cases and SciPy's exact binomial interval."""

import numpy as np
import pytest
from scipy import stats

from tfface.errors import ConfigError
from tfface.evaluation.calibration import calibrate, eer_threshold, far_interval, threshold_at


def test_threshold_lets_at_most_floor_far_n_impostors_through():
    impostors = np.arange(10) / 10.0  # 0.0 … 0.9
    genuine = np.array([0.85, 0.95, 0.5])
    scores = np.concatenate([impostors, genuine])
    same = np.r_[np.zeros(10, bool), np.ones(3, bool)]
    cal = calibrate(scores, same, fars=(0.1, 0.01))
    # k = ⌊0.1·10⌋ = 1: the second-highest impostor (0.8); only 0.9 is above it
    entry = cal["far"]["0.1"]
    assert entry["threshold"] == 0.8 and entry["far_observed"] == 0.1
    assert entry["tar"] == pytest.approx(2 / 3)  # 0.85 and 0.95 are above 0.8
    assert list(cal["unsupported"]) == ["0.01"] and "at least 100 impostor pairs" in cal["unsupported"]["0.01"]
    assert (cal["impostor_pairs"], cal["genuine_pairs"]) == (10, 3)


def test_far_interval_is_the_exact_binomial_interval():
    for k, n in [(0, 50), (1, 10), (7, 1000), (20, 20)]:
        want = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        assert far_interval(k, n) == pytest.approx((want.low, want.high))


def test_eer_threshold_balances_false_accepts_and_rejects():
    # impostors 0.1..0.4, genuine 0.35..0.65: at 0.35, FAR = 1/4 (0.4) and FRR = 1/4 (0.35 is not above)
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.45, 0.55, 0.65])
    same = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    assert eer_threshold(scores, same) == (0.35, 0.25)


def test_threshold_at_refuses_what_was_not_calibrated():
    scores = np.r_[np.linspace(0, 1, 100), [2.0]]
    same = np.r_[np.zeros(100, bool), [True]]
    cal = calibrate(scores, same)
    assert threshold_at(cal, 1e-2) == cal["far"]["0.01"]["threshold"]
    with pytest.raises(ConfigError, match=r"far=0.001: m's calibration needs at least 1,000 impostor pairs; the "
                                          r"calibration pairs have 100"):
        threshold_at(cal, 1e-3, "m")
    with pytest.raises(ConfigError, match=r"far=0.05 was not calibrated for m; calibrated: 0.1, 0.01"):
        threshold_at(cal, 0.05, "m")
    with pytest.raises(ConfigError, match="carries no calibrated thresholds.*--calibrate"):
        threshold_at(None, 1e-3, "m")


def test_calibration_needs_both_kinds_of_pairs():
    with pytest.raises(ConfigError, match="needs genuine and impostor pairs; it has 0 genuine"):
        calibrate(np.array([0.1, 0.2]), np.array([False, False]), source="p.csv")


def test_people_are_the_images_joined_by_genuine_pairs():
    from tfface.evaluation.calibration import people

    p1, p2 = people(["a", "b", "d", "a"], ["b", "c", "e", "e"], [1, 1, 0, 0])
    assert p1[0] == p2[0] == p1[1] == p2[1] == p1[3]  # a, b and c
    assert len({p1[0], p1[2], p2[2]}) == 3  # d and e are people of their own


def test_people_bootstrap_widens_the_interval_when_one_person_makes_every_false_accept():
    from tfface.evaluation.calibration import bootstrap_far_interval

    # 40 people, impostor pairs between every two; every false accept involves person 0
    i, j = np.triu_indices(40, 1)
    accepted = i == 0
    lo, hi = bootstrap_far_interval(accepted, i, j)
    observed = accepted.mean()
    assert lo == 0.0 and hi > observed  # resamples without person 0 accept nothing
    pairs_lo, pairs_hi = far_interval(int(accepted.sum()), len(accepted))
    assert hi > pairs_hi  # the binomial interval over pairs is too narrow here
    assert bootstrap_far_interval(np.ones(len(i), bool), i, j) == (1.0, 1.0)
