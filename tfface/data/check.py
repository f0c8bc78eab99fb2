"""Decode every image of a data source and list the ones that fail (the program: tfface-check-data)."""

from __future__ import annotations

import tensorflow as tf

import tfface.messages as messages
from tfface.data.decode import decode_image
from tfface.errors import DataError


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


def undecodable(paths) -> list[tuple[str, str]]:
    """:func:`find_bad_images` of many files: all decoded in parallel in a tf.data graph, and only those that
    fail looked at one by one for the reason."""
    paths = [str(p) for p in paths]
    if not paths:
        return []
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths))
    ds = ds.map(lambda p: (p, tf.shape(decode_image(tf.io.read_file(p), p, 0))[0]),
                num_parallel_calls=tf.data.AUTOTUNE).ignore_errors().batch(1024)
    decoded = {p.decode() for batch, _ in ds for p in batch.numpy()}
    return find_bad_images([p for p in paths if p not in decoded])


def explain_decode_failure(err: Exception, paths, log=messages.info) -> DataError | None:
    """After ``err`` stopped the input pipeline (tf.data names no file when a decoder fails mid-file, e.g. a
    truncated PNG), decode every file of ``paths`` to find the culprits: a DataError naming them, or None if
    they all decode (then the error was something else)."""
    log(f"the input pipeline failed ({str(err).strip().splitlines()[-1][:120]}); decoding the {len(paths)} images "
        "to find the file…")
    bad = find_bad_images(paths)
    if not bad:
        return None
    return DataError(f"{len(bad)} image(s) do not decode, e.g. {bad[0][0]} ({bad[0][1]}). Fix or remove them "
                     "(`tfface-check-data` lists them all).")
