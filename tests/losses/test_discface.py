"""DiscFace (Kim et al. 2020) Eqs. 2–4 with the basis clipping, against NumPy."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.losses.discface import (
    DiscFaceTerm,
    batch_discrepancies,
    discrepancy,
    displacement,
    displacement_discrepancies,
    effective_basis,
)


def np_loss(f, w, y, xi, max_norm):
    """Eqs. 2–3 with Algorithm 1's clip, K bases (nearest), in float64."""
    fn = f / np.linalg.norm(f, axis=1, keepdims=True)
    wn = (w / np.linalg.norm(w, axis=0, keepdims=True)).T[y]
    eps = fn - wn
    norms = np.linalg.norm(xi, axis=1, keepdims=True)
    basis = xi / np.maximum(norms, 1e-300) * np.minimum(norms, max_norm)
    return np.mean([min(np.linalg.norm(e - b) for b in basis) for e in eps])


def _numeric_grad(fn, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (fn(xp) - fn(xm)) / (2 * h)
    return g


@pytest.mark.parametrize("num_bases", [1, 3])
def test_loss_and_gradients_match_numpy(num_bases):
    rng = np.random.default_rng(num_bases)
    f = rng.normal(size=(6, 4))
    w = rng.normal(size=(4, 5))
    y = np.array([0, 1, 1, 4, 2, 0])
    xi = rng.normal(size=(num_bases, 4)) * np.array([[0.01], [0.2], [0.03]])[:num_bases]  # inside and beyond 0.05
    fv, wv, xv = (tf.Variable(a.astype(np.float32)) for a in (f, w, xi))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(discrepancy(displacement(fv, wv, tf.constant(y)), effective_basis(xv, 0.05)))
    np.testing.assert_allclose(float(loss), np_loss(f, w, y, xi, 0.05), rtol=1e-5)
    gf, gw, gx = tape.gradient(loss, [fv, wv, xv])
    np.testing.assert_allclose(gf.numpy(), _numeric_grad(lambda a: np_loss(a, w, y, xi, 0.05), f), atol=1e-4)
    np.testing.assert_allclose(gw.numpy(), _numeric_grad(lambda a: np_loss(f, a, y, xi, 0.05), w), atol=1e-4)
    np.testing.assert_allclose(gx.numpy(), _numeric_grad(lambda a: np_loss(f, w, y, a, 0.05), xi), atol=1e-4)


def test_clip_and_zero_term():
    xi = tf.constant([[0.3, 0.4], [0.01, 0.0]])  # norms 0.5 and 0.01
    basis = effective_basis(xi, 0.05).numpy()
    np.testing.assert_allclose(np.linalg.norm(basis, axis=1), [0.05, 0.01], rtol=1e-6)
    np.testing.assert_allclose(basis[0], [0.03, 0.04], rtol=1e-6)  # direction kept
    # every ε equal to ξ_eff -> zero term: here f = w_y, so ε = 0 = ξ_eff of the zero-initialised basis
    w = np.eye(3, dtype=np.float32)
    layer = DiscFaceTerm(3, 1, 0.05)
    assert float(layer(np.array([[2.0, 0.0, 0.0]], np.float32), w, tf.constant([0]))[0]) == 0.0
    # and a non-zero basis: f = (cos a, sin a, 0), w_y = e0 -> ε = (cos a − 1, sin a, 0), |ε| = 0.04 < clip
    a = 0.04
    layer.xi.assign([[np.cos(a) - 1, np.sin(a), 0.0]])
    f = np.array([[np.cos(a), np.sin(a), 0.0]] * 2, np.float32)
    np.testing.assert_allclose(layer(f * [[1.0], [3.0]], w, tf.constant([0, 0])).numpy(), [0.0, 0.0], atol=1e-6)
    eps = displacement(tf.constant([[0.6, 0.8, 0.0], [0.6, 0.8, 0.0]]), tf.constant(w), tf.constant([0, 0]))
    layer.xi.assign(eps.numpy()[:1] / np.linalg.norm(eps.numpy()[0]) * 0.05)
    # with ξ_eff = ε scaled to the clip, the distance is |ε| − 0.05 exactly
    np.testing.assert_allclose(layer(tf.constant([[0.6, 0.8, 0.0]]), w, tf.constant([0])).numpy(),
                               [np.linalg.norm(eps.numpy()[0]) - 0.05], rtol=1e-5)


def test_zero_initialised_basis_learns():
    layer = DiscFaceTerm(3, 1, 0.05)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(layer(tf.constant([[0.6, 0.8, 0.0]]), tf.eye(3), tf.constant([0])))
    assert np.abs(tape.gradient(loss, layer.xi).numpy()).sum() > 0.1


def test_in_graph_discrepancies_match_numpy():
    rng = np.random.default_rng(0)
    e, y = rng.normal(size=(10, 4)), rng.integers(0, 3, 10)
    cos, radial = batch_discrepancies(tf.constant(e, tf.float32), tf.constant(y))
    np.testing.assert_allclose([float(cos), float(radial)], displacement_discrepancies(e, y), rtol=1e-5)


def test_directional_and_radial_discrepancy():
    eps = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    cos, radial = displacement_discrepancies(eps, np.array([0, 0, 1, 2]))
    assert cos == pytest.approx(1.0) and radial == pytest.approx(1.0)  # one intra-class pair: same direction, |1-2|


def test_two_bases_from_the_real_initialiser_separate_on_a_two_mode_toy():
    # Issue 13.5: K bases that start equal (zeros) get equal gradients (the min over bases splits a tie
    # equally), so they never separate and K > 1 behaves as K = 1. With the layer's own initialisation
    # (what EmbeddingTask does: a step, then seed_from the step's displacements, a no-op after the first),
    # two bases fitted to displacements from two modes must end near different modes.
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    dim = 8
    mode_a, mode_b = np.zeros(dim), np.zeros(dim)
    mode_a[0], mode_b[1] = 0.04, 0.04  # inside the 0.05 clip, 0.057 apart
    eps = np.concatenate([mode_a + rng.normal(0, 0.003, (64, dim)), mode_b + rng.normal(0, 0.003, (64, dim))])
    eps = tf.constant(eps, tf.float32)
    layer = DiscFaceTerm(dim, num_bases=2, max_norm=0.05)
    opt = tf.keras.optimizers.SGD(0.01)
    for _ in range(500):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(discrepancy(eps, layer.basis()))
        opt.apply_gradients([(tape.gradient(loss, layer.xi), layer.xi)])
        layer.seed_from(eps)
    basis = layer.basis().numpy()
    assert np.linalg.norm(basis[0] - basis[1]) > 0.04, basis
    to_modes = np.linalg.norm(basis[:, None, :] - np.stack([mode_a, mode_b])[None], axis=2)  # [basis, mode]
    assert sorted(to_modes.argmin(axis=1).tolist()) == [0, 1]  # one basis per mode
    assert to_modes.min(axis=1).max() < 0.01


def test_seeding_by_farthest_points_by_hand():
    eps = np.array([[0.0, 0.0], [1.0, 0.0], [0.9, 0.1], [0.0, 3.0], [0.1, 0.0]], np.float32)
    # mean (0.4, 0.62): farthest is (0, 3); farthest from it is (1, 0) (distance² 10 against 9.22, 9.01, 9);
    # then distances² to {(0,3), (1,0)}: (0,0) → min(9, 1) = 1; (0.9,0.1) → 0.02; (0.1,0) → 0.81: (0, 0)
    from tfface.losses.discface import farthest_points

    np.testing.assert_array_equal(farthest_points(tf.constant(eps), 3).numpy(), [3, 1, 0])
    layer = DiscFaceTerm(2, 2, max_norm=0.05)
    assert np.all(layer.xi.numpy() == 0)
    layer.seed_from(tf.constant(eps))
    np.testing.assert_allclose(layer.xi.numpy(), [[0.0, 0.05], [0.05, 0.0]], atol=1e-7)  # clipped to ξ_max
    layer.xi.assign([[1.0, 2.0], [3.0, 4.0]])
    layer.seed_from(tf.constant(eps))  # only once
    np.testing.assert_array_equal(layer.xi.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    one = DiscFaceTerm(2, 1)
    one.seed_from(tf.constant(eps))  # one basis: stays at zero, as before
    assert np.all(one.xi.numpy() == 0)


def test_discrepancy_report_by_hand():
    from tfface.methods.discface import discrepancy_report

    # 2-D, two samples of class 0 whose weight is (0, 1): f = (1, 0) → ε = (1, −1); f = (0, 2) → ε = (0, 0)
    emb = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    kernel = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)  # [D, C]: class 0 = (0, 1), class 1 = (1, 0)
    out = discrepancy_report(emb, kernel, np.array([0, 0]))
    assert out["displacement_norm"] == pytest.approx(np.sqrt(2) / 2)
    assert out["radial"] == pytest.approx(np.sqrt(2)) and "eq3_discrepancy" not in out
    # with a DiscFace term whose ξ_eff = (0.03, −0.04) (norm 0.05): Eq. 3 = mean(|(0.97, −0.96)|, |(−0.03, 0.04)|)
    term = DiscFaceTerm(2, 1, 0.05)
    term.xi.assign([[0.03, -0.04]])
    with_term = discrepancy_report(emb, kernel, np.array([0, 0]), term)
    assert with_term["xi_eff_norm"] == pytest.approx([0.05])
    assert with_term["eq3_discrepancy"] == pytest.approx((np.hypot(0.97, 0.96) + 0.05) / 2, rel=1e-5)
