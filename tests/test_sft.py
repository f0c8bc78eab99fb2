"""SFT (Zhu et al. 2020): the rotation (Eqs. 3–4), translation (Eq. 2), SFT-d (Sec. 3.4), the centre
update (Eq. 9) on one and two replicas, target schemes (Sec. 3.5) and the analysis tools (Eqs. 7–8, 11)."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.methods.sft import FeatureAugmenter
from tfface.methods.sft_analysis import orthogonality, rotation_residuals, sft_report
from tfface.transforms.centres import ClassCentres
from tfface.transforms.spherical import degenerated, rotate, rotation_matrix, translate


def _rot(x, mu1, mu2):
    x, mu1, mu2 = (np.atleast_2d(np.asarray(v, np.float64)) for v in (x, mu1, mu2))
    return rotate(tf.constant(x), tf.constant(mu1), tf.constant(mu2)).numpy()


def test_rotation_by_hand_in_3d():
    # μ₁ = e₁, μ₂ = 2e₂: a quarter turn in the (e₁, e₂) plane; e₃ is left alone
    np.testing.assert_allclose(_rot([1, 0, 1], [1, 0, 0], [0, 2, 0]), [[0, 1, 1]], atol=1e-12)
    np.testing.assert_allclose(_rot([0, 1, 0], [1, 0, 0], [0, 2, 0]), [[-1, 0, 0]], atol=1e-12)
    # 45°: e₁ → (e₁ + e₂)/√2
    np.testing.assert_allclose(_rot([1, 0, 0], [1, 0, 0], [1, 1, 0]), [[2 ** -0.5, 2 ** -0.5, 0]], atol=1e-12)


def test_rotation_matches_eq4_matrix_and_is_orthogonal():
    rng = np.random.default_rng(0)
    for d in (2, 3, 7):
        mu1, mu2 = rng.normal(size=(2, d))
        a = rotation_matrix(mu1, mu2)
        np.testing.assert_allclose(a @ a.T, np.eye(d), atol=1e-12)  # orthogonal
        assert np.linalg.det(a) == pytest.approx(1.0)  # a rotation
        np.testing.assert_allclose(a @ (mu1 / np.linalg.norm(mu1)), mu2 / np.linalg.norm(mu2), atol=1e-12)
        x = rng.normal(size=(6, d))
        got = _rot(x, np.tile(mu1, (6, 1)), np.tile(mu2, (6, 1)))
        np.testing.assert_allclose(got, x @ a.T, atol=1e-12)  # the O(D) form equals Eq. 4
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), np.linalg.norm(x, axis=1), atol=1e-12)
        if d > 2:  # vectors orthogonal to span(μ₁, μ₂) are unchanged
            q, _ = np.linalg.qr(np.stack([mu1, mu2], 1), mode="complete")
            ortho = q[:, 2:].T
            np.testing.assert_allclose(_rot(ortho, np.tile(mu1, (d - 2, 1)), np.tile(mu2, (d - 2, 1))), ortho,
                                       atol=1e-12)


def test_rotation_parallel_and_antiparallel_centres_are_finite():
    x = np.array([[0.3, -0.2, 0.9]])
    same = _rot(x, [1, 0, 0], [2, 0, 0])
    np.testing.assert_allclose(same, x, atol=1e-12)
    near = _rot(x, [1, 0, 0], [1, 1e-9, 0])
    np.testing.assert_allclose(near, x, atol=1e-8)
    flip = _rot(x, [1, 0, 0], [-3, 0, 0])
    assert np.all(np.isfinite(flip))
    np.testing.assert_allclose(_rot([1, 0, 0], [1, 0, 0], [-3, 0, 0]), [[-1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(flip), np.linalg.norm(x), atol=1e-12)
    # gradients with respect to the feature are finite too (float32, as in training)
    xv = tf.Variable(x.astype(np.float32))
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(rotate(xv, tf.constant([[1.0, 0, 0]]), tf.constant([[-1.0, 1e-8, 0]])))
    assert np.all(np.isfinite(tape.gradient(out, xv).numpy()))


def test_sft_reduces_to_translation_when_sigma_orthogonal_to_the_centres():
    # Proposition 3: x = μ₁ + σ with unit centres and σ ⟂ span(μ₁, μ₂) ⇒ A x = μ₂ + σ = x + μ₂ − μ₁
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    mu1, mu2 = q[:, 0], 0.6 * q[:, 0] + 0.8 * q[:, 1]
    sigma = 0.3 * q[:, 2] - 0.5 * q[:, 4]
    x = mu1 + sigma
    trans = translate(tf.constant(x[None]), tf.constant(mu1[None]), tf.constant(mu2[None])).numpy()
    np.testing.assert_allclose(_rot(x, mu1, mu2), trans, atol=1e-12)
    np.testing.assert_allclose(trans, (mu2 + sigma)[None], atol=1e-12)
    # ... and differs when σ has a component in the plane
    y = mu1 + 0.3 * q[:, 1]
    assert np.abs(_rot(y, mu1, mu2) - (y + mu2 - mu1)).max() > 0.05


def test_degenerated_form_translates_then_projects():
    x, mu1, mu2 = np.array([[2.0, 1.0]]), np.array([[2.0, 0.0]]), np.array([[0.0, 3.0]])
    got = degenerated(tf.constant(x), tf.constant(mu1), tf.constant(mu2)).numpy()
    np.testing.assert_allclose(got, [[0.0, 1.0]], atol=1e-12)  # (2,1) + (−2,3) = (0,4) → (0,1)


def _hand_batch():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]], np.float32)
    y = np.array([0, 0, 1, 0])
    start = np.array([[1.0, 1.0], [0.0, 0.0], [7.0, 7.0]], np.float32)
    # Eq. 9: class 0: Σ(μ − x) = (0,1)+(−2,1)+(−4,−4) = (−6,−2), /(1+3) = (−1.5,−0.5) → μ = (2.5, 1.5)
    #        class 1: (0,−2)/(1+1) = (0,−1) → μ = (0, 1); class 2 not in the batch: unchanged
    return x, y, start, np.array([[2.5, 1.5], [0.0, 1.0], [7.0, 7.0]]), np.array([3.0, 1.0, 0.0])


def test_centre_update_is_eq9_on_one_and_two_replicas():
    x, y, start, want, seen = _hand_batch()
    one = ClassCentres(3, 2)
    one.centers.assign(start)
    one.update(tf.constant(x), tf.constant(y))
    np.testing.assert_allclose(one.centers.numpy(), want, atol=1e-6)
    np.testing.assert_allclose(one.seen.numpy(), seen)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        two = ClassCentres(3, 2)
    two.centers.assign(start)
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((x, y)))
    strategy.run(tf.function(two.update), args=next(iter(ds)))  # each replica holds half of the batch
    for centers, count in zip(strategy.experimental_local_results(two.centers),
                              strategy.experimental_local_results(two.seen)):
        np.testing.assert_allclose(centers.numpy(), want, atol=1e-6)
        np.testing.assert_allclose(count.numpy(), seen)


def test_balanced_and_unbalanced_targets():
    labels = tf.constant(np.tile(np.arange(6), 50))
    bal = FeatureAugmenter("sft", 6, 4, scheme="balanced", seed=1)
    target, ok = bal.targets(labels, tf.constant(3))
    t = target.numpy()
    assert np.all(ok.numpy()) and not np.any(t == labels.numpy())  # always another class
    assert set(t.tolist()) == set(range(6))  # and every class is reachable
    counts = np.array([40, 30, 20, 3, 5, 14])  # threshold 15: classes 0–2 head, 3–5 tail
    unb = FeatureAugmenter("sft", 6, 4, counts, scheme="unbalanced", seed=1)
    target, ok = unb.targets(labels, tf.constant(3))
    np.testing.assert_array_equal(ok.numpy(), labels.numpy() < 3)  # only head features are sent
    assert set(target.numpy().tolist()) == {3, 4, 5}  # only to tail classes
    with pytest.raises(ConfigError, match="sft_tail_threshold"):
        FeatureAugmenter("sft", 3, 4, [1, 2, 3], scheme="unbalanced")
    with pytest.raises(ConfigError, match="feature_transform"):
        FeatureAugmenter("rotate", 3, 4)


@pytest.mark.parametrize("per_identity", [False, True])
def test_targets_are_the_same_on_two_replicas(per_identity):
    labels = np.repeat(np.arange(4), 2) if per_identity else np.arange(8) % 5
    aug = FeatureAugmenter("sft", 9 if per_identity else 5, 4, seed=2, per_identity=per_identity)
    one = aug.targets(tf.constant(labels), tf.constant(11))[0].numpy()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(labels))
    out = strategy.run(tf.function(lambda y: aug.targets(y, tf.constant(11))[0]), args=(next(iter(ds)),))
    two = np.concatenate([v.numpy() for v in strategy.experimental_local_results(out)])
    np.testing.assert_array_equal(two, one)


def test_generation_waits_for_warmup_and_seen_centres():
    aug = FeatureAugmenter("sft", 3, 2, warmup_steps=5)
    x, y, start, _, _ = _hand_batch()
    aug.centres.centers.assign(start)
    _, _, weight = aug(tf.constant(x), tf.constant(y), tf.constant(4))
    assert float(tf.reduce_sum(weight)) == 0  # still warming up
    aug.update(tf.constant(x), tf.constant(y))  # classes 0 and 1 seen, class 2 never
    gen, target, weight = aug(tf.constant(x), tf.constant(y), tf.constant(5))
    t, w = target.numpy(), weight.numpy()
    np.testing.assert_array_equal(w, (t != 2).astype(np.float32))  # no feature sent to an unseen class
    np.testing.assert_allclose(np.linalg.norm(gen.numpy(), axis=1), 1.0, atol=1e-6)
    centres = aug.centres.centers.numpy()
    for i in np.flatnonzero(w):  # the generated feature is the rotation of x̂ from its centre to the target's
        ref = rotation_matrix(centres[y[i]], centres[t[i]]) @ (x[i] / np.linalg.norm(x[i]))
        np.testing.assert_allclose(gen.numpy()[i], ref, atol=1e-5)


def _r_w_reference(x, y, energy):
    """Eqs. 7–8 written out with loops."""
    classes = np.unique(y)
    mus = np.array([x[y == c].mean(0) for c in classes])
    s_c = sum(np.outer(m, m) for m in mus) / len(classes)
    s_w = sum(sum(np.outer(v - m, v - m) for v in x[y == c]) / (y == c).sum() for c, m in zip(classes, mus))
    s_w = s_w / len(classes)
    vals, vecs = np.linalg.eigh(s_c)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    k = 1
    while vals[:k].sum() / vals.sum() < energy:
        k += 1
    u = vecs[:, :k]
    return np.trace(u.T @ s_w @ u) / np.trace(s_w)


def test_orthogonality_rw_eq8():
    rng = np.random.default_rng(3)
    means = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0.7, 0.7, 0, 0]])
    y = np.repeat(np.arange(3), 20)
    # within-class variation only along e₃, e₄: orthogonal to the means' subspace → r_w = 0
    sig = np.zeros((60, 4))
    sig[:, 2:] = rng.normal(size=(60, 2)) * 0.1
    sig -= np.array([sig[y == c].mean(0) for c in range(3)])[y]
    assert orthogonality(means[y] + sig, y, 0.99)["r_w"] == pytest.approx(0.0, abs=1e-12)
    x = means[y] + rng.normal(size=(60, 4)) * 0.1
    for energy in (0.5, 0.9, 0.999):
        assert orthogonality(x, y, energy)["r_w"] == pytest.approx(_r_w_reference(x, y, energy), rel=1e-9)


def test_rotation_residuals_and_report():
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(4), 30)
    means = np.eye(6)[:4] * 3
    x = means[y] + rng.normal(size=(120, 6)) * 0.3
    d = rotation_residuals(x, y, samples=500)
    assert d.shape == (500,) and np.all(d >= 0) and d.mean() > 0
    report = sft_report(x, y, samples=300)
    assert len(report["divergence"]["per_class"]) == 4
    assert 0 <= report["orthogonality"][0]["r_w"] <= 1


def _positive_pairs(labels):
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    return int((same.sum() - len(labels)) // 2)


def _metric_task_augmenter(scheme="balanced"):
    from tfface.config import RunConfig
    from tfface.heads.classifier import MarginHead
    from tfface.methods.standard import build_task
    from tfface.models.backbones import build_backbone

    cfg = RunConfig.of(loss="ms", sampler="pk", feature_transform="sft", sft_scheme=scheme, sft_tail_threshold=10,
                    embedding_size=8, image_size=32)
    counts = np.where(np.arange(40) < 20, 20, 4)
    task = build_task(cfg, build_backbone("small_cnn", 32, 8), MarginHead(40, "arcface"), 40, counts)
    return task.modules["augment"]


@pytest.mark.parametrize("scheme", ["balanced", "unbalanced"])
def test_metric_loss_targets_keep_every_positive_pair(scheme):
    # Issue 13.7: with a metric loss each feature used to get its own random target class, so a 16×4 P×K batch
    # kept ~13–27 of its 96 positive pairs. With a metric loss in --loss, targets are drawn per identity: all
    # K images of an identity move to one target class (a new identity in feature space).
    aug = _metric_task_augmenter(scheme)
    labels = np.repeat(np.arange(0, 32, 2), 4)  # P = 16 identities × K = 4 (even ids: head and tail alike)
    if scheme == "unbalanced":
        labels = np.repeat(np.arange(16), 4)  # head classes only, all eligible
    target, ok = aug.targets(tf.constant(labels), tf.constant(7))
    t, ok = target.numpy(), ok.numpy()
    assert ok.all() and not np.any(t == labels)
    for y in np.unique(labels):
        assert len(set(t[labels == y])) == 1  # one target per identity
    assert _positive_pairs(labels) == 96 and _positive_pairs(t) >= 96
    if scheme == "balanced":  # a bijection of classes: distinct identities stay distinct
        assert _positive_pairs(t) == 96 and len(set(t)) == 16
    else:
        assert set(t) <= set(range(20, 40))  # tail classes


def test_head_only_loss_keeps_per_sample_targets_and_the_choice_can_be_forced():
    from tfface.config import RunConfig
    from tfface.heads.classifier import MarginHead
    from tfface.methods.standard import build_task
    from tfface.models.backbones import build_backbone

    labels = tf.constant(np.repeat(np.arange(16), 4))
    for loss, targets, per_identity in (("softmax", "auto", False), ("ms", "auto", True),
                                        ("ms", "sample", False), ("softmax", "identity", True)):
        cfg = RunConfig.of(loss=loss, feature_transform="sft", sft_targets=targets, embedding_size=8, image_size=32)
        aug = build_task(cfg, build_backbone("small_cnn", 32, 8), MarginHead(40, "arcface"), 40).modules["augment"]
        t = aug.targets(labels, tf.constant(3))[0].numpy().reshape(16, 4)
        assert np.all(t == t[:, :1]) == per_identity, (loss, targets)
