"""The checks a user with a GPU can run in minutes and send back (issue 17.5): training img/s of tfface's
step on in-memory batches for float32 vs bf16 mixed precision and --steps_per_loop 1 vs 10, and the sharded
margin head (Partial FC) at 1M classes, all classes and a sample rate of 0.1.

    bash bench/gpu_check.sh            # IResNet-50, 112 px, batch 128 — for a machine with a GPU
    bash bench/gpu_check.sh --tiny     # small CNN, 32 px — proves on a CPU that the script works

Each configuration trains a fresh model through the real Trainer (strategy from the visible devices) on one
synthetic batch repeated, so the input pipeline is out of the measurement; img/s counts the steps after the
first call (tracing excluded). Writes bench/results/gpu_check.json (``--out``) with the devices seen.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.heads.classifier import MarginHead  # noqa: E402
from tfface.heads.sharded import ShardedMarginHead  # noqa: E402
from tfface.models.backbones import build_backbone  # noqa: E402
from tfface.training.optim import WarmupSchedule, make_optimizer  # noqa: E402
from tfface.training.sharded_head_term import ShardedHeadTerm  # noqa: E402
from tfface.training.tasks import ClassificationTask, EmbeddingTask  # noqa: E402
from tfface.training.trainer import Trainer, TrainerConfig  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_bool("tiny", False, "Small CNN at 32 px, a few steps: check the script on a CPU.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "gpu_check.json"), "Result file.")
FLAGS = flags.FLAGS
_POLICY = {"float32": "float32", "bf16": "mixed_bfloat16"}


def measure(backbone_name: str, size: int, batch: int, classes: int, steps: int, precision: str,
            per_loop: int, sample_rate: float | None = None) -> dict:
    """img/s of ``steps`` training steps after the first call, for one configuration (the sharded head at
    ``sample_rate`` when it is given, else the full head)."""
    keras.mixed_precision.set_global_policy(_POLICY[precision])
    try:
        strategy = tf.distribute.MirroredStrategy() if tf.config.list_logical_devices("GPU") else \
            tf.distribute.OneDeviceStrategy("/cpu:0")
        keras.utils.set_random_seed(0)
        with strategy.scope():
            backbone = build_backbone(backbone_name, size, 512 if backbone_name.startswith("iresnet") else 128)
            dim = backbone.output_shape[-1]
            opt = make_optimizer("sgd", WarmupSchedule(0.1, 10**6, "cosine", warmup=0), 0.9, 5e-4,
                                 "bf16" if precision == "bf16" else "none")
            if sample_rate is None:
                head = MarginHead(classes, "arcface", s=64.0, m=0.5)
                head.build((None, dim))
                task = ClassificationTask(backbone, head, batch)
            else:
                head = ShardedMarginHead(strategy, classes, dim, "arcface", s=64.0, m=0.5, sample_rate=sample_rate)
                task = EmbeddingTask(backbone, batch, [ShardedHeadTerm(head)])
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (batch, size, size, 3)).astype(np.uint8)
        labels = rng.integers(0, classes, batch).astype(np.int32)

        def data(start, ctx):
            per_replica = batch // ctx.num_replicas_in_sync
            return tf.data.Dataset.from_tensors((images[:per_replica], labels[:per_replica])).repeat()

        stamps = []
        cfg = TrainerConfig(steps + 1, batch, tempfile.mkdtemp(prefix="gpu-check-"), log_every=10**9,
                            checkpoint_every=10**9, steps_per_loop=per_loop)
        trainer = Trainer(strategy, task, opt, cfg, printer=lambda s: stamps.append(time.perf_counter()))
        trainer.save = lambda: None  # the check times steps, not checkpoints
        trainer.fit(data)
        seconds = stamps[-1] - stamps[0]  # from the log after step 1 to the log after the last step
        return {"backbone": backbone_name, "image_size": size, "batch": batch, "precision": precision,
                "steps_per_loop": per_loop, "steps": steps, "classes": classes,
                "head": "full" if sample_rate is None else f"sharded over {strategy.num_replicas_in_sync}",
                "sample_rate": sample_rate, "img_s": round(steps * batch / seconds, 1)}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main(argv):
    del argv
    if FLAGS.tiny:
        spec = {"backbone_name": "small_cnn", "size": 32, "batch": 16, "classes": 100, "steps": 20}
        many = 2000
    else:
        spec = {"backbone_name": "iresnet50", "size": 112, "batch": 128, "classes": 10000, "steps": 200}
        many = 1_000_000
    rows = []
    for precision in ("float32", "bf16"):
        for per_loop in (1, 10):
            rows.append(measure(**spec, precision=precision, per_loop=per_loop))
            print(json.dumps(rows[-1]), flush=True)
    for rate in (1.0, 0.1):  # the sharded head at many classes (over every visible GPU)
        rows.append(measure(**{**spec, "classes": many, "steps": spec["steps"] // 2}, precision="bf16", per_loop=10,
                            sample_rate=rate))
        print(json.dumps(rows[-1]), flush=True)
    devices = [d.name for d in tf.config.list_logical_devices()]
    result = {"tiny": FLAGS.tiny, "devices": devices, "gpu": any("GPU" in d for d in devices),
              "tensorflow": tf.__version__, "rows": rows}
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    app.run(main)
