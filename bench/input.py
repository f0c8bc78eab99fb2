"""How many images per second the input pipeline delivers on its own (no model), per format, and how close
end-to-end training comes to the step on in-memory batches — the numbers a GPU user needs to size input
workers (issue 17.4: measure first).

    python bench/input.py                  # bench/results/input.json
    python bench/input.py --images=2000 --seconds=10

Formats, all decoded and resized by the training pipeline at ``--image_size`` (112 px, the aligned-chip size):
- ``celeba_jpeg``: the CelebA detected faces (112 px JPEG) from a list file (uniform sampler);
- ``celeba_jpeg_pk``: the same with the P×K sampler;
- ``celeba_tfrecord``: the same images in 8 TFRecord shards, streamed (uniform sampler);
- ``celeba_tfrecord_pk``: the same shards read at random through their index (P×K sampler);
- ``synth_png``: SynthFaces PNGs (64 px renders resized to 112).
The pipeline uses every core (tf.data AUTOTUNE); img/s per core divides by the cores TensorFlow sees. Each
format is timed after a warm-up, alternating the formats for ``--rounds`` rounds (the machine's speed
drifts), median reported. ``celeba_jpeg_light_aug`` / ``_medium_aug`` add an augmentation preset. End-to-end:
each of ``--e2e_backbones`` + ArcFace at 112 px, batch 64, on CelebA JPEGs without and with each of
``--e2e_augment``, against the same step fed one in-memory batch (timed alternately too).
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import detected_rows, write_list  # noqa: E402

from tfface.data import pipeline  # noqa: E402
from tfface.data.augment import PRESETS  # noqa: E402
from tfface.data.record_index import RecordIndex, index_path  # noqa: E402
from tfface.data.sources import from_list_file  # noqa: E402
from tfface.data.tfrecords import indexed_record_dataset, tfrecord_train_dataset, write_tfrecords  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("data", str(REPO.parent / "shared" / "data"), "The shared data folder (CelebA is used).")
flags.DEFINE_integer("image_size", 112, "Training image size.")
flags.DEFINE_integer("batch_size", 64, "Global batch.")
flags.DEFINE_float("seconds", 8.0, "Seconds timed per format and round.")
flags.DEFINE_integer("rounds", 3, "Alternating rounds (median reported).")
flags.DEFINE_integer("e2e_steps", 30, "Timed steps per end-to-end round.")
flags.DEFINE_list("e2e_backbones", ["small_cnn", "mobilefacenet"], "Backbones timed end to end.")
flags.DEFINE_list("e2e_augment", ["light", "medium"], "Augmentation presets timed end to end (besides none).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "input.json"), "Result file.")
FLAGS = flags.FLAGS


def images_per_second(ds: tf.data.Dataset, seconds: float) -> float:
    """Batches pulled for ``seconds`` after a warm-up of 5 batches; images per second."""
    it = iter(ds)
    for _ in range(5):
        next(it)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        images, _ = next(it)
        n += int(images.shape[0])
    return n / (time.perf_counter() - t0)


def main(argv):
    del argv
    celeba = pathlib.Path(FLAGS.data) / "celeba"
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-input-"))
    rows = detected_rows(celeba)
    source = from_list_file(write_list(tmp / "celeba.csv", [(r["path"], r["identity"]) for r in rows]), str(celeba))
    index = RecordIndex.load(index_path(write_tfrecords(source, str(tmp / "tfr" / "celeba"), shards=8)))
    from tfface.data.synthfaces import SynthFacesConfig, build_synthfaces

    synth_dir = build_synthfaces(SynthFacesConfig(train_identities=200, heldout_identities=10, max_images=20,
                                                  image_size=64, seed=1), tmp / "synth", log=lambda s: None)
    synth = from_list_file(pathlib.Path(synth_dir) / "meta.csv")
    size, batch = FLAGS.image_size, FLAGS.batch_size
    formats = {
        "celeba_jpeg": lambda: pipeline.train_dataset(source, pipeline.TrainInput(batch, size)),
        "celeba_jpeg_pk": lambda: pipeline.train_dataset(source, pipeline.TrainInput(batch, size, sampler="pk")),
        "celeba_tfrecord": lambda: tfrecord_train_dataset(str(tmp / "tfr" / "celeba-*.tfrecord"),
                                                          source.num_classes, pipeline.TrainInput(batch, size)),
        "celeba_tfrecord_pk": lambda: indexed_record_dataset(index, source.num_classes,
                                                             pipeline.TrainInput(batch, size, sampler="pk")),
        "synth_png": lambda: pipeline.train_dataset(synth, pipeline.TrainInput(batch, size)),
        "celeba_jpeg_light_aug": lambda: pipeline.train_dataset(
            source, pipeline.TrainInput(batch, size, augment=PRESETS["light"])),
        "celeba_jpeg_medium_aug": lambda: pipeline.train_dataset(
            source, pipeline.TrainInput(batch, size, augment=PRESETS["medium"])),
    }
    cores = len(os.sched_getaffinity(0))
    timings = {k: [] for k in formats}
    for r in range(FLAGS.rounds):
        for name, make in formats.items():
            timings[name].append(images_per_second(make(), FLAGS.seconds))
            print(f"round {r + 1}: {name} {timings[name][-1]:.0f} img/s", flush=True)
    result = {"cpu_only": True, "cores": cores, "image_size": size, "batch_size": batch,
              "formats": {k: {"img_s": round(statistics.median(v), 1), "img_s_per_core":
                              round(statistics.median(v) / cores, 1), "rounds": [round(x, 1) for x in v]}
                          for k, v in timings.items()}}
    result["end_to_end"] = [end_to_end(source, size, batch, name, FLAGS.e2e_augment)
                            for name in FLAGS.e2e_backbones]
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


def end_to_end(source, size: int, batch: int, backbone_name: str, presets: list[str]) -> dict:
    """One backbone + ArcFace step fed by the CelebA JPEG pipeline, plain and with each augmentation preset, vs
    the same step fed one in-memory batch (the upper bound), timed alternately."""
    import keras

    from tfface.heads.classifier import MarginHead
    from tfface.models.backbones import build_backbone
    from tfface.training.optim import WarmupSchedule, make_optimizer
    from tfface.training.tasks import ClassificationTask

    keras.utils.set_random_seed(0)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        backbone = build_backbone(backbone_name, size, 128)
        head = MarginHead(source.num_classes, "arcface", s=32.0, m=0.5)
        head.build((None, 128))
        opt = make_optimizer("sgd", WarmupSchedule(0.01, 10**6, "cosine", warmup=0), 0.9, 5e-4)
        task = ClassificationTask(backbone, head, batch)
        opt.build(task.trainable_variables)
    step_var = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def step(images, labels):
        metrics = strategy.run(task.train_step, args=((images, labels), step_var, opt))
        step_var.assign_add(1)
        return metrics

    pipelines = {name: iter(pipeline.train_dataset(source, pipeline.TrainInput(batch, size,
                                                                                augment=PRESETS[name])))
                 for name in ["none", *presets]}
    fixed = next(pipelines["none"])
    feeds = {**{name: (lambda it=it: next(it)) for name, it in pipelines.items()}, "in_memory": lambda: fixed}
    for _ in range(3):
        for feed in feeds.values():
            step(*feed())
    rates = {name: [] for name in feeds}
    for _ in range(FLAGS.rounds):
        for name, feed in feeds.items():
            t0 = time.perf_counter()
            for _ in range(FLAGS.e2e_steps):
                m = step(*feed())
            tf.nest.map_structure(lambda t: t.numpy(), m)  # wait for the last step
            rates[name].append(FLAGS.e2e_steps * batch / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {"model": f"{backbone_name} + ArcFace", "in_memory_img_s": round(med["in_memory"], 1),
            "pipeline_img_s": {k: round(med[k], 1) for k in pipelines},
            "ratio": {k: round(med[k] / med["in_memory"], 3) for k in pipelines},
            "rounds": {k: [round(x, 1) for x in v] for k, v in rates.items()}}


if __name__ == "__main__":
    app.run(main)
