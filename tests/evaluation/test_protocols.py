"""Retrieval, identification and distribution metrics on hand-computed cases."""

import numpy as np
import pytest

from tfface.evaluation import distribution, identification, retrieval


def _at(deg):
    r = np.deg2rad(np.asarray(deg, float))
    return np.stack([np.cos(r), np.sin(r)], 1)


def test_recall_at_k_hand_case():
    # angles 0, 10, 25, 90 with labels 0, 1, 0, 1; neighbours of each query in order (label):
    # q0: 10(1) 25(0) -> hit at 2; q1: 0(0) 25(0) 90(1) -> hit at 3; q2: 10(1) 0(0) -> 2; q3: 25(0) 10(1) -> 2
    r = retrieval.recall_at_k(_at([0, 10, 25, 90]), np.array([0, 1, 0, 1]), ks=(1, 2, 3, 8))
    assert r == {"1": 0.0, "2": 0.75, "3": 1.0}  # K=8 >= N is left out


def test_nmi_and_f1_hand_case():
    y = np.array([0, 0, 1, 1])
    assert retrieval.nmi(y, np.array([5, 5, 7, 7])) == pytest.approx(1.0)
    assert retrieval.nmi(y, np.array([0, 1, 0, 1])) == pytest.approx(0.0, abs=1e-12)
    c = np.array([0, 0, 0, 1])
    # MI = .5 ln(4/3) + .25 ln(2/3) + .25 ln 2 = 0.215762; H(Y) = ln 2; H(C) = 0.562335
    assert retrieval.nmi(y, c) == pytest.approx(2 * 0.215762 / (0.693147 + 0.562335), abs=1e-5)
    # same-cluster pairs 3, same-class pairs 2, both 1: P = 1/3, R = 1/2, F1 = 0.4
    assert retrieval.pairwise_f1(y, c) == pytest.approx(0.4)


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 8)) * 10
    y = np.repeat(np.arange(4), 20)
    x = centers[y] + rng.normal(size=(80, 8)) * 0.1
    rep = retrieval.retrieval_report(x, y, ks=(1, 4))
    assert rep["nmi"] == pytest.approx(1.0) and rep["f1"] == pytest.approx(1.0) and rep["recall_at_k"]["1"] == 1.0


def test_cmc_and_open_set():
    gallery = _at([0, 90])
    g_labels = np.array([10, 20])
    probes = _at([10, 60, 100, 200])  # 10 -> id10 right; 60 -> nearer 90 (id20) but is id10; 100 -> id20
    p_labels = np.array([10, 10, 20, 30])  # 30 is not in the gallery (non-mated)
    curve = identification.cmc(gallery, g_labels, probes, p_labels)
    np.testing.assert_allclose(curve, [2 / 3, 1.0])
    # non-mated probe at 200° has best cosine cos(110°) < 0; at FPIR 1.0 it may pass, threshold -inf
    assert identification.tpir_at_fpir(gallery, g_labels, probes, p_labels, fpirs=(1.0,)) == {"1": 2 / 3}


def test_distribution_hand_case():
    assert distribution.histogram_intersection(np.array([0.5, 0.5, 0]), np.array([0, 0.5, 0.5])) == 0.5
    x = _at([0, 0, 90, 90])
    rep = distribution.distribution_report(x, np.array([0, 0, 1, 1]), bins=4)
    assert rep["expectation_margin"] == pytest.approx(1.0)  # positives at 1, negatives at 0
    assert rep["intersection"] == 0.0 and rep["divergence_mean"] == pytest.approx(0.0)
    assert distribution.class_scatter(np.array([[0.0, 0], [2, 0], [5, 5]]), np.array([0, 0, 1])).tolist() == [1.0]
