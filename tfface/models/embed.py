"""Embedding image files with a model: the one place images become embeddings for evaluation and scoring."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfface.data.check import explain_decode_failure
from tfface.data.pipeline import image_dataset

EmbedFn = Callable[[tf.Tensor], tf.Tensor]


def embed_paths(embed: EmbedFn, paths, image_size: int, batch: int = 256, flip: bool = False,
                normalize: bool = True) -> np.ndarray:
    """L2-normalised embeddings of image files (raw with ``normalize=False``); with ``flip`` the sum of original
    and mirrored."""
    out = []
    try:
        for images in image_dataset(paths, image_size, batch):
            e = tf.cast(embed(images), tf.float32)
            if flip:
                e = e + tf.cast(embed(tf.image.flip_left_right(images)), tf.float32)
            out.append((tf.math.l2_normalize(e, axis=1) if normalize else e).numpy())
    except tf.errors.InvalidArgumentError as err:
        better = explain_decode_failure(err, list(paths))
        if better is not None:
            raise better from None
        raise
    return np.concatenate(out)
