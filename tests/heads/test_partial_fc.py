"""The sharded margin cross-entropy (issue 17's building block): on 2 replicas, each holding half of the
classes, the loss and the gradients with respect to every replica's embeddings and class-weight shard equal
the full head's on one device for the same global batch, for every normalised margin."""

import numpy as np
import pytest
import tensorflow as tf
from one_step import mirrored

from tfface.heads.margins import make_margin
from tfface.heads.partial_fc import sampled_columns, shard_class_ids, sharded_margin_cross_entropy


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
                share, acc = sharded_margin_cross_entropy(e, y, w, rid * half + tf.range(half), margin)
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
        return sharded_margin_cross_entropy(tf.ones((1, 2)), tf.zeros((1,), tf.int32), tf.ones((2, 2)), tf.range(2),
                                            make_margin("softmax"))

    with pytest.raises(ValueError, match="needs a normalised margin"):
        strategy.run(replica)


def _sharded(strategy, emb, labels, kernel, margin, width, rate=1.0, seed=5, step=11):
    """Run the sharded cross-entropy on 2 replicas, replica r holding classes [r·width, (r+1)·width) of
    ``kernel`` (padded); returns the summed loss, replica 0's accuracy, the embedding gradient, the gradient of
    each replica's padded shard and the global class ids each replica kept."""
    classes = kernel.shape[1]
    padded = np.pad(kernel, [(0, 0), (0, 2 * width - classes)])
    shards = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.Variable(padded[:, ctx.replica_id_in_sync_group * width:][:, :width]))
    half = len(labels) // 2
    local_emb = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(emb[ctx.replica_id_in_sync_group * half:][:half]))
    local_lab = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(labels[ctx.replica_id_in_sync_group * half:][:half]))

    @tf.function
    def step_fn(e, y, w):
        def replica(e, y, w):
            ctx = tf.distribute.get_replica_context()
            ids = shard_class_ids(ctx.replica_id_in_sync_group, width, classes)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(e)
                columns = tf.convert_to_tensor(w)
                if rate < 1:
                    keep = sampled_columns(ids, ctx.all_gather(y, axis=0), rate, classes, seed, tf.constant(step))
                    columns, ids = tf.gather(columns, keep, axis=1), tf.gather(ids, keep)
                share, acc = sharded_margin_cross_entropy(e, y, columns, ids, margin)
            return share, acc, tape.gradient(share, e), tf.convert_to_tensor(tape.gradient(share, w)), ids
        return strategy.run(replica, args=(e, y, w))

    share, acc, demb, dkernel, ids = (strategy.experimental_local_results(v) for v in
                                      step_fn(local_emb, local_lab, shards))
    return (float(sum(s.numpy() for s in share)), float(acc[0]), np.concatenate([d.numpy() for d in demb]),
            [d.numpy() for d in dkernel], [i.numpy() for i in ids])


def test_an_uneven_split_pads_the_last_shard():
    rng = np.random.default_rng(1)
    classes, dim = 7, 8  # 2 replicas × 4 columns: the last column of replica 1 is padding
    emb = rng.normal(size=(6, dim)).astype(np.float32)
    labels = np.array([6, 0, 3, 4, 2, 5], np.int32)
    kernel = rng.normal(size=(dim, classes)).astype(np.float32)
    margin = make_margin("arcface", s=16.0, m=0.3)
    want_loss, want_demb, want_dkernel, want_acc = _full_head(emb, labels, kernel, margin)
    loss, acc, demb, dkernel, ids = _sharded(mirrored(), emb, labels, kernel, margin, width=4)
    assert ids[1].tolist() == [4, 5, 6, -1]
    assert loss == pytest.approx(want_loss, rel=1e-5) and acc == pytest.approx(want_acc)
    np.testing.assert_allclose(demb, want_demb, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(dkernel, axis=1)[:, :classes], want_dkernel, rtol=1e-4, atol=1e-6)
    assert not dkernel[1][:, 3].any()  # the padding column gets no gradient


def test_sampling_equals_the_full_head_on_the_sampled_classes():
    rng = np.random.default_rng(2)
    classes, dim, width = 40, 8, 20
    emb = rng.normal(size=(6, dim)).astype(np.float32)
    labels = np.array([1, 33, 17, 25, 8, 1], np.int32)
    kernel = rng.normal(size=(dim, classes)).astype(np.float32)
    margin = make_margin("cosface", s=16.0, m=0.3)
    loss, acc, demb, dkernel, ids = _sharded(mirrored(), emb, labels, kernel, margin, width, rate=0.25)
    kept = np.concatenate(ids)
    # ⌊0.25 · 20⌋ = 5 per replica; each replica's labels (3 on replica 0, 2 on replica 1) are among them
    assert [len(i) for i in ids] == [5, 5] and set(labels) <= set(kept.tolist())
    assert len(set(kept.tolist())) == 10 and (np.diff(ids[0]) > 0).all()
    remap = {c: j for j, c in enumerate(kept)}
    want_loss, want_demb, want_dkernel, want_acc = _full_head(emb, np.array([remap[y] for y in labels], np.int32),
                                                              kernel[:, kept], margin)
    assert loss == pytest.approx(want_loss, rel=1e-5) and acc == pytest.approx(want_acc)
    np.testing.assert_allclose(demb, want_demb, rtol=1e-4, atol=1e-6)
    full_grad = np.concatenate(dkernel, axis=1)
    np.testing.assert_allclose(full_grad[:, kept], want_dkernel, rtol=1e-4, atol=1e-6)
    assert not np.delete(full_grad, kept, axis=1).any()  # classes left out of the step get no gradient


def test_the_sample_depends_on_the_step_and_seed_only():
    ids = shard_class_ids(1, 50, 100)
    labels = tf.constant([60, 3], tf.int32)
    a = sampled_columns(ids, labels, 0.1, 100, seed=4, step=tf.constant(9)).numpy()
    assert a.tolist() == sampled_columns(ids, labels, 0.1, 100, seed=4, step=tf.constant(9)).numpy().tolist()
    assert 10 in a.tolist() and len(a) == 5  # class 60 is column 10 of replica 1's shard
    others = [sampled_columns(ids, labels, 0.1, 100, seed=4, step=tf.constant(s)).numpy().tolist() for s in (10, 11)]
    assert a.tolist() not in others
    # more positives than ⌊rate · width⌋: all of them are kept
    many = tf.constant(np.arange(50, 60), tf.int32)
    assert sampled_columns(ids, many, 0.1, 100, seed=4, step=tf.constant(9)).numpy().tolist() == list(range(10))
