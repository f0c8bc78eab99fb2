"""The trainer: 2 mirrored replicas equal 1 device, resume equals an uninterrupted run, NaN stops."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.data import pipeline
from tfface.data.sources import from_rows
from tfface.errors import NonFiniteLossError
from tfface.heads.classifier import MarginHead
from tfface.losses.center import CenterLoss
from tfface.losses.discface import DiscFaceTerm
from tfface.losses.registry import metric_loss
from tfface.methods.sft import FeatureAugmenter
from tfface.models.backbones import build_backbone
from tfface.training.optim import WarmupSchedule, make_optimizer
from tfface.training.tasks import ClassificationTask, EmbeddingTask
from tfface.training.trainer import Trainer, TrainerConfig

BATCH = 16


def _classification(backbone, head, source):
    return ClassificationTask(backbone, head, BATCH)


def _triplet_center(backbone, head, source):
    return EmbeddingTask(backbone, BATCH, None, [("triplet", 1.0, metric_loss("triplet"))],
                         CenterLoss(source.num_classes, 16, 0.5), 0.01)


def _arc_discface(backbone, head, source):
    return EmbeddingTask(backbone, BATCH, head, discface=DiscFaceTerm(16, 2, 0.05), discface_lambda=0.2)


def _arc_sft_unbalanced(backbone, head, source):
    counts = np.bincount(source.labels)
    aug = FeatureAugmenter("sft", source.num_classes, 16, counts, "unbalanced", int(np.median(counts)), 1, seed=5)
    return EmbeddingTask(backbone, BATCH, head, augment=aug, augment_lambda=0.5)


def _ms_sft_d(backbone, head, source):
    aug = FeatureAugmenter("sft_d", source.num_classes, 16, warmup_steps=1, seed=5)
    return EmbeddingTask(backbone, BATCH, None, [("ms", 1.0, metric_loss("ms"))], augment=aug, augment_lambda=0.5)


def _run(strategy, source, workdir, steps, lr=0.02, head="arcface", precision="none", task_fn=_classification,
         metrics=None):
    keras.utils.set_random_seed(7)
    with strategy.scope():
        backbone = build_backbone("small_cnn", 32, 16)
        head_layer = MarginHead(source.num_classes, head, s=16.0, m=0.3)
        head_layer.build((None, 16))
        opt = make_optimizer("sgd", WarmupSchedule(lr, 8, "cosine", warmup=2), 0.9, 5e-4, precision)
        task = task_fn(backbone, head_layer, source)
    initial = [v.numpy().copy() for v in backbone.weights]
    trainer = Trainer(strategy, task, opt,
                      TrainerConfig(steps, BATCH, str(workdir), log_every=100, checkpoint_every=100),
                      printer=lambda s: None)
    cfg = pipeline.TrainInput(BATCH, 32, sampler="pk", pk_k=4, seed=3)
    last = trainer.fit(lambda start, ctx: pipeline.train_dataset(source, cfg, start, ctx))
    if metrics is not None:
        metrics.update(last)
    final = [v.numpy() for v in backbone.weights] + [head_layer.kernel.numpy()]
    return initial, final


def _mirrored():
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                          cross_device_ops=tf.distribute.ReductionToOneDevice())


@pytest.mark.parametrize("task_fn", [_classification, _triplet_center, _arc_discface],
                         ids=["arcface", "triplet+center", "arc-discface"])
def test_two_replicas_match_one_device(tiny_source, tmp_path, task_fn):
    init, one = _run(tf.distribute.OneDeviceStrategy("/cpu:0"), tiny_source, tmp_path / "one", 4, task_fn=task_fn)
    _, two = _run(_mirrored(), tiny_source, tmp_path / "two", 4, task_fn=task_fn)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(one, init))
    assert moved > 1e-3  # training really changed the weights
    for a, b in zip(one, two):
        scale = max(1.0, float(np.abs(a).max()))
        np.testing.assert_allclose(a, b, atol=3e-3 * scale)


@pytest.mark.parametrize("task_fn", [_arc_sft_unbalanced, _ms_sft_d], ids=["arc-sft-unbalanced", "ms-sft_d"])
def test_sft_two_replicas_match_one_device(tiny_source, tmp_path, task_fn):
    keep = tiny_source.labels < 6  # few classes, so that centres are seen and features generated early
    few = from_rows(list(tiny_source.paths[keep]), [f"id{y}" for y in tiny_source.labels[keep]])
    seen = {}
    init, one = _run(tf.distribute.OneDeviceStrategy("/cpu:0"), few, tmp_path / "one", 4, task_fn=task_fn,
                     metrics=seen)
    _, two = _run(_mirrored(), few, tmp_path / "two", 4, task_fn=task_fn)
    assert seen["generated"] > 0  # the last step trained on generated features
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "one" / "checkpoints")))
    saved = [n for n in reader.get_variable_to_shape_map() if n.startswith("augment/") and "VARIABLE_VALUE" in n]
    assert any("centers" in n for n in saved) and any("seen" in n for n in saved)  # centres are checkpointed
    assert max(float(np.abs(a - b).max()) for a, b in zip(one, init)) > 1e-3
    for a, b in zip(one, two):
        scale = max(1.0, float(np.abs(a).max()))
        np.testing.assert_allclose(a, b, atol=3e-3 * scale)


def test_resume_reproduces_uninterrupted_run(tiny_source, tmp_path):
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    _, straight = _run(one, tiny_source, tmp_path / "straight", 6)
    _run(one, tiny_source, tmp_path / "resumed", 3)
    _, resumed = _run(_mirrored(), tiny_source, tmp_path / "resumed", 6)  # resume on 2 replicas
    for a, b in zip(straight, resumed):
        scale = max(1.0, float(np.abs(a).max()))
        np.testing.assert_allclose(a, b, atol=3e-3 * scale)


def test_non_finite_loss_stops_with_clear_message(tiny_source, tmp_path):
    with pytest.raises(NonFiniteLossError, match="NaN or Inf at step 2"):
        _run(tf.distribute.OneDeviceStrategy("/cpu:0"), tiny_source, tmp_path / "nan", 3, lr=float("nan"))


@pytest.mark.parametrize("policy,precision", [("mixed_bfloat16", "bf16"), ("mixed_float16", "fp16")])
def test_mixed_precision_trains(tiny_source, tmp_path, policy, precision):
    keras.mixed_precision.set_global_policy(policy)
    try:
        init, final = _run(tf.distribute.OneDeviceStrategy("/cpu:0"), tiny_source, tmp_path, 3,
                           precision=precision)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(w).all() for w in final)
    assert max(float(np.abs(a - b).max()) for a, b in zip(final, init)) > 1e-4


def test_ddl_two_replicas_match_one_device(tiny_source, tmp_path):
    from tfface.data.ddl_sampling import attribute_partitions, ddl_dataset, positive_pairs
    from tfface.losses.ddl import DDLParams
    from tfface.methods.ddl import DDLTask

    parts = attribute_partitions(tiny_source, "yaw", [(0.0, 20.0), (20.0, 90.0)])
    pairs = [positive_pairs(tiny_source.labels, p.indices, seed=k) for k, p in enumerate(parts)]
    params = DDLParams(bins=21, gamma=20.0, outlier=-1.0)

    def run(strategy, workdir, replicas):
        keras.utils.set_random_seed(7)
        with strategy.scope():
            backbone = build_backbone("small_cnn", 32, 16)
            head = MarginHead(tiny_source.num_classes, "arcface", s=16.0, m=0.3)
            head.build((None, 16))
            opt = make_optimizer("sgd", WarmupSchedule(0.02, 8, "cosine", warmup=2), 0.9, 5e-4)
            task = DDLTask(backbone, head, BATCH, params, weight=5.0)
        initial = [v.numpy().copy() for v in backbone.weights]
        trainer = Trainer(strategy, task, opt, TrainerConfig(3, BATCH, str(workdir), log_every=100,
                                                             checkpoint_every=100), printer=lambda s: None)
        cfg = pipeline.TrainInput(BATCH, 32, seed=3)
        last = trainer.fit(lambda start, ctx: ddl_dataset(tiny_source, parts, pairs, cfg, 8 // replicas, start, ctx))
        return initial, [v.numpy() for v in backbone.weights] + [head.kernel.numpy()], last

    init, one, m1 = run(tf.distribute.OneDeviceStrategy("/cpu:0"), tmp_path / "one", 1)
    _, two, m2 = run(_mirrored(), tmp_path / "two", 2)
    assert m1["ddl"] != 0 and abs(m1["e_neg_1"] - m2["e_neg_1"]) < 1e-3  # same global mining (last step)
    assert max(float(np.abs(a - b).max()) for a, b in zip(one, init)) > 1e-3
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, atol=3e-3 * max(1.0, float(np.abs(a).max())))
