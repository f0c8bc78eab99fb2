"""Decode every image of a data source and list the ones that fail (the program: tfface-check-data)."""

from __future__ import annotations

import tensorflow as tf

from tfface.data.decode import decode_image


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
