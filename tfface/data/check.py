"""Decode every image of a data source and list the ones that fail.

    python -m tfface.data.check --list_file=train.csv [--data_root=images/]
    python -m tfface.data.check --data_root=faces/          # root/<identity>/<image>
"""

from __future__ import annotations

import sys

from tfface.env import configure_tf_env

configure_tf_env()

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.data import sources  # noqa: E402
from tfface.data.decode import decode_image  # noqa: E402
from tfface.errors import DataError  # noqa: E402


def find_bad_images(paths) -> list[tuple[str, str]]:
    """(path, reason) for each file that is missing or does not decode."""
    bad = []
    for p in paths:
        try:
            data = tf.io.read_file(p)
            decode_image(data, tf.constant(p), 0)
        except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as err:
            bad.append((str(p), err.message.splitlines()[0][:200]))
    return bad


def main(argv):
    del argv
    f = flags.FLAGS
    try:
        src = sources.open_source(f.list_file, f.data_root)
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    bad = find_bad_images(src.paths)
    for path, reason in bad:
        print(f"{path}: {reason}")
    print(f"{len(src)} images checked, {len(bad)} bad")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    flags.DEFINE_string("list_file", None, "CSV list file (path,identity,…).")
    flags.DEFINE_string("data_root", None, "Image folder tree, or the root of the list file's paths.")
    app.run(main)
