"""All-pairs verification: blockwise scoring against the full pair list in NumPy, TAR@FAR as
metrics.tar_at_far, the identity-bootstrap replicate against brute-force weighted pairs, and IDA scores."""

import numpy as np
import pytest

from tfface.evaluation import all_pairs as ap
from tfface.evaluation import metrics


def _set(n_ids=15, per_id=(2, 7), dim=8, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(per_id[0], per_id[1] + 1, n_ids)
    labels = np.repeat(np.arange(n_ids) * 10 + 3, counts)  # labels need not be 0..M-1
    centres = rng.normal(size=(n_ids, dim))
    emb = np.repeat(centres, counts, axis=0) + 1.2 * rng.normal(size=(len(labels), dim))
    return (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32), labels


def _all_pairs_numpy(emb, labels):
    i, j = np.triu_indices(len(labels), 1)
    return np.sum(emb[i] * emb[j], 1), labels[i] == labels[j], i, j


def test_hand_case_four_images():
    # identities {0, 1} and {2, 3}; cosines: genuine (0,1) 0.8, (2,3) 0.6; impostors (1,3) 1.0, (0,3) 0.8,
    # (1,2) 0.6, (0,2) 0. FAR 1/4: one impostor may pass, threshold 0.8 → no genuine above → TAR 0;
    # FAR 2/4: threshold 0.6 → genuine 0.8 passes → TAR 1/2.
    emb = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.8, 0.6]], np.float32)
    p = ap.score_all_pairs(np.array([0, 0, 1, 1]), ap.cosine_blocks(emb), keep_far=1.0, block=1)
    np.testing.assert_allclose(p.genuine, [0.8, 0.6], atol=1e-6)
    np.testing.assert_allclose(p.impostor_top, [1.0, 0.8, 0.6, 0.0], atol=1e-6)
    assert p.impostors == 4
    got = ap.tar_at_far(p, (0.25, 0.5))
    assert got["0.25"]["tar"] == 0.0 and got["0.25"]["impostors_accepted"] == 1
    assert got["0.5"]["tar"] == 0.5 and got["0.5"]["threshold"] == pytest.approx(0.6)


def test_blockwise_scores_equal_the_full_pair_list_and_tar_at_far_equals_metrics():
    emb, labels = _set(n_ids=40, per_id=(2, 9))
    scores, same, _, _ = _all_pairs_numpy(emb, labels)
    want = metrics.tar_at_far(scores, same)
    for block in (1, 7, 10_000):
        p = ap.score_all_pairs(labels, ap.cosine_blocks(emb), block=block)
        np.testing.assert_allclose(p.genuine, np.sort(scores[same])[::-1], atol=1e-6)
        assert p.impostors == int((~same).sum())
        k = len(p.impostor_top)
        np.testing.assert_allclose(p.impostor_top, np.sort(scores[~same])[::-1][:k], atol=1e-6)
        got = ap.tar_at_far(p)
        assert set(got) == set(want) and len(want) >= 3  # 1e-1 … 1e-3 supported by ~10k impostors
        for far, tar in want.items():
            assert got[far]["tar"] == pytest.approx(tar)
            assert got[far]["impostors_accepted"] <= float(far) * p.impostors
    far, tar = metrics.roc(scores, same)
    auc, eer = ap.auc_eer(p)
    assert auc == pytest.approx(metrics.auc(far, tar), abs=2e-3) and eer == pytest.approx(metrics.eer(far, tar),
                                                                                        abs=2e-2)


def test_a_bootstrap_replicate_equals_brute_force_weighted_pairs():
    emb, labels = _set(n_ids=30, per_id=(2, 8), seed=1)
    scores, same, i, j = _all_pairs_numpy(emb, labels)
    _, ids = np.unique(labels, return_inverse=True)
    p = ap.score_all_pairs(labels, ap.cosine_blocks(emb), block=16)
    w = np.random.default_rng(5).multinomial(len(p.images_per_identity),
                                             np.full(len(p.images_per_identity), 1 / len(p.images_per_identity)))
    pair_w = np.where(same, w[ids[i]], w[ids[i]] * w[ids[j]]).astype(float)
    got = ap.tar_at_far(p, (1e-1, 1e-2), weights=w)
    for far in (1e-1, 1e-2):
        neg = np.argsort(-scores[~same], kind="stable")
        s_neg, w_neg = scores[~same][neg], pair_w[~same][neg]
        k = np.searchsorted(np.cumsum(w_neg), far * w_neg.sum() * (1 + 1e-12), side="right")
        thr = s_neg[k]
        want = pair_w[same][scores[same] > thr].sum() / pair_w[same].sum()
        assert got[f"{far:g}"]["tar"] == pytest.approx(want) and got[f"{far:g}"]["threshold"] == pytest.approx(thr)
    ones = ap.tar_at_far(p, (1e-1, 1e-2), weights=np.ones_like(w))
    assert {f: v["tar"] for f, v in ones.items()} == {f: v["tar"] for f, v in ap.tar_at_far(p, (1e-1, 1e-2)).items()}


def test_report_has_intervals_around_the_estimate_and_ida_scores_match_pair_scores(tmp_path):
    from tfface.scoring.ida import pair_scores

    emb, labels = _set(n_ids=50, per_id=(2, 6), seed=2)
    rep = ap.all_pairs_report(emb, labels, replicates=50)
    row = rep["tar_at_far"]["0.01"]
    assert row["ci95"][0] <= row["tar"] <= row["ci95"][1] and row["ci95"][0] < row["ci95"][1]
    assert rep["impostor_pairs"] + rep["genuine_pairs"] == len(labels) * (len(labels) - 1) // 2
    ap.plot_all_pairs(rep, str(tmp_path / "roc.png"))
    assert (tmp_path / "roc.png").stat().st_size > 10_000
    lf = np.random.default_rng(0).normal(size=len(labels)).astype(np.float32)
    _, _, i, j = _all_pairs_numpy(emb, labels)
    p = ap.score_all_pairs(labels, ap.ida_blocks(emb, lf, 4.0), keep_far=1.0, block=9, score_range=(-20, 20))
    want = pair_scores(emb[i], emb[j], lf[i], lf[j], 4.0)
    same = labels[i] == labels[j]
    np.testing.assert_allclose(p.genuine, np.sort(want[same])[::-1], atol=1e-5)
    np.testing.assert_allclose(p.impostor_top, np.sort(want[~same])[::-1], atol=1e-5)


def test_listed_pairs_give_metrics_tar_at_far_and_a_replicate_equals_duplicated_identities():
    # a listed pair set (as IJB's template matches): not every pair of the identities, so the replicate's
    # impostor weight is the sum over the listed impostor pairs, not the all-pairs formula
    rng = np.random.default_rng(4)
    n, m = 3000, 60
    a, b = rng.integers(0, m, n), rng.integers(0, m, n)
    b[:400] = a[:400]  # 400 genuine pairs
    same = a == b
    scores = rng.normal(size=n) + 1.5 * same
    p = ap.listed_pairs(scores, same, a, b)
    want = metrics.tar_at_far(scores, same)
    got = ap.tar_at_far(p)
    assert {f: v["tar"] for f, v in got.items()} == pytest.approx(want) and len(want) >= 3
    w = np.random.default_rng(5).multinomial(m, np.full(m, 1 / m))
    pair_w = np.where(same, w[a], w[a] * w[b])
    dup_scores, dup_same = np.repeat(scores, pair_w), np.repeat(same, pair_w)  # each identity copied w times
    want_w = metrics.tar_at_far(dup_scores, dup_same, fars=(1e-1, 1e-2))
    got_w = ap.tar_at_far(p, (1e-1, 1e-2), weights=w)
    assert {f: v["tar"] for f, v in got_w.items()} == pytest.approx(want_w)
    # and a bootstrap replicate cut to the top impostors still uses the listed impostor weight
    boot = ap.bootstrap(p, (1e-2,), replicates=3, seed=0)
    draws = np.random.default_rng(0)
    for r in range(3):
        w = np.bincount(draws.integers(0, m, m), minlength=m)
        pair_w = np.where(same, w[a], w[a] * w[b])
        ref = metrics.tar_at_far(np.repeat(scores, pair_w), np.repeat(same, pair_w), fars=(1e-2,))
        assert boot[r, 0] == pytest.approx(ref["0.01"])


def test_identical_images_under_two_identities_are_counted():
    # label noise as in CelebA: one image filed under two identities is an impostor pair at cosine 1, and such
    # pairs alone set the thresholds at the lowest FARs
    emb, labels = _set(n_ids=20, per_id=(3, 6), seed=2)
    assert ap.all_pairs_report(emb, labels, replicates=0)["identical_impostor_pairs"] == 0
    noisy = np.concatenate([emb, emb[:2]])  # images 0 and 1 again, under a new identity each
    noisy_labels = np.concatenate([labels, [-1, -2]])
    assert ap.all_pairs_report(noisy, noisy_labels, replicates=0)["identical_impostor_pairs"] == 2
