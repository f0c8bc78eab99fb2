"""tfface-augment-preview: a PNG grid of what the model sees — training images through the same decode,
resize, flip and augmentation as train.py, with train.py's flags.

    tfface-augment-preview --data=list --list_file=train.csv --image_size=112 --augment=medium --out=grid.png
    python -m tfface.programs.augment_preview …   # the same, without the installed script

Rows: ``--preview_images`` images of different identities, each as loaded (first column) and in
``--preview_draws`` augmented draws; below them, one row per active family applied alone to the first image.
"""

from tfface.env import require_tensorflow

require_tensorflow()  # TensorFlow without its start-up notes, before the imports below load it

import dataclasses  # noqa: E402
import pathlib  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

import tfface.flags.training  # noqa: E402,F401  (train.py's flags: data, image size, --augment, --aug_*)
from tfface.cli import run_tool  # noqa: E402
from tfface.config import RunConfig  # noqa: E402
from tfface.data.augment import FAMILIES, Augment, augment_image  # noqa: E402
from tfface.data.build import train_input, training_source  # noqa: E402
from tfface.data.decode import load_image  # noqa: E402
from tfface.errors import ConfigError, DataError  # noqa: E402
from tfface.messages import program_error  # noqa: E402

flags.DEFINE_string("out", "augment_preview.png", "The PNG to write.")
flags.DEFINE_integer("preview_images", 6, "Images (of different identities) in the grid.")
flags.DEFINE_integer("preview_draws", 7, "Augmented draws per image.")
FLAGS = flags.FLAGS
GAP = 4


def preview_grid(cfg: RunConfig, images: int, draws: int) -> np.ndarray:
    """The uint8 grid [H, W, 3] described in the module docstring."""
    spec = train_input(cfg).augment
    if cfg.data.kind == "tfrecord":
        raise ConfigError("the preview reads image files: give the list file or folder the shards were made from.")
    source, _ = training_source(cfg)
    firsts = np.searchsorted(source.labels, np.arange(source.num_classes))
    picks = firsts[np.linspace(0, source.num_classes - 1, min(images, source.num_classes)).astype(int)]
    size = cfg.data.image_size

    def seed(i, d):
        return tf.constant([cfg.seed + 11, 1000 * int(i) + d], tf.int64)

    rows = []
    for i in picks:
        img = load_image(tf.constant(str(source.paths[i])), size)
        rows.append([img.numpy()] + [augment_image(img, seed(i, d), spec).numpy() for d in range(draws)])
    first = load_image(tf.constant(str(source.paths[picks[0]])), size)
    for family in FAMILIES:
        strength = getattr(spec, family)
        if strength:
            alone = Augment(**{family: strength})
            rows.append([first.numpy()] + [augment_image(first, seed(picks[0], d), alone).numpy()
                                            for d in range(draws)])
    cell = size + GAP
    grid = np.full((len(rows) * cell + GAP, (draws + 1) * cell + GAP, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            grid[GAP + r * cell:GAP + r * cell + size, GAP + c * cell:GAP + c * cell + size] = img
    return grid


def main(argv):
    del argv
    cfg = RunConfig.from_flags(FLAGS)
    try:
        cfg.validate()
        grid = preview_grid(cfg, FLAGS.preview_images, FLAGS.preview_draws)
    except (ConfigError, DataError) as err:
        raise program_error(err, FLAGS) from None
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tf.io.write_file(str(out), tf.io.encode_png(grid))
    spec = train_input(cfg).augment
    active = ", ".join(f"{f}={v:g}" for f, v in dataclasses.asdict(spec).items() if v) or "none"
    print(f"wrote {out}: {FLAGS.preview_images} images × {FLAGS.preview_draws} draws, then each family alone "
          f"({active})")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
