"""Reading, decoding and preprocessing images inside the tf.data graph."""

from __future__ import annotations

import tensorflow as tf

_MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"BM": "bmp", b"GIF8": "gif"}


def decode_image(contents: tf.Tensor, name: tf.Tensor, size: int) -> tf.Tensor:
    """JPEG/PNG/BMP/GIF bytes -> uint8 [size, size, 3]; grayscale becomes 3 channels.

    A file that is not an image fails with its name in the message.
    """
    ok = tf.reduce_any([tf.equal(tf.strings.substr(contents, 0, len(m)), m) for m in _MAGIC])
    tf.debugging.Assert(ok, ["Unreadable image (not JPEG/PNG/BMP/GIF, or empty):", name,
                             "- fix or remove the file, or check with `tfface-check-data`."],
                        name="image_check")
    img = tf.io.decode_image(contents, channels=3, expand_animations=False)
    img.set_shape([None, None, 3])
    if size:
        img = resize_uint8(img, size)
        img.set_shape([size, size, 3])
    return img


def resize_uint8(images: tf.Tensor, size: int) -> tf.Tensor:
    """uint8 image(s) [..., H, W, C] to size × size (bilinear, rounded), unchanged when already that size."""
    shape = tf.shape(images)
    return tf.cond(tf.logical_and(shape[-3] == size, shape[-2] == size), lambda: images,
                   lambda: tf.cast(tf.clip_by_value(tf.round(tf.image.resize(images, [size, size])), 0, 255),
                                   tf.uint8))


def load_image(path: tf.Tensor, size: int) -> tf.Tensor:
    """Read a file and decode it (see :func:`decode_image`)."""
    return decode_image(tf.io.read_file(path), path, size)


def normalize(images: tf.Tensor) -> tf.Tensor:
    """uint8 or float pixels in [0, 255] -> (x − 127.5) / 128, float32."""
    return (tf.cast(images, tf.float32) - 127.5) / 128.0
