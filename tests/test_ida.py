"""IDA (Liu et al. 2021): DAO (Eq. 4) against NumPy, symmetry and range of τ/k; exact support-set search."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.scoring.ida import FaissSearch, log_dao, log_density, normalize, pair_scores, topk_similarities


def np_dao(f1, f2, s1, s2, tau):
    return np.exp(tau * f1 @ f2) * (1 / np.exp(tau * s1).sum() + 1 / np.exp(tau * s2).sum())


def test_dao_matches_numpy_by_hand():
    f1, f2 = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    s1, s2 = np.array([0.5, 0.1]), np.array([0.9, 0.3, -0.2])[:2]
    want = np_dao(f1, f2, s1, s2, 1.0)  # e^0.6·(1/(e^0.5 + e^0.1) + 1/(e^0.9 + e^0.3))
    assert want == pytest.approx(np.exp(0.6) * (1 / (np.exp(0.5) + np.exp(0.1)) + 1 / (np.exp(0.9) + np.exp(0.3))))
    got = log_dao(tf.constant([f1]), tf.constant([f2]), log_density(tf.constant([s1]), 1.0),
                  log_density(tf.constant([s2]), 1.0), 1.0)
    assert float(np.exp(got[0])) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("tau,k", [(1.0, 10), (16.0, 100), (64.0, 1000)])
def test_dao_symmetric_and_finite_for_large_tau_and_k(tau, k):
    rng = np.random.default_rng(int(tau))
    f = normalize(rng.normal(size=(2, 32)))
    s = np.sort(rng.uniform(-0.2, 1.0, size=(2, k)))[:, ::-1].copy()
    ld = log_density(tf.constant(s), tau)
    a = log_dao(tf.constant(f[:1]), tf.constant(f[1:]), ld[:1], ld[1:], tau).numpy()
    b = log_dao(tf.constant(f[1:]), tf.constant(f[:1]), ld[1:], ld[:1], tau).numpy()
    assert np.isfinite(a).all() and a[0] == b[0]
    # the log-space value equals the float64 NumPy formula in log form
    lse = [np.log(np.sum(np.exp(tau * (x - x.max())))) + tau * x.max() for x in s]
    want = tau * f[0] @ f[1] + np.logaddexp(-lse[0], -lse[1])
    assert a[0] == pytest.approx(want, rel=1e-5, abs=1e-4)


def test_exact_topk_equals_brute_force_and_excludes_own_identity():
    rng = np.random.default_rng(0)
    anchors, queries = rng.normal(size=(500, 16)), rng.normal(size=(37, 16))
    sims, idx = topk_similarities(queries, anchors, 7, batch=10)
    full = normalize(queries) @ normalize(anchors).T
    want_idx = np.argsort(-full, axis=1)[:, :7]
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(sims, np.take_along_axis(full, want_idx, 1), atol=1e-5)
    a_lab, q_lab = rng.integers(0, 20, 500), rng.integers(0, 20, 37)
    sims, idx = topk_similarities(queries, anchors, 7, q_lab, a_lab)
    assert not np.any(a_lab[idx] == q_lab[:, None])
    masked = np.where(a_lab[None, :] == q_lab[:, None], -np.inf, full)
    np.testing.assert_array_equal(idx, np.argsort(-masked, axis=1, kind="stable")[:, :7])


def test_faiss_search_agrees_with_exact_search():
    pytest.importorskip("faiss", reason="faiss-cpu not installed (optional IDA search back-end)")
    rng = np.random.default_rng(1)
    anchors, queries = rng.normal(size=(300, 8)), rng.normal(size=(20, 8))
    s1, i1 = topk_similarities(queries, anchors, 5)
    s2, i2 = FaissSearch(anchors)(queries, 5)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, atol=1e-5)


def test_pair_scores_cosine_and_ida():
    e1, e2 = np.array([[3.0, 4.0]]), np.array([[1.0, 0.0]])
    assert pair_scores(e1, e2)[0] == pytest.approx(0.6)
    got = pair_scores(e1, e2, np.array([-1.0]), np.array([-2.0]), tau=2.0)[0]
    assert got == pytest.approx(2.0 * 0.6 + np.logaddexp(-1.0, -2.0), rel=1e-6)
