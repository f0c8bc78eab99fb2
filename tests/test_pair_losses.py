"""Metric losses against naive NumPy loops, and the cross-replica (global batch) equivalence."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tfface.losses import pairs as L


def _norm(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _dist(x):
    n = _norm(x)
    return np.sqrt(np.maximum(2 - 2 * n @ n.T, 1e-12)), n @ n.T


def np_contrastive(x, y, m):
    d, c = _dist(x)
    terms = []
    for i, j in itertools.permutations(range(len(y)), 2):
        terms.append(2 - 2 * c[i, j] if y[i] == y[j] else max(0.0, m - d[i, j]) ** 2)
    return np.mean(terms) if terms else 0.0


def np_triplet(x, y, m, mining):
    d, _ = _dist(x)
    n = len(y)
    if mining == "batch_all":
        losses = [d[a, p] - d[a, q] + m for a in range(n) for p in range(n) for q in range(n)
                  if a != p and y[a] == y[p] and y[q] != y[a]]
        pos = [v for v in losses if v > 0]
        return sum(pos) / len(pos) if pos else 0.0
    if mining == "batch_hard":
        out = []
        for a in range(n):
            ps = [d[a, p] for p in range(n) if p != a and y[p] == y[a]]
            ns = [d[a, q] for q in range(n) if y[q] != y[a]]
            if ps and ns:
                out.append(max(0.0, max(ps) - min(ns) + m))
        return np.mean(out) if out else 0.0
    out = []  # semi_hard
    for a in range(n):
        ns = [d[a, q] for q in range(n) if y[q] != y[a]]
        for p in range(n):
            if p == a or y[p] != y[a] or not ns:
                continue
            farther = [v for v in ns if v > d[a, p]]
            neg = min(farther) if farther else max(ns)
            out.append(max(0.0, d[a, p] - neg + m))
    return np.mean(out) if out else 0.0


def np_npair(x, y):
    s = x @ x.T
    out = []
    for i in range(len(y)):
        negs = [j for j in range(len(y)) if y[j] != y[i]]
        for p in range(len(y)):
            if p != i and y[p] == y[i] and negs:
                out.append(np.log(1 + sum(np.exp(s[i, j] - s[i, p]) for j in negs)))
    return np.mean(out) if out else 0.0


def np_ms(x, y, a, b, lam, eps):
    _, s = _dist(x)
    out = []
    for i in range(len(y)):
        P = [j for j in range(len(y)) if j != i and y[j] == y[i]]
        N = [j for j in range(len(y)) if y[j] != y[i]]
        min_p = min((s[i, j] for j in P), default=2.0)
        max_n = max((s[i, j] for j in N), default=-2.0)
        kp = [j for j in P if s[i, j] < max_n + eps]
        kn = [j for j in N if s[i, j] > min_p - eps]
        if not kp and not kn:
            continue
        out.append(np.log(1 + sum(np.exp(-a * (s[i, j] - lam)) for j in kp)) / a
                   + np.log(1 + sum(np.exp(b * (s[i, j] - lam)) for j in kn)) / b)
    return np.mean(out) if out else 0.0


CASES = {
    "mixed": np.array([0, 0, 1, 1, 1, 2, 3, 3]),
    "single_identity": np.zeros(6, int),
    "all_distinct": np.arange(6),
}

LOSSES = [
    ("contrastive", lambda e, y: L.contrastive(e, y, margin=0.9), lambda x, y: np_contrastive(x, y, 0.9)),
    ("batch_all", lambda e, y: L.triplet(e, y, margin=0.3, mining="batch_all"),
     lambda x, y: np_triplet(x, y, 0.3, "batch_all")),
    ("batch_hard", lambda e, y: L.triplet(e, y, margin=0.3), lambda x, y: np_triplet(x, y, 0.3, "batch_hard")),
    ("semi_hard", lambda e, y: L.triplet(e, y, margin=0.3, mining="semi_hard"),
     lambda x, y: np_triplet(x, y, 0.3, "semi_hard")),
    ("npair", L.npair, np_npair),
    ("ms", lambda e, y: L.multi_similarity(e, y, alpha=2.0, beta=10.0, lam=0.5, eps=0.1),
     lambda x, y: np_ms(x, y, 2.0, 10.0, 0.5, 0.1)),
]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name,fn,ref", LOSSES, ids=[n for n, _, _ in LOSSES])
def test_loss_matches_numpy_loops(name, fn, ref, case):
    y = CASES[case]
    x = np.random.default_rng(len(y) + len(name)).normal(size=(len(y), 5)).astype(np.float32)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = L.mean_of(*fn(xv, tf.constant(y)))
    np.testing.assert_allclose(float(loss), ref(x.astype(np.float64), y), rtol=2e-4, atol=2e-5)
    grad = tape.gradient(loss, xv)
    assert grad is None or np.isfinite(grad.numpy()).all()
    if case == "single_identity" and name not in ("contrastive",):
        assert float(loss) == 0.0  # no negative: no valid term, 0 not NaN


def test_embedding_l2_and_empty_count():
    x = tf.constant([[3.0, 4.0], [0.0, 1.0]])
    assert float(L.mean_of(*L.embedding_l2(x))) == pytest.approx(13.0)
    total, count = L.triplet(x, tf.constant([0, 1]))
    assert float(total) == 0.0 and float(count) == 0.0


@pytest.mark.parametrize("name,fn", [("batch_hard", lambda e, y, *r: L.triplet(e, y, *r, margin=0.3)),
                                     ("npair", L.npair),
                                     ("ms", lambda e, y, *r: L.multi_similarity(e, y, *r, beta=10.0, lam=0.5))])
def test_two_replicas_equal_global_batch(name, fn):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6)).astype(np.float32)
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])  # pairs cross the replica split
    w0 = rng.normal(size=(6, 4)).astype(np.float32)

    def loss_and_grad(w, xb, yb):
        with tf.GradientTape() as tape:
            e = tf.matmul(xb, w)
            loss = L.mean_of(*fn(e, yb, *L.global_reference(e, yb)))
        return loss, tape.gradient(loss, w)

    w = tf.Variable(w0)
    want_loss, want_grad = loss_and_grad(w, tf.constant(x), tf.constant(y))

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        wm = tf.Variable(w0)
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((x, y)))

    @tf.function
    def step(batch):
        loss, grad = strategy.run(lambda xb, yb: loss_and_grad(wm, xb, yb), args=batch)
        return (strategy.reduce("SUM", loss, axis=None), strategy.reduce("SUM", grad, axis=None))

    got_loss, got_grad = step(next(iter(ds)))
    assert float(want_loss) > 0
    np.testing.assert_allclose(float(got_loss), float(want_loss), rtol=1e-5)
    np.testing.assert_allclose(got_grad.numpy(), want_grad.numpy(), rtol=1e-4, atol=1e-6)
