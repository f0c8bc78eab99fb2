"""The trainer: one step on 2 mirrored replicas equals one device for every task, resume equals an
uninterrupted run, NaN stops."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from one_step import assert_one_step_equivalence, mirrored, smooth_backbone

from tfface.data import pipeline
from tfface.data.sources import from_rows
from tfface.errors import NonFiniteLossError
from tfface.heads.classifier import MarginHead
from tfface.losses.center import CenterLoss
from tfface.losses.discface import DiscFaceTerm
from tfface.losses.pairs import global_sum
from tfface.losses.registry import metric_loss
from tfface.methods.discface import DiscFaceLoss
from tfface.methods.sft import FeatureAugmenter, GeneratedLoss
from tfface.models.backbones import build_backbone
from tfface.training.optim import WarmupSchedule, make_optimizer
from tfface.training.tasks import ClassificationTask, EmbeddingTask
from tfface.training.terms import CenterTerm, HeadTerm, LossTerm, MetricLossTerm
from tfface.training.trainer import Trainer, TrainerConfig

BATCH = 16


def _classification(backbone, head, source):
    return ClassificationTask(backbone, head, BATCH)


def _triplet_center(backbone, head, source):
    return EmbeddingTask(backbone, BATCH, [MetricLossTerm("triplet", 1.0, metric_loss("triplet")),
                                           CenterTerm(CenterLoss(source.num_classes, 16, 0.5), 0.01)])


def _arc_discface(backbone, head, source):
    return EmbeddingTask(backbone, BATCH, [HeadTerm(head), DiscFaceLoss(DiscFaceTerm(16, 2, 0.05), head, 0.2)])


def _arc_sft_unbalanced(backbone, head, source):
    counts = np.bincount(source.labels)
    aug = FeatureAugmenter("sft", source.num_classes, 16, counts, "unbalanced", int(np.median(counts)), 1, seed=5)
    head_term = HeadTerm(head)
    return EmbeddingTask(backbone, BATCH, [head_term, GeneratedLoss(aug, 0.5, head_term)])


def _ms_with(backbone, aug):
    ms = MetricLossTerm("ms", 1.0, metric_loss("ms"))
    return EmbeddingTask(backbone, BATCH, [ms, GeneratedLoss(aug, 0.5, metric_terms=[ms])])


def _ms_sft_d(backbone, head, source):
    return _ms_with(backbone, FeatureAugmenter("sft_d", source.num_classes, 16, warmup_steps=1, seed=5))


def _ms_sft_per_identity(backbone, head, source):
    aug = FeatureAugmenter("sft", source.num_classes, 16, warmup_steps=1, seed=5, per_identity=True)
    return _ms_with(backbone, aug)


def _run(strategy, source, workdir, steps, lr=0.02, head="arcface", precision="none", task_fn=_classification,
         metrics=None, smooth=False):
    keras.utils.set_random_seed(7)
    with strategy.scope():
        backbone, head_layer, opt = _model(source, head, lr, precision, smooth)
        task = task_fn(backbone, head_layer, source)
    initial = [v.numpy().copy() for v in backbone.weights]
    trainer = Trainer(strategy, task, opt,
                      TrainerConfig(steps, BATCH, str(workdir), log_every=100, checkpoint_every=100),
                      printer=lambda s: None)
    last = trainer.fit(_pk_data(source))
    if metrics is not None:
        metrics.update(last)
    final = [v.numpy() for v in backbone.weights] + [head_layer.kernel.numpy()]
    return initial, final


def _model(source, head="arcface", lr=0.02, precision="none", smooth=False):
    backbone = smooth_backbone(32, 16) if smooth else build_backbone("small_cnn", 32, 16)
    head_layer = MarginHead(source.num_classes, head, s=16.0, m=0.3)
    head_layer.build((None, 16))
    opt = make_optimizer("sgd", WarmupSchedule(lr, 8, "cosine", warmup=2), 0.9, 5e-4, precision)
    return backbone, head_layer, opt


def _pk_data(source):
    cfg = pipeline.TrainInput(BATCH, 32, sampler="pk", pk_k=4, seed=3)
    return lambda start, ctx: pipeline.train_dataset(source, cfg, start, ctx)


def _few_classes(source):
    keep = source.labels < 6  # few classes, so that SFT's centres are seen and features generated early
    return from_rows(list(source.paths[keep]), [f"id{y}" for y in source.labels[keep]])


TASKS = {  # name: (task_fn, head, use few classes[, warm-up steps before the compared step])
    "softmax": (_classification, "softmax", False),
    "normface": (_classification, "normface", False),
    "cosface": (_classification, "cosface", False),
    "arcface": (_classification, "arcface", False),
    "combined": (_classification, "combined", False),
    "triplet+center": (_triplet_center, "arcface", False),
    "ms": (lambda b, h, s: EmbeddingTask(b, BATCH, [MetricLossTerm("ms", 1.0, metric_loss("ms"))]), "arcface", False),
    "npair+contrastive": (lambda b, h, s: EmbeddingTask(b, BATCH, [
        MetricLossTerm("npair", 1.0, metric_loss("npair")),
        MetricLossTerm("contrastive", 0.5, metric_loss("contrastive"))]), "arcface", False),
    "arc-discface": (_arc_discface, "arcface", False),
    "arc-discface-seeding": (_arc_discface, "arcface", False, 0),  # K = 2 bases seeded from the global batch
    "arc-sft-unbalanced": (_arc_sft_unbalanced, "arcface", True),
    "ms-sft_d": (_ms_sft_d, "arcface", True),
    "ms-sft-per-identity": (_ms_sft_per_identity, "arcface", True),
}


@pytest.mark.parametrize("name", list(TASKS))
def test_one_step_on_two_replicas_equals_one_device(tiny_source, tmp_path, name):
    task_fn, head, few, *warm = TASKS[name]
    source = _few_classes(tiny_source) if few else tiny_source

    def build():
        backbone, head_layer, opt = _model(source, head, smooth=True)
        return task_fn(backbone, head_layer, source), opt

    a, b = assert_one_step_equivalence(build, lambda replicas: _pk_data(source), tmp_path, BATCH, *warm)
    if name == "arc-discface-seeding":
        assert a.before[-1] == 0 and a.after[-1] == 1  # the compared step seeded the bases
    if few:
        assert a.metrics["generated"] > 0  # the compared step trained on generated features


def test_sft_centres_are_checkpointed(tiny_source, tmp_path):
    seen = {}
    _run(tf.distribute.OneDeviceStrategy("/cpu:0"), _few_classes(tiny_source), tmp_path, 4,
         task_fn=_arc_sft_unbalanced, metrics=seen)
    assert seen["generated"] > 0
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")))
    saved = [n for n in reader.get_variable_to_shape_map() if n.startswith("augment/") and "VARIABLE_VALUE" in n]
    assert any("centers" in n for n in saved) and any("seen" in n for n in saved)


def test_softmax_trajectory_on_two_replicas_follows_one_device(tiny_source, tmp_path):
    # Several steps only where no discrete choice or amplifying margin is involved (plain softmax).
    init, one = _run(tf.distribute.OneDeviceStrategy("/cpu:0"), tiny_source, tmp_path / "one", 4, head="softmax",
                     smooth=True)
    _, two = _run(mirrored(), tiny_source, tmp_path / "two", 4, head="softmax", smooth=True)
    assert max(float(np.abs(a - b).max()) for a, b in zip(one, init)) > 1e-3
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, atol=1e-4 * max(1.0, float(np.abs(a).max())))


def test_resume_reproduces_uninterrupted_run(tiny_source, tmp_path):
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    _, straight = _run(one, tiny_source, tmp_path / "straight", 6)
    _run(one, tiny_source, tmp_path / "resumed", 3)
    _, resumed = _run(one, tiny_source, tmp_path / "resumed", 6)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)  # same device, same batches: bit-identical
    _, straight = _run(one, tiny_source, tmp_path / "straight_softmax", 6, head="softmax", smooth=True)
    _run(one, tiny_source, tmp_path / "resumed_softmax", 3, head="softmax", smooth=True)
    _, resumed = _run(mirrored(), tiny_source, tmp_path / "resumed_softmax", 6, head="softmax", smooth=True)
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(a, b, atol=1e-4 * max(1.0, float(np.abs(a).max())))


def test_non_finite_loss_stops_with_clear_message(tiny_source, tmp_path):
    # no checkpoint was saved before the NaN: the message says so instead of naming a folder that does not exist
    with pytest.raises(NonFiniteLossError, match="NaN or Inf at step 2.*no checkpoint .*was saved"):
        _run(tf.distribute.OneDeviceStrategy("/cpu:0"), tiny_source, tmp_path / "nan", 3, lr=float("nan"))


def test_non_finite_state_is_never_checkpointed(tiny_source, tmp_path):
    # batch-norm statistics gone to NaN leave the training loss finite (training mode uses batch statistics);
    # the checkpoint at step 4 must be refused, and the message must name the finite one (step 2)
    from tfface.errors import NonFiniteStateError

    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    keras.utils.set_random_seed(7)
    with one.scope():
        backbone, head_layer, opt = _model(tiny_source)
        task = _classification(backbone, head_layer, tiny_source)
    statistic = next(v for v in backbone.non_trainable_variables if "moving_variance" in v.path)

    def corrupt(step):
        statistic.assign(np.full(statistic.shape, np.nan, np.float32))
        return {}

    cfg = TrainerConfig(4, BATCH, str(tmp_path), log_every=100, checkpoint_every=2, hook_every=3)
    trainer = Trainer(one, task, opt, cfg, hooks=[corrupt], printer=lambda s: None)
    with pytest.raises(NonFiniteStateError,
                       match=f"step 4.*{statistic.path}.*last checkpoint whose state is finite.*ckpt-2"):
        trainer.fit(_pk_data(tiny_source))
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")


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


def test_ddl_one_step_on_two_replicas_equals_one_device(tiny_source, tmp_path):
    from tfface.data.ddl_sampling import attribute_partitions, ddl_dataset, positive_pairs
    from tfface.losses.ddl import DDLParams
    from tfface.methods.ddl import DDLTask

    parts = attribute_partitions(tiny_source, "yaw", [(0.0, 20.0), (20.0, 90.0)])
    pairs = [positive_pairs(tiny_source.labels, p.indices, seed=k) for k, p in enumerate(parts)]

    def build():
        backbone, head, opt = _model(tiny_source, smooth=True)
        return DDLTask(backbone, head, BATCH, DDLParams(outlier=-1.0), weight=5.0), opt

    def data(replicas):
        cfg = pipeline.TrainInput(BATCH, 32, seed=3)
        return lambda start, ctx: ddl_dataset(tiny_source, parts, pairs, cfg, 8 // replicas, start, ctx)

    a, b = assert_one_step_equivalence(build, data, tmp_path, BATCH)
    assert a.metrics["ddl"] != 0 and a.metrics["e_neg_1"] == pytest.approx(b.metrics["e_neg_1"], abs=1e-5)


class RingLoss(LossTerm):
    """A term a user writes outside the package: the ring loss (Zheng et al., CVPR 2018), λ/2·mean (‖f‖ − R)²
    with a learned radius R, and, after each step, the global batch's mean norm kept as state."""

    name = "ring"

    def __init__(self, weight: float):
        self.weight = weight
        self.layer = keras.layers.Layer(name="ring")
        self.layer.radius = self.layer.add_weight(shape=(), initializer="ones", name="radius")
        self.layer.mean_norm = self.layer.add_weight(shape=(), initializer="zeros", trainable=False,
                                                     name="mean_norm",
                                                     aggregation="only_first_replica")
        self.modules = {"ring": self.layer}

    def value(self, state):
        norms = tf.norm(tf.cast(state.emb, tf.float32), axis=1)
        value = 0.5 * tf.reduce_sum(tf.square(norms - self.layer.radius)) / float(state.global_batch)
        return value, {"ring": value}

    def after_step(self, state):
        norms = tf.norm(tf.cast(state.emb, tf.float32), axis=1)
        self.layer.mean_norm.assign(global_sum(tf.reduce_sum(norms)) / float(state.global_batch))


def test_a_loss_term_from_outside_the_package_trains_on_two_replicas_like_one_device(tiny_source, tmp_path):
    def build():
        backbone, head, opt = _model(tiny_source, "softmax", smooth=True)
        return EmbeddingTask(backbone, BATCH, [HeadTerm(head), RingLoss(0.01)]), opt

    a, b = assert_one_step_equivalence(build, lambda replicas: _pk_data(tiny_source), tmp_path, BATCH)
    assert a.metrics["ring"] > 0
    # the term's state is the task's last module: radius (trained), then the mean norm (after_step)
    radius, mean_norm = a.before[-2:], a.after[-2:]
    assert radius[0] != mean_norm[0] and mean_norm[1] > 0 and mean_norm[1] != radius[1]
    saved = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "two" / "checkpoints")))
    names = saved.get_variable_to_shape_map()
    assert "ring/radius/.ATTRIBUTES/VARIABLE_VALUE" in names and "ring/mean_norm/.ATTRIBUTES/VARIABLE_VALUE" in names


@pytest.mark.parametrize("strategy", ["one", "mirrored"])
def test_steps_per_loop_gives_the_weights_of_single_steps(tiny_source, tmp_path, strategy):
    # --steps_per_loop=N runs N steps inside one tf.function call; the loop still stops at every log,
    # hook and checkpoint boundary, and the weights equal those of one step per call
    def run(workdir, per_loop):
        dist = tf.distribute.OneDeviceStrategy("/cpu:0") if strategy == "one" else mirrored()
        keras.utils.set_random_seed(7)
        with dist.scope():
            backbone, head_layer, opt = _model(tiny_source, "softmax", smooth=True)
            task = _classification(backbone, head_layer, tiny_source)
        logged = []
        cfg = TrainerConfig(7, BATCH, str(workdir), log_every=3, checkpoint_every=5, steps_per_loop=per_loop)
        Trainer(dist, task, opt, cfg, printer=logged.append).fit(_pk_data(tiny_source))
        return [v.numpy() for v in backbone.weights], [s.split()[1] for s in logged if s.startswith("step ")]

    single, logged_single = run(tmp_path / "one", 1)
    looped, logged_looped = run(tmp_path / "four", 4)
    assert logged_looped == logged_single == ["1/7", "3/7", "6/7", "7/7"]
    for a, b in zip(single, looped):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert (tmp_path / "four" / "checkpoints" / "ckpt-5.index").exists()
