"""The sharded margin cross-entropy (issue 17's building block): on 2 replicas, each holding half of the
classes, the loss and the gradients with respect to every replica's embeddings and class-weight shard equal
the full head's on one device for the same global batch, for every normalised margin."""

import numpy as np
import pytest
import tensorflow as tf
from one_step import mirrored

from tfface.heads.margins import make_margin
from tfface.heads.partial_fc import sharded_margin_cross_entropy


def _full_head(emb, labels, kernel, margin):
    emb, kernel = tf.constant(emb), tf.Variable(kernel)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(emb)
        cos = tf.matmul(tf.math.l2_normalize(emb, axis=1), tf.math.l2_normalize(kernel, axis=0))
        logits = margin(cos, tf.constant(labels), None)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    acc = float(np.mean(np.argmax(logits.numpy(), 1) == labels))
    return float(loss), tape.gradient(loss, emb).numpy(), tape.gradient(loss, kernel).numpy(), acc


@pytest.mark.parametrize("name", ["normface", "cosface", "arcface", "combined"])
def test_two_shards_equal_the_full_head(name):
    rng = np.random.default_rng(0)
    classes, dim, batch = 10, 8, 6
    emb = rng.normal(size=(batch, dim)).astype(np.float32)
    labels = np.array([0, 7, 3, 9, 5, 4], np.int32)  # labels on both replicas' shards
    kernel = rng.normal(size=(dim, classes)).astype(np.float32)
    margin = make_margin(name, s=16.0, m=0.3, m1=1.2, m3=0.1)
    want_loss, want_demb, want_dkernel, want_acc = _full_head(emb, labels, kernel, margin)

    strategy = mirrored()
    half = classes // 2
    shards = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.Variable(kernel[:, ctx.replica_id_in_sync_group * half:][:, :half]))
    local_emb = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(emb[ctx.replica_id_in_sync_group * 3:][:3]))
    local_lab = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(labels[ctx.replica_id_in_sync_group * 3:][:3]))

    @tf.function
    def step(e, y, w):
        def replica(e, y, w):
            rid = tf.distribute.get_replica_context().replica_id_in_sync_group
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(e)
                share, acc = sharded_margin_cross_entropy(e, y, w, rid * half, margin)
            return share, acc, tape.gradient(share, e), tape.gradient(share, w)
        return strategy.run(replica, args=(e, y, w))

    share, acc, demb, dkernel = (strategy.experimental_local_results(v) for v in step(local_emb, local_lab, shards))
    assert float(sum(s.numpy() for s in share)) == pytest.approx(want_loss, rel=1e-5)
    assert all(float(a) == pytest.approx(want_acc) for a in acc)
    np.testing.assert_allclose(np.concatenate([d.numpy() for d in demb]), want_demb, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([d.numpy() for d in dkernel], axis=1), want_dkernel, rtol=1e-4,
                               atol=1e-6)


def test_an_unnormalised_margin_is_refused():
    strategy = mirrored()

    def replica():
        return sharded_margin_cross_entropy(tf.ones((1, 2)), tf.zeros((1,), tf.int32), tf.ones((2, 2)), 0,
                                            make_margin("softmax"))

    with pytest.raises(ValueError, match="needs a normalised margin"):
        strategy.run(replica)
