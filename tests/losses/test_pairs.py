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
    if case == "single_identity" and name not in ("contrastive", "rll"):  # these pull positives too
        assert float(loss) == 0.0  # no negative: no valid term, 0 not NaN


def test_embedding_l2_and_empty_count():
    x = tf.constant([[3.0, 4.0], [0.0, 1.0]])
    assert float(L.mean_of(*L.embedding_l2(x))) == pytest.approx(13.0)
    total, count = L.triplet(x, tf.constant([0, 1]))
    assert float(total) == 0.0 and float(count) == 0.0


def _per_replica(fn):
    return lambda e, y: L.mean_of(*fn(e, y, *L.global_reference(e, y)))


@pytest.mark.parametrize("name,loss_fn", [
    ("batch_hard", _per_replica(lambda e, y, *r: L.triplet(e, y, *r, margin=0.3))),
    ("npair", _per_replica(L.npair)),
    ("ms", _per_replica(lambda e, y, *r: L.multi_similarity(e, y, *r, beta=10.0, lam=0.5))),
    ("rll", _per_replica(L.ranked_list)),
    ("histogram", lambda e, y: L.histogram_global(e, y, bins=21)),
])
def test_two_replicas_equal_global_batch(name, loss_fn):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6)).astype(np.float32)
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])  # pairs cross the replica split
    w0 = rng.normal(size=(6, 4)).astype(np.float32)

    def loss_and_grad(w, xb, yb):
        with tf.GradientTape() as tape:
            e = tf.matmul(xb, w)
            loss = loss_fn(e, yb)
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


def np_rll(x, y, alpha, m, tn, tp):
    d, _ = _dist(x)
    out = []
    for i in range(len(y)):
        P = [d[i, j] for j in range(len(y)) if j != i and y[j] == y[i] and d[i, j] > alpha - m]
        N = [d[i, j] for j in range(len(y)) if y[j] != y[i] and d[i, j] < alpha]
        lp = sum(np.exp(tp * (v - alpha + m)) * (v - alpha + m) for v in P) / sum(
            np.exp(tp * (v - alpha + m)) for v in P) if P else 0.0
        ln = sum(np.exp(tn * (alpha - v)) * (alpha - v) for v in N) / sum(
            np.exp(tn * (alpha - v)) for v in N) if N else 0.0
        out.append(lp + ln)
    return np.mean(out)


def np_hist(x, y, bins):
    _, s = _dist(x)
    nodes = np.linspace(-1, 1, bins)
    step = 2 / (bins - 1)
    hp, hn = np.zeros(bins), np.zeros(bins)
    for i, j in itertools.combinations(range(len(y)), 2):
        w = np.maximum(0, 1 - np.abs(s[i, j] - nodes) / step)
        (hp if y[i] == y[j] else hn)[:] += w
    if hp.sum() == 0 or hn.sum() == 0:
        return 0.0
    hp, hn = hp / hp.sum(), hn / hn.sum()
    return float(np.sum(hn * np.cumsum(hp)))


LOSSES_2 = [
    ("rll", lambda e, y: L.ranked_list(e, y, alpha=1.2, margin=0.4, t_n=10.0, t_p=1.0),
     lambda x, y: np_rll(x, y, 1.2, 0.4, 10.0, 1.0)),
    ("histogram", lambda e, y: L.histogram(e, y, bins=11), lambda x, y: np_hist(x, y, 11)),
]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name,fn,ref", LOSSES_2, ids=[n for n, _, _ in LOSSES_2])
def test_rll_and_histogram_match_numpy(name, fn, ref, case):
    test_loss_matches_numpy_loops(name, fn, ref, case)


def test_histogram_hand_case():
    # positive pair at cosine 1, both negative pairs at -1: no negative reaches the positive -> 0
    # positive pair at -1, negatives at -1 (a tie counts, Φ⁺ is "≤") and at +1 -> 0.5·1 + 0.5·1 = 1
    x = tf.constant([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    assert float(L.histogram(x, tf.constant([0, 0, 1]), bins=5)[0]) == pytest.approx(0.0)
    x = tf.constant([[1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    assert float(L.histogram(x, tf.constant([0, 0, 1]), bins=5)[0]) == pytest.approx(1.0)


def test_center_loss_update_matches_eq4_and_two_replicas():
    from tfface.losses.center import CenterLoss

    x = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]], np.float32)
    y = np.array([0, 0, 1, 0])
    layer = CenterLoss(3, 2, alpha=0.5)
    layer.centers.assign(np.array([[1.0, 1.0], [0.0, 0.0], [7.0, 7.0]], np.float32))
    total, count = layer(tf.constant(x), tf.constant(y))
    assert float(total) == pytest.approx(0.5 * (1 + 5 + 4 + 32)) and float(count) == 4
    layer.update(tf.constant(x), tf.constant(y))
    # class 0: Σ(c − x) = (0,1)+(-2,1)+(-4,-4) = (-6,-2), /(1+3) -> (-1.5,-0.5); c <- c − 0.5·Δ = (1.75, 1.25)
    # class 1: (0,-2)/2 = (0,-1) -> (0, 0.5); class 2 untouched
    np.testing.assert_allclose(layer.centers.numpy(), [[1.75, 1.25], [0.0, 0.5], [7.0, 7.0]], atol=1e-6)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        dist_layer = CenterLoss(3, 2, alpha=0.5)
    dist_layer.centers.assign(np.array([[1.0, 1.0], [0.0, 0.0], [7.0, 7.0]], np.float32))
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((x, y)))
    strategy.run(tf.function(dist_layer.update), args=next(iter(ds)))
    for value in strategy.experimental_local_results(dist_layer.centers):
        np.testing.assert_allclose(value.numpy(), layer.centers.numpy(), atol=1e-6)


def test_keras_wrapper_config_value_and_fit():
    import keras

    from tfface.losses.registry import MetricLoss

    loss = MetricLoss("ms", ms_beta=10.0, ms_lambda=0.5)
    again = MetricLoss.from_config(loss.get_config())
    config = again.get_config()
    assert config == loss.get_config() and config["reduction"] == "sum"  # Keras' own keys come from super()
    assert {k: config[k] for k in ("kind", "name", "ms_beta", "ms_lambda")} == {"kind": "ms", "name": "ms",
                                                                              "ms_beta": 10.0, "ms_lambda": 0.5}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype(np.float32)
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    want = float(L.mean_of(*L.multi_similarity(tf.constant(x), tf.constant(y), beta=10.0, lam=0.5)))
    assert float(again(y, x)) == pytest.approx(want, rel=1e-6)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
    model.compile(keras.optimizers.SGD(0.1), loss=MetricLoss("triplet", triplet_margin=0.3), jit_compile=False)
    hist = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert all(np.isfinite(hist.history["loss"]))
