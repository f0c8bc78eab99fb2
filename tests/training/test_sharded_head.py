"""The sharded margin head (Partial FC) in the trainer: one step on 2 replicas, each holding half of the
class weights, equals one step of the full head on one device; the shards' own SGD step is Keras' SGD; a
checkpoint restores with another replica count and into a full MarginHead."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from one_step import assert_one_step_equivalence, mirrored, smooth_backbone

from tfface.data import pipeline
from tfface.heads.classifier import MarginHead
from tfface.heads.sharded import ShardedMarginHead
from tfface.training.optim import WarmupSchedule, make_optimizer
from tfface.training.sharded_head_term import ShardedHeadTerm
from tfface.training.tasks import EmbeddingTask
from tfface.training.terms import HeadTerm

BATCH = 16


def _data(source):
    cfg = pipeline.TrainInput(BATCH, 32, sampler="pk", pk_k=4, seed=3)
    return lambda start, ctx: pipeline.train_dataset(source, cfg, start, ctx)


def _build(source, head_name, sharded_when):
    """Inside a strategy scope: the smooth backbone and a margin head — sharded over the strategy's replicas
    when ``sharded_when(replicas)`` — with SGD (momentum, weight decay) on a warm-up + cosine schedule."""
    def build():
        strategy = tf.distribute.get_strategy()
        backbone = smooth_backbone(32, 16)
        if sharded_when(strategy.num_replicas_in_sync):
            head = ShardedMarginHead(strategy, source.num_classes, 16, head_name, s=16.0, m=0.3)
            term = ShardedHeadTerm(head, scale_warmup_steps=4)
        else:
            head = MarginHead(source.num_classes, head_name, s=16.0, m=0.3)
            head.build((None, 16))
            term = HeadTerm(head, scale_warmup_steps=4)
        opt = make_optimizer("sgd", WarmupSchedule(0.02, 8, "cosine", warmup=2), 0.9, 5e-4)
        return EmbeddingTask(backbone, BATCH, [term]), opt
    return build


@pytest.mark.parametrize("head_name", ["cosface", "arcface", "combined"])
def test_two_shards_take_the_full_heads_step(tiny_source, tmp_path, head_name):
    """From the same weights (the one-device full head's, re-sharded on restore), one step of the sharded head
    on 2 replicas: same loss, accuracy, backbone gradients and updated backbone and head weights."""
    a, b = assert_one_step_equivalence(_build(tiny_source, head_name, lambda n: n > 1), lambda n: _data(tiny_source),
                                       tmp_path, BATCH, warm_steps=0)
    assert abs(a.after[-1] - a.before[-1]).max() > 1e-5  # the head's weights moved


def test_a_checkpoint_reshards_with_momentum(tiny_source, tmp_path):
    """Warm-up steps on one replica (one shard) write a checkpoint whose kernel and momentum the 2-replica run
    splits in two; its next step equals the one-replica run's."""
    assert_one_step_equivalence(_build(tiny_source, "arcface", lambda n: True), lambda n: _data(tiny_source),
                                tmp_path, BATCH, warm_steps=3)


def test_the_shards_step_is_keras_sgd():
    rng = np.random.default_rng(0)
    kernel, grad, grad2 = (rng.normal(size=(4, 6)).astype(np.float32) for _ in range(3))
    for nesterov in (False, True):
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        with strategy.scope():
            head = ShardedMarginHead(strategy, 6, 4, "arcface")
        head.kernel.assign_full(kernel)
        variable = tf.Variable(kernel)
        opt = keras.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.01, nesterov=nesterov)
        for g in (grad, grad2):
            opt.apply_gradients([(tf.constant(g), variable)])
            strategy.run(head.sgd_step, args=(tf.constant(g), 0.1, 0.9, 0.01, nesterov))
        np.testing.assert_array_equal(head.kernel.full().numpy(), variable.numpy())


def test_a_sharded_checkpoint_restores_into_a_full_head(tmp_path):
    strategy = mirrored()
    with strategy.scope():
        head = ShardedMarginHead(strategy, 7, 4, "arcface", seed=3)
    whole = head.kernel.full().numpy()
    assert whole.shape == (4, 7) and np.abs(whole).max() > 0
    path = tf.train.Checkpoint(head=head).save(str(tmp_path / "ck"))
    assert dict(tf.train.list_variables(path))["head/classifier/kernel/.ATTRIBUTES/VARIABLE_VALUE"] == [4, 7]
    full = MarginHead(7, "arcface")
    full.build((None, 4))
    tf.train.Checkpoint(head=full).restore(path).expect_partial()
    np.testing.assert_array_equal(full.kernel.numpy(), whole)
    # and back: a full head's checkpoint into a sharded head (another seed, so that the values must change)
    with strategy.scope():
        other = ShardedMarginHead(strategy, 7, 4, "arcface", seed=9)
    tf.train.Checkpoint(head=other).restore(tf.train.Checkpoint(head=full).save(str(tmp_path / "full"))) \
        .expect_partial()
    np.testing.assert_array_equal(other.kernel.full().numpy(), whole)
