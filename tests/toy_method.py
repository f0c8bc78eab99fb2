"""A training method and an evaluation protocol defined outside tfface, as a user would write them:
label-smoothed softmax on the margin head (``python train.py --imports=tests/toy_method.py
--method=toy_label_smoothing``) and the cosine gap between same and different pairs
(``python evaluate.py --imports=tests/toy_method.py --protocol=toy_gap --model=… --eval_pairs=…``)."""

import numpy as np
import tensorflow as tf

from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import embed_paths
from tfface.export.saved_model import load_embedder
from tfface.methods.standard import restore_backbone
from tfface.registry import Method, Protocol, register_method, register_protocol, requires
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
        task = LabelSmoothingTask(backbone, head, run.cfg.loop.batch_size)
        optimizer = build_optimizer(run.cfg)
    printer(f"toy method: label smoothing {SMOOTHING}")
    make_trainer(run, task, optimizer, lambda x: backbone(x, training=False), printer).fit(run.data.dataset_fn)
    return finish_run(run, backbone, {"method": "toy_label_smoothing", "backbone": run.cfg.model.backbone}, printer)


register_method(Method("toy_label_smoothing", train_toy, restore_backbone))


def toy_gap(cfg) -> dict:
    """Mean cosine of the same-identity pairs minus that of the different-identity pairs."""
    embed, size = load_embedder(cfg.model)
    pairs = read_pairs(cfg.eval.pairs, cfg.eval.root)
    a, b = (embed_paths(embed, p, size, cfg.eval.batch) for p in (pairs.path1, pairs.path2))
    cos, same = np.sum(a * b, axis=1), pairs.same.astype(bool)
    return {"protocol": "toy_gap", "pairs": int(len(cos)), "gap": float(cos[same].mean() - cos[~same].mean())}


register_protocol(Protocol("toy_gap", toy_gap, check=requires("eval_pairs")))
