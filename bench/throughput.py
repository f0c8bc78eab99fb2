"""Training throughput: tfface's trainer step (ArcFace head) vs a plain Keras ``model.fit`` of the same
backbone with a plain softmax head, both fed one in-memory batch (this measures the step, not the input).

    python bench/throughput.py                       # small_cnn and iresnet18 at 64 and 112 px (~12 min)
    python bench/throughput.py --configs=small_cnn:64:128 --steps=20

Keras' default ``jit_compile="auto"`` turns XLA on here, so Keras is timed both ways. The timings
alternate between the contenders for several rounds and report the median, because this shared
machine's speed drifts by ±20% from minute to minute; each excludes its set-up (Keras' per-``fit``
start-up, our first step) by timing from the end of a first step to the end of the last.
Writes bench/results/throughput.json.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402
from timing import constant_batches, step_timer  # noqa: E402

from tfface.models.backbones import build_backbone  # noqa: E402

flags.DEFINE_list("configs", ["small_cnn:64:64", "small_cnn:112:64", "iresnet18:64:32", "iresnet18:112:32"],
                  "backbone:image_size[:batch_size] triples.")
flags.DEFINE_integer("batch_size", 64, "Batch size where a config names none.")
flags.DEFINE_integer("steps", 8, "Timed steps per round (after warm-up).")
flags.DEFINE_integer("rounds", 3, "Alternating timing rounds; the median is reported.")
flags.DEFINE_integer("classes", 1000, "Number of classes.")
flags.DEFINE_string("out", "bench/results/throughput.json", "Result file.")
FLAGS = flags.FLAGS


def ours(name, size, batch, classes):
    """A function that runs n tfface trainer steps (ArcFace head, one device)."""
    return step_timer(name, size, batch, classes)


def plain_keras(name, size, batch, classes, jit="auto"):
    """A function that runs n steps of Keras ``fit`` (softmax head)."""
    backbone = build_backbone(name, size, 512, sync_bn=False)
    model = keras.Sequential([backbone, keras.layers.Dense(classes)])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
    ds = constant_batches(size, batch, classes)
    stamps = []
    clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda i, logs: stamps.append(time.perf_counter()))

    def run(n):
        """Seconds per step between the ends of the first and the last step (fit's set-up excluded)."""
        stamps.clear()
        model.fit(ds, steps_per_epoch=n + 1, epochs=1, verbose=0, callbacks=[clock])
        return (stamps[-1] - stamps[0]) / n

    return run


def main(argv):
    del argv
    rows = []
    for item in FLAGS.configs:
        name, size, *rest = item.split(":")
        size, b = int(size), int(rest[0]) if rest else FLAGS.batch_size
        runners = {"tfface_arcface": ours(name, size, b, FLAGS.classes),
                   "keras_fit_softmax": plain_keras(name, size, b, FLAGS.classes),
                   "keras_fit_softmax_nojit": plain_keras(name, size, b, FLAGS.classes, jit=False)}
        times = {k: [] for k in runners}
        for run in runners.values():
            run(3)  # trace / compile
        for _ in range(FLAGS.rounds):
            for k, run in runners.items():
                times[k].append(b / run(FLAGS.steps))
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {"backbone": name, "image_size": size, "batch_size": b,
               **{f"{k}_img_s": round(v, 1) for k, v in med.items()},
               "ratio": round(med["tfface_arcface"] / med["keras_fit_softmax"], 3),
               "ratio_vs_nojit": round(med["tfface_arcface"] / med["keras_fit_softmax_nojit"], 3)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                               "tensorflow": tf.__version__, "cpus": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    app.run(main)
