"""A training method and an evaluation protocol defined outside tfface, as a user would write them:
label-smoothed softmax on the margin head, through a projection of the embedding (``python train.py
--imports=tests/toy_method.py --method=toy_label_smoothing --toy_smoothing=0.2 --toy_projection=8``) and the
cosine gap between same and different pairs (``python evaluate.py --imports=tests/toy_method.py
--protocol=toy_gap --model=… --eval_pairs=…``).

The method declares its own settings section — two settings, ``toy_smoothing`` and the structural
``toy_projection`` — and so gets its flags, range checks, recipe keys and resume comparison with no edit
under tfface/."""

import keras
import numpy as np
import tensorflow as tf

from tfface.evaluation.pairs import read_pairs
from tfface.export.saved_model import load_embedder
from tfface.heads.classifier import MarginHead
from tfface.models.backbones import build_backbone
from tfface.models.embed import embed_paths
from tfface.registry import Method, Protocol, register_method, register_protocol, requires
from tfface.runtime.model import build_optimizer
from tfface.runtime.program import TEMPLATE_SECTIONS, Built, Program
from tfface.runtime.run import PRINT
from tfface.runtime.workdir import read_workdir
from tfface.settings import FRACTION, NON_NEGATIVE, Section, section, setting
from tfface.training.tasks import Task


@section("toy", prefix="toy_")
class ToySettings(Section):
    """The toy method: label smoothing through a projection."""

    smoothing: float = setting(0.1, "Toy method: label smoothing ε of the head's cross-entropy.", limit=FRACTION)
    projection: int = setting(0, "Toy method: width of a linear projection between the embedding and the head "
                              "(0 = none).", limit=NON_NEGATIVE, structural=True)


class LabelSmoothingTask(Task):
    def __init__(self, backbone, projection, head, global_batch: int, smoothing: float):
        modules = {"backbone": backbone, "head": head, **({"projection": projection} if projection else {})}
        super().__init__(modules, global_batch)
        self.backbone, self.projection, self.head, self.smoothing = backbone, projection, head, smoothing

    def loss(self, batch, step):
        images, labels = batch
        emb = self.backbone(images, training=True)
        if self.projection is not None:
            emb = self.projection(emb)
        logits = self.head(emb, labels)
        target = tf.one_hot(tf.cast(labels, tf.int32), self.head.num_classes)
        ce = tf.keras.losses.categorical_crossentropy(target, logits, from_logits=True, label_smoothing=self.smoothing)
        return tf.reduce_sum(ce) / self.global_batch, {"smoothed_ce": tf.reduce_sum(ce) / self.global_batch}


class ToyProgram(Program):
    """The run template filled with the toy's model: the template starts, fits, exports and evaluates."""

    def build(self, run, printer=PRINT) -> Built:
        cfg, toy = run.cfg, run.cfg.toy
        with run.strategy.scope():
            m = cfg.model
            backbone = build_backbone(m.backbone, cfg.data.image_size, m.embedding_size, m.dropout,
                                      m.sync_bn and run.strategy.num_replicas_in_sync > 1)
            projection = keras.layers.Dense(toy.projection, use_bias=False) if toy.projection else None
            head = MarginHead(run.data.num_classes, cfg.head.kind, **cfg.head.margin_args())
            head.build((None, toy.projection or m.embedding_size))
            if projection is not None:
                projection.build((None, m.embedding_size))
            task = LabelSmoothingTask(backbone, projection, head, cfg.loop.batch_size, toy.smoothing)
            optimizer = build_optimizer(cfg)
        printer(f"toy method: label smoothing {toy.smoothing}, projection {toy.projection or 'none'}")
        return Built(backbone, {"method": "toy_label_smoothing", "backbone": m.backbone}, task, optimizer)


def restore_toy(workdir: str):
    """The backbone of a toy workdir's latest checkpoint (which also holds the head and the projection, that the
    export leaves out)."""
    cfg, _, latest = read_workdir(workdir)
    m = cfg.model
    backbone = build_backbone(m.backbone, cfg.data.image_size, m.embedding_size, m.dropout, False)
    tf.train.Checkpoint(backbone=backbone).restore(latest).expect_partial()
    return backbone, {"backbone": m.backbone, "checkpoint": latest}


register_method(Method("toy_label_smoothing", ToyProgram().train, restore_toy,
                       reads=(*TEMPLATE_SECTIONS, "model", "head", "optim", "toy"),
                       unread=lambda cfg: {"scale_warmup_steps": "the toy's head keeps its scale from the start"}))


def toy_gap(cfg, score) -> dict:
    """Mean cosine of the same-identity pairs minus that of the different-identity pairs."""
    embed, size = load_embedder(cfg.model)
    pairs = read_pairs(cfg.eval.pairs, cfg.eval.root)
    a, b = (embed_paths(embed, p, size, cfg.eval.batch) for p in (pairs.path1, pairs.path2))
    cos, same = np.sum(a * b, axis=1), pairs.same.astype(bool)
    return {"protocol": "toy_gap", "pairs": int(len(cos)), "gap": float(cos[same].mean() - cos[~same].mean())}


register_protocol(Protocol("toy_gap", toy_gap, check=requires("eval_pairs")))
