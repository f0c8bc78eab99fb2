"""SFT (Zhu et al. 2020) in training: target schemes (Sec. 3.5) on one and two replicas, the warm-up, and
targets that keep a metric loss's positive pairs."""

import numpy as np
import pytest
import tensorflow as tf
from sft_cases import hand_batch

from tfface.errors import ConfigError
from tfface.methods.sft import FeatureAugmenter
from tfface.transforms.spherical import rotation_matrix


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
    x, y, start, _, _ = hand_batch()
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
