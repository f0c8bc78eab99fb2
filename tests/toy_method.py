"""A training method defined outside tfface, as a user would write one: label-smoothed softmax on the
margin head. ``python train.py --imports=tests/toy_method.py --method=toy_label_smoothing`` runs it."""

import tensorflow as tf

from tfface.methods.standard import restore_backbone
from tfface.registry import Method, register_method
from tfface.runtime.model import build_model, build_optimizer
from tfface.runtime.run import PRINT, finish_run, make_trainer, start_run
from tfface.training.tasks import Task

SMOOTHING = 0.1


class LabelSmoothingTask(Task):
    def __init__(self, backbone, head, global_batch: int):
        super().__init__({"backbone": backbone, "head": head}, global_batch)
        self.backbone, self.head = backbone, head

    def loss(self, batch, step):
        images, labels = batch
        logits = self.head(self.backbone(images, training=True), labels)
        target = tf.one_hot(tf.cast(labels, tf.int32), self.head.num_classes)
        ce = tf.keras.losses.categorical_crossentropy(target, logits, from_logits=True, label_smoothing=SMOOTHING)
        return tf.reduce_sum(ce) / self.global_batch, {"smoothed_ce": tf.reduce_sum(ce) / self.global_batch}


def train_toy(cfg, printer=PRINT) -> dict:
    run = start_run(cfg, printer)
    with run.strategy.scope():
        backbone, head = build_model(run.cfg, run.data.num_classes, run.strategy.num_replicas_in_sync)
        task = LabelSmoothingTask(backbone, head, run.cfg.batch_size)
        optimizer = build_optimizer(run.cfg)
    printer(f"toy method: label smoothing {SMOOTHING}")
    make_trainer(run, task, optimizer, lambda x: backbone(x, training=False), printer).fit(run.data.dataset_fn)
    return finish_run(run, backbone, {"method": "toy_label_smoothing", "backbone": run.cfg.backbone}, printer)


register_method(Method("toy_label_smoothing", train_toy, restore_backbone))
