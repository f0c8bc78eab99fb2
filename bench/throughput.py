"""Training throughput: tfface's trainer step (ArcFace head) vs a plain Keras ``model.fit`` of the same
backbone with a plain softmax head, both on one in-memory batch (measures the step, not the input).

    python bench/throughput.py                       # small_cnn and iresnet18 at 64 and 112 px
    python bench/throughput.py --configs=small_cnn:64 --steps=20

Writes bench/results/throughput.json.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.heads.classifier import MarginHead  # noqa: E402
from tfface.models.backbones import build_backbone  # noqa: E402
from tfface.training.tasks import ClassificationTask  # noqa: E402
from tfface.training.trainer import Trainer, TrainerConfig  # noqa: E402

flags.DEFINE_list("configs", ["small_cnn:64", "small_cnn:112", "iresnet18:64", "iresnet18:112"],
                  "backbone:image_size pairs.")
flags.DEFINE_integer("batch_size", 64, "Batch size.")
flags.DEFINE_integer("steps", 15, "Timed steps (after 3 warm-up steps).")
flags.DEFINE_integer("classes", 1000, "Number of classes.")
flags.DEFINE_string("out", "bench/results/throughput.json", "Result file.")
FLAGS = flags.FLAGS


def _data(size, batch, classes):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, size, size, 3)).astype(np.uint8)
    y = rng.integers(0, classes, batch).astype(np.int32)
    return tf.data.Dataset.from_tensors((x, y)).repeat()


def ours(name, size, batch, steps, classes, workdir):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        backbone = build_backbone(name, size, 512)
        head = MarginHead(classes, "arcface", s=64.0, m=0.5)
        head.build((None, 512))
        opt = keras.optimizers.SGD(0.01, momentum=0.9)
    trainer = Trainer(strategy, ClassificationTask(backbone, head, batch), opt,
                      TrainerConfig(steps + 3, batch, workdir), printer=lambda s: None)
    it = iter(strategy.distribute_datasets_from_function(lambda ctx: _data(size, batch, classes)))
    step = trainer._make_step()
    for _ in range(3):
        step(it)["loss"].numpy()
    t = time.perf_counter()
    for _ in range(steps):
        out = step(it)
    out["loss"].numpy()
    return steps * batch / (time.perf_counter() - t)


def plain_keras(name, size, batch, steps, classes):
    backbone = build_backbone(name, size, 512)
    model = keras.Sequential([backbone, keras.layers.Dense(classes)])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = _data(size, batch, classes)
    model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - t)


def main(argv):
    import tempfile

    rows = []
    for item in FLAGS.configs:
        name, size = item.split(":")
        size = int(size)
        ips_ours = ours(name, size, FLAGS.batch_size, FLAGS.steps, FLAGS.classes, tempfile.mkdtemp())
        ips_keras = plain_keras(name, size, FLAGS.batch_size, FLAGS.steps, FLAGS.classes)
        row = {"backbone": name, "image_size": size, "batch_size": FLAGS.batch_size,
               "tfface_arcface_img_s": round(ips_ours, 1), "keras_fit_softmax_img_s": round(ips_keras, 1),
               "ratio": round(ips_ours / ips_keras, 3)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "onednn": __import__("os").environ.get("TF_ENABLE_ONEDNN_OPTS"),
                               "tensorflow": tf.__version__}, indent=1))


if __name__ == "__main__":
    app.run(main)
