"""Embedding image files with a model: the one place images become embeddings for evaluation and scoring."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfface.data.check import explain_decode_failure
from tfface.data.pipeline import image_dataset

EmbedFn = Callable[[tf.Tensor], tf.Tensor]


def embed_images(embed: EmbedFn, images, flip: bool = False, normalize: bool = True) -> np.ndarray:
    """Embeddings of one batch of uint8 images already at the model's size: L2-normalised (raw with
    ``normalize=False``); with ``flip`` of the sum of the image's and its mirror image's embeddings."""
    e = tf.cast(embed(images), tf.float32)
    if flip:
        e = e + tf.cast(embed(tf.image.flip_left_right(images)), tf.float32)
    return (tf.math.l2_normalize(e, axis=1) if normalize else e).numpy()


def embed_paths(embed: EmbedFn, paths, image_size: int, batch: int = 256, flip: bool = False,
                normalize: bool = True) -> np.ndarray:
    """:func:`embed_images` of image files, decoded and resized as training decodes them."""
    out = []
    try:
        for images in image_dataset(paths, image_size, batch):
            out.append(embed_images(embed, images, flip, normalize))
    except tf.errors.InvalidArgumentError as err:
        better = explain_decode_failure(err, list(paths))
        if better is not None:
            raise better from None
        raise
    return np.concatenate(out)
