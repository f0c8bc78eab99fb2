"""Identification with IDA scores: rank-k and TPIR@FPIR of log DAO (Liu et al. 2021, Eq. 4) against a
brute-force NumPy reference that scores every probe-gallery image pair and keeps each identity's best."""

import numpy as np

from tfface.evaluation import identification as I


def _case(seed=0, n_ids=12, per_id=2, n_probes=150, dim=6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids + 3, dim))
    g_labels = np.repeat(np.arange(n_ids), per_id)
    gallery = centres[g_labels] + 0.9 * rng.normal(size=(len(g_labels), dim))
    p_labels = rng.integers(0, n_ids + 3, n_probes)  # identities ≥ n_ids are not enrolled
    probes = centres[p_labels] + 0.9 * rng.normal(size=(n_probes, dim))
    return gallery, g_labels, probes, p_labels, rng.normal(size=len(g_labels)), rng.normal(size=n_probes)


def _dao_identity_scores(gallery, g_labels, probes, lg, lp, tau):
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    dao = tau * unit(probes) @ unit(gallery).T + np.logaddexp(lp[:, None], lg[None, :])
    ids = np.unique(g_labels)
    return ids, np.stack([dao[:, g_labels == i].max(axis=1) for i in ids], axis=1)


def test_identity_scores_with_densities_are_the_best_log_dao_per_identity():
    gallery, g_labels, probes, p_labels, lg, lp = _case()
    ids, got = I.identity_scores(gallery, g_labels, probes, log_density=(lg, lp), tau=1.5)
    want_ids, want = _dao_identity_scores(gallery, g_labels, probes, lg, lp, 1.5)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_cmc_and_tpir_with_densities_match_a_numpy_reference():
    gallery, g_labels, probes, p_labels, lg, lp = _case(seed=1)
    ids, s = _dao_identity_scores(gallery, g_labels, probes, lg, lp, 1.0)
    mated = np.isin(p_labels, ids)
    true = s[mated, np.searchsorted(ids, p_labels[mated])]
    rank = (s[mated] > true[:, None]).sum(1)
    curve = I.cmc(gallery, g_labels, probes, p_labels, log_density=(lg, lp))
    np.testing.assert_allclose(curve, [(rank < r).mean() for r in range(1, len(ids) + 1)])
    # FPIR 0.1: the threshold is the ⌊0.1·n⌋-th highest best score of a non-mated probe (from 0)
    best, right = s.max(1), ids[s.argmax(1)] == p_labels
    non = np.sort(best[~mated])[::-1]
    thr = non[int(np.floor(0.1 * len(non)))]
    got = I.tpir_at_fpir(gallery, g_labels, probes, p_labels, fpirs=(0.1,), log_density=(lg, lp))
    assert got["0.1"] == np.mean(right[mated] & (best[mated] > thr))
    assert curve.tolist() != I.cmc(gallery, g_labels, probes, p_labels).tolist()  # densities do change ranks
