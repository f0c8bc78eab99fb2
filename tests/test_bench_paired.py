"""bench/paired.py: the paired difference over seeds with its 95% t interval, against a hand computation, and the
verdict on a claimed direction."""

import importlib.util
import math

import pytest
from conftest import REPO

spec = importlib.util.spec_from_file_location("paired", REPO / "bench" / "paired.py")
paired = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paired)


def test_paired_difference_by_hand():
    out = paired.paired_difference([1.0, 2.0, 3.0], [2.0, 4.0, 3.0])  # differences 1, 2, 0: mean 1, sd 1
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) × sd / √n
    assert out["mean"] == 1.0 and out["per_seed"] == [1.0, 2.0, 0.0]
    assert out["ci95"] == pytest.approx([1 - half, 1 + half])
    assert all(math.isnan(x) for x in paired.paired_difference([1.0], [2.0])["ci95"])


@pytest.mark.parametrize("ci, direction, expected", [
    ([0.5, 2.0], +1, "reproduced"), ([0.5, 2.0], -1, "refuted"), ([-2.0, -0.5], -1, "reproduced"),
    ([-2.0, -0.5], +1, "refuted"), ([-0.5, 2.0], +1, "inconclusive"), ([0.0, 2.0], +1, "inconclusive"),
    ([float("nan"), float("nan")], +1, "inconclusive")])
def test_verdict_on_the_claimed_direction(ci, direction, expected):
    assert paired.verdict(ci, direction) == expected


def test_paired_bootstrap_tar_of_equal_and_of_planted_scorings():
    import numpy as np

    rng = np.random.default_rng(0)
    same = np.r_[np.ones(400, bool), np.zeros(1000, bool)]
    ref = np.r_[rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 1000)]
    out = paired.paired_bootstrap_tar(ref, ref.copy(), same, replicates=200)
    assert out["0.001"]["difference"] == 0 and out["0.001"]["ci95"] == [0.0, 0.0]
    # at FAR 1e-2 of 1000 negatives the threshold is the 11th highest negative: TAR is the share of positives above it
    thr = np.sort(ref[~same])[-11]
    assert out["0.01"]["reference"] == pytest.approx(np.mean(ref[same] > thr))
    better = ref + 2.0 * same  # every genuine pair 2 higher: TAR rises in every resample
    up = paired.paired_bootstrap_tar(ref, better, same, replicates=200)
    assert up["0.01"]["difference"] > 0.3 and up["0.01"]["ci95"][0] > 0
    assert paired.verdict(up["0.01"]["ci95"], +1) == "reproduced"

