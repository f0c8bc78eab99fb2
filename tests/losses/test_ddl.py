"""DDL (Huang et al. 2020): Eqs. 1–7 against NumPy on hand-made similarities, and the global batch on
two replicas."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfface.losses import ddl as D


def np_hist(values, bins, gamma):
    nodes = np.linspace(-1, 1, bins)
    h = np.zeros(bins)
    for v in values:
        h += np.exp(-gamma * (v - nodes) ** 2)
    return h / h.sum()


def np_kl(p, q):
    return float(np.sum(p * (np.log(p + 1e-10) - np.log(q + 1e-10))))


def np_log_hist(values, bins, gamma):
    """log of np_hist, in float64 log space (exact where np_hist underflows)."""
    nodes = np.linspace(-1, 1, bins)
    lh = np.logaddexp.reduce(-gamma * (np.asarray(values)[:, None] - nodes[None, :]) ** 2, axis=0)
    return lh - np.logaddexp.reduce(lh)


def np_kl_exact(values_p, values_q, bins, gamma):
    """Eq. 5 between the kernel histograms of two value sets, without a floor."""
    lp, lq = np_log_hist(values_p, bins, gamma), np_log_hist(values_q, bins, gamma)
    return float(np.sum(np.exp(lp) * (lp - lq)))


def test_positive_pairs_eq1_and_outliers():
    pairs = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [0.0, -1.0]])  # (x11, x12), (x21, x22)
    s, kept = D.positive_similarities(tf.constant(pairs))
    np.testing.assert_allclose(s.numpy(), [2 ** -0.5, -1.0], atol=1e-6)
    np.testing.assert_array_equal(kept.numpy(), [True, False])  # s⁺ < 0: an outlier, dropped


def test_hard_negative_mining_eq2_with_all_negative_row():
    e = np.array([[1.0, 0.0], [-1.0, 0.1], [-1.0, -0.1], [0.6, 0.8]])
    y = np.array([0, 1, 1, 2])
    s, valid = D.mined_negatives(tf.constant(e), tf.constant(y))
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    sim = u @ u.T
    want = [max(sim[0, 1], sim[0, 2], sim[0, 3]), max(sim[1, 0], sim[1, 3]), max(sim[2, 0], sim[2, 3]),
            max(sim[3, 0], sim[3, 1], sim[3, 2])]
    np.testing.assert_allclose(s.numpy(), want, atol=1e-6)
    assert want[1] < 0 and valid.numpy().all()  # row 1's best negative is negative, not a masked 0
    s, valid = D.mined_negatives(tf.constant(e[:2]), tf.constant([5, 5]))
    assert not valid.numpy().any() and np.all(s.numpy() == 0)  # no other identity: invalid, 0 not −inf


def test_random_negatives_pick_another_identity():
    e = np.eye(4)[:, :3] + 0.1
    y = np.array([0, 0, 1, 2])
    key = np.array([[0.9, 0.95, 0.1, 0.2], [0.3, 0.99, 0.5, 0.4], [0.2, 0.9, 0.1, 0.3], [0.5, 0.1, 0.8, 0.7]])
    s, _ = D.mined_negatives(tf.constant(e), tf.constant(y), random_key=tf.constant(key, tf.float32))
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    sim = u @ u.T
    # other-identity columns: rows 0, 1 → {2, 3}; row 2 → {0, 1, 3}; row 3 → {0, 1, 2}; highest key wins
    np.testing.assert_allclose(s.numpy(), [sim[0, 3], sim[1, 2], sim[2, 1], sim[3, 2]], atol=1e-6)


def test_gaussian_histogram_eqs3_4():
    v = np.array([0.1, 0.5, -0.7, 0.9])
    mask = np.array([True, True, False, True])
    got = D.gaussian_histogram(tf.constant(v, tf.float32), tf.constant(mask), bins=11, gamma=20.0).numpy()
    np.testing.assert_allclose(got, np_hist(v[mask], 11, 20.0), atol=1e-6)
    # by hand for one value on 3 nodes (−1, 0, 1), γ = 1: weights e^{-1}, 1, e^{-1}
    h = D.gaussian_histogram(tf.constant([0.0]), tf.constant([True]), bins=3, gamma=1.0).numpy()
    w = np.array([np.exp(-1), 1.0, np.exp(-1)])
    np.testing.assert_allclose(h, w / w.sum(), atol=1e-6)


def test_distances_and_expectation():
    p = np.array([0.1, 0.2, 0.7])
    q = np.array([0.3, 0.3, 0.4])
    assert float(D.kl(tf.constant(p), tf.constant(q))) == pytest.approx(np_kl(p, q), rel=1e-6)
    m = (p + q) / 2
    assert float(D.js(tf.constant(p), tf.constant(q))) == pytest.approx(0.5 * np_kl(p, m) + 0.5 * np_kl(q, m))
    # EMD on nodes (−1, 0, 1): CDFs (0.1, 0.3, 1) vs (0.3, 0.6, 1) → Δ·(0.2 + 0.3) = 0.5
    assert float(D.emd(tf.constant(p), tf.constant(q))) == pytest.approx(0.5)
    assert float(D.expectation(tf.constant(p))) == pytest.approx(-0.1 + 0.7)


def np_ddl(parts, bins, gamma, l1, l2, l3):
    hists = [(np_hist(sp[kp], bins, gamma), np_hist(sn[vn], bins, gamma)) for sp, kp, sn, vn in parts]
    nodes = np.linspace(-1, 1, bins)
    (tp, tkp, tn, tvn) = parts[0]
    kl_pos = sum(np_kl_exact(tp[tkp], sp[kp], bins, gamma) for sp, kp, _, _ in parts[1:])
    kl_neg = sum(np_kl_exact(tn[tvn], sn[vn], bins, gamma) for _, _, sn, vn in parts[1:])
    order = -sum(nodes @ hp - nodes @ hn for hp, _ in hists for _, hn in hists)
    return l1 * kl_pos + l2 * kl_neg + l3 * order


def test_ddl_eq7_matches_numpy_for_one_and_two_students():
    rng = np.random.default_rng(0)

    def part(mu_pos, mu_neg):
        sp = np.clip(rng.normal(mu_pos, 0.1, 8), -1, 1)
        return sp, sp >= 0, np.clip(rng.normal(mu_neg, 0.1, 8), -1, 1), np.ones(8, bool)

    teacher, s1, s2 = part(0.7, 0.1), part(0.4, 0.2), part(0.2, 0.25)
    params = D.DDLParams(bins=41, gamma=50.0)
    for parts in ([teacher, s1], [teacher, s1, s2]):
        got, metrics = D.ddl_from_similarities([tuple(tf.constant(a) for a in p) for p in parts], params)
        want = np_ddl(parts, 41, 50.0, 0.1, 0.02, 0.5)
        assert float(got) == pytest.approx(want, rel=1e-4, abs=1e-6)
        assert len([k for k in metrics if k.startswith("e_pos")]) == len(parts)
    only = D.ddl_from_similarities([tuple(tf.constant(a) for a in p) for p in (teacher, s1)],
                                   D.DDLParams(bins=41, gamma=50.0, terms="order_only"))[1]
    assert float(only["ddl_order"]) == pytest.approx(np_ddl([teacher, s1], 41, 50.0, 0, 0, 1.0), rel=1e-4)


def test_detach_teacher_stops_its_gradient():
    rng = np.random.default_rng(1)
    pair_t, pair_s = rng.normal(size=(2, 8, 4)).astype(np.float32)
    neg_t, neg_s = rng.normal(size=(2, 4, 4)).astype(np.float32)
    labels = tf.constant([0, 1, 2, 3])
    for detach in (False, True):
        vt, vs = tf.Variable(pair_t), tf.Variable(pair_s)
        with tf.GradientTape() as tape:
            loss, _ = D.ddl_loss([(vt, tf.constant(neg_t), labels), (vs, tf.constant(neg_s), labels)],
                                 D.DDLParams(bins=21, gamma=10.0, terms="kl_only", outlier=-1.0,
                                             detach_teacher=detach))
        gt, gs = tape.gradient(loss, [vt, vs])
        assert np.abs(gs.numpy()).max() > 0
        assert (gt is None or np.abs(gt.numpy()).max() == 0) == detach


def test_two_replicas_mine_the_global_batch_and_match_one_device():
    rng = np.random.default_rng(2)
    b = 4  # per replica: 2b pair images and b negatives per partition
    pair_t, pair_s = rng.normal(size=(2, 4 * b, 6)).astype(np.float32)
    neg_t, neg_s = rng.normal(size=(2, 2 * b, 6)).astype(np.float32)
    neg_y = np.arange(2 * b)
    w0 = rng.normal(size=(6, 5)).astype(np.float32)
    params = D.DDLParams(bins=21, gamma=10.0, outlier=-1.0)

    def loss_and_grad(w, pt, nt, ps, ns, y):
        with tf.GradientTape() as tape:
            loss, metrics = D.ddl_loss([(pt @ w, nt @ w, y), (ps @ w, ns @ w, y)], params)
        return loss, metrics["e_neg_1"], tape.gradient(loss, w)

    w = tf.Variable(w0)
    batch = (pair_t, neg_t, pair_s, neg_s, neg_y)
    want_loss, want_e, want_grad = loss_and_grad(w, *map(tf.constant, batch))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        wm = tf.Variable(w0)
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))

    @tf.function
    def step(parts):
        out = strategy.run(lambda *a: loss_and_grad(wm, *a), args=parts)
        return [strategy.reduce("SUM", v, axis=None) for v in out]

    got_loss, got_e, got_grad = step(next(iter(ds)))
    assert abs(float(want_loss)) > 1e-4
    np.testing.assert_allclose(float(got_loss), float(want_loss), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(got_e), float(want_e), rtol=1e-5)  # the same mined negatives
    np.testing.assert_allclose(got_grad.numpy(), want_grad.numpy(), rtol=1e-4, atol=1e-6)


def test_easy_hard_split_and_report_by_hand():
    from tfface.methods.ddl_eval import easy_hard_report, easy_hard_split

    # identities 0, 1; light angle: easy ≤ 25, hard 50..90. Identity 2 has no easy image, so no gallery entry.
    labels = np.array([0, 0, 0, 1, 1, 1, 2])
    light = np.array([10, 20, 60, 5, -70, 80, 10 + 60])
    split = easy_hard_split(labels, light, [(0, 25), (50, 90)])
    np.testing.assert_array_equal(split.gallery, [0, 3])
    np.testing.assert_array_equal(split.easy, [0, 1, 3])
    np.testing.assert_array_equal(split.probes[0], [2, 4, 5])  # |−70| is hard; identity 2 is not in the gallery
    e = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [1, 0], [1, 0]], float)
    rep = easy_hard_report(e, labels, split)
    # hard probes: image 2 (id 0) is nearest gallery id 1 → miss; 4 (id 1) → hit; 5 (id 1) → id 0 → miss
    assert rep["students"][0]["rank1"] == pytest.approx(1 / 3)
    assert rep["easy_rank1"] == 1.0  # the one easy probe (image 1) matches its gallery image


def _kl_gradients(teacher, student, params):
    """∂L/∂s⁺ of the KL-only DDL loss for one teacher and one student partition (no negatives moved)."""
    st, ss = tf.Variable(teacher, dtype=tf.float32), tf.Variable(student, dtype=tf.float32)
    neg = tf.constant(np.zeros(len(teacher)), tf.float32)
    keep = tf.ones(len(teacher), tf.bool)
    with tf.GradientTape() as tape:
        loss, _ = D.ddl_from_similarities([(st, keep, neg, keep), (ss, keep, neg, keep)], params)
    return tape.gradient(loss, [st, ss])


def test_default_kernel_gives_every_student_similarity_a_gradient_toward_the_teacher():
    # Issue 13.1: with γ = 1000 the kernel (σ ≈ 0.022) and the 1e-10 floor in KL gave a student similarity
    # more than ~0.2 from all teacher mass an exactly zero KL gradient. The default must reach every
    # student similarity in [−1, 1], and point toward the teacher (raising s lowers the loss when s is below).
    rng = np.random.default_rng(4)
    params = dataclasses.replace(D.DDLParams(), terms="kl_only", outlier=-1.0)
    teacher = np.clip(rng.normal(0.7, 0.05, 8), -1, 1)
    _, g = _kl_gradients(teacher, np.clip(rng.normal(0.3, 0.05, 8), -1, 1), params)  # student 0.4 below
    assert np.all(g.numpy() < 0), f"student gradients {g.numpy()}: some are zero or push away from the teacher"
    for teacher_mu in (0.9, -0.5):  # one student similarity anywhere in [−1, 1] away from the teacher mass
        teacher = np.clip(rng.normal(teacher_mu, 0.05, 8), -1, 1)
        for s in np.linspace(-1, 1, 41):
            if abs(s - teacher_mu) > 0.15:
                _, g = _kl_gradients(teacher, np.array([s]), params)
                assert float(g[0]) * (teacher_mu - s) < 0, f"teacher {teacher_mu}, student {s}: gradient {g}"
    # Yale-B-like statistics (the measurement: 70 of 160 had none at γ = 1000)
    _, g = _kl_gradients(np.clip(rng.normal(0.85, 0.08, 160), -1, 1), np.clip(rng.normal(0.68, 0.12, 160), -1, 1),
                         params)
    assert np.all(g.numpy() != 0)


def test_kl_of_kernel_histograms_is_exact_in_log_space():
    # The KL of Eq. 5 between two kernel histograms with (nearly) disjoint support: NumPy in float64 in log
    # space against the loss; a floor on Q would cap it near 23.
    teacher, student = np.array([0.9, 0.95]), np.array([-0.9, -0.95])
    params = D.DDLParams(bins=21, gamma=50.0, terms="kl_only", outlier=-1.0, lambda_pos=1.0, lambda_neg=0.0)
    want = np_kl_exact(teacher, student, 21, 50.0)
    keep = tf.ones(2, tf.bool)
    got, _ = D.ddl_from_similarities([(tf.constant(teacher, tf.float32), keep, tf.zeros(2), keep),
                                      (tf.constant(student, tf.float32), keep, tf.zeros(2), keep)], params)
    assert want > 100  # far beyond what a 1e-10 floor allows
    assert float(got) == pytest.approx(want, rel=1e-4)
