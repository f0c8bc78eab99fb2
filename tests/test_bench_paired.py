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
