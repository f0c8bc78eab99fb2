"""Image augmentation in the tf.data graph, deterministic in (seed, step, position in the global batch).

Each family has one strength (0 = off, the image is returned untouched) with its own unit, chosen by us (no
face paper fixes them; the presets are the combinations bench/real_recipe.py compares):

- ``crop``: scale-and-shift jitter — the crop's side is a fraction in [1 − s, 1 + s/2] of the image (zoom in,
  or out with black borders) and its centre moves by up to s/2 of the side; resized back.
- ``rotate``: rotation by up to ± ``rotate`` degrees about the centre (reflected borders).
- ``color``: brightness ± s·255, contrast and saturation × [1 − s, 1 + s], hue ± s/4 of the colour wheel.
- ``gray``: probability of a grayscale image.
- ``lowres``: probability of low-resolution simulation — down to a side in [size/6, size/2], then back up.
- ``blur``: probability of a Gaussian blur with σ in [0.5, 2]·size/112 pixels.
- ``jpeg``: probability of JPEG re-compression at a quality in [30, 95].
- ``erase``: probability of an occluding rectangle (2–25% of the image, aspect 0.3–3.3, one random gray).

Order: crop, rotate, colour, gray, low-res, blur, JPEG, erase (after the horizontal flip). Every draw comes
from a per-image seed pair the samplers give, folded with the family's number, so a resumed run and N
replicas see the images one device would.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from tfface.errors import ConfigError

FAMILIES = ("crop", "rotate", "color", "gray", "lowres", "blur", "jpeg", "erase")


@dataclasses.dataclass(frozen=True)
class Augment:
    """The strength of each family (see the module docstring for the units); all 0 = no augmentation."""

    crop: float = 0.0
    rotate: float = 0.0
    color: float = 0.0
    gray: float = 0.0
    lowres: float = 0.0
    blur: float = 0.0
    jpeg: float = 0.0
    erase: float = 0.0

    @property
    def active(self) -> bool:
        return any(getattr(self, f) for f in FAMILIES)


PRESETS = {  # ours: common combinations, from gentle to strong
    "none": Augment(),
    "light": Augment(crop=0.1, rotate=5, color=0.1, gray=0.05),
    "medium": Augment(crop=0.15, rotate=10, color=0.2, gray=0.1, lowres=0.2, blur=0.1, jpeg=0.2, erase=0.1),
    "heavy": Augment(crop=0.25, rotate=15, color=0.3, gray=0.2, lowres=0.4, blur=0.2, jpeg=0.4, erase=0.3),
}


def augment_from(preset: str, strengths: dict[str, float]) -> Augment:
    """The preset ``preset`` with each family of ``strengths`` above 0 replacing the preset's strength."""
    if preset not in PRESETS:
        raise ConfigError(f"`augment={preset}`: choose one of {', '.join(PRESETS)}.")
    return dataclasses.replace(PRESETS[preset], **{f: float(v) for f, v in strengths.items() if v > 0})


def _uniform(seed, shape=(), lo=0.0, hi=1.0):
    return tf.random.stateless_uniform(shape, seed, lo, hi)


def crop_jitter(img: tf.Tensor, seed, strength: float) -> tf.Tensor:
    size = tf.shape(img)[:2]
    side = _uniform(seed, [], 1.0 - strength, 1.0 + strength / 2)
    centre = 0.5 + _uniform(tf.random.experimental.stateless_fold_in(seed, 1), [2], -strength / 2, strength / 2) * side
    box = tf.concat([centre - side / 2, centre + side / 2], axis=0)
    return tf.image.crop_and_resize(img[None], box[None], [0], size)[0]


def rotate(img: tf.Tensor, seed, degrees: float) -> tf.Tensor:
    angle = _uniform(seed, [], -degrees, degrees) * (math.pi / 180)
    h, w = tf.cast(tf.shape(img)[0], tf.float32), tf.cast(tf.shape(img)[1], tf.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    c, s = tf.cos(angle), tf.sin(angle)
    transform = tf.stack([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0.0, 0.0])
    return tf.raw_ops.ImageProjectiveTransformV3(images=img[None], transforms=transform[None],
                                                 output_shape=tf.shape(img)[:2], fill_value=0.0,
                                                 interpolation="BILINEAR", fill_mode="REFLECT")[0]


def color_jitter(img: tf.Tensor, seed, strength: float) -> tf.Tensor:
    fold = tf.random.experimental.stateless_fold_in
    x = img / 255.0
    x = tf.image.stateless_random_brightness(x, strength, fold(seed, 1))
    x = tf.image.stateless_random_contrast(x, 1 - strength, 1 + strength, fold(seed, 2))
    x = tf.image.stateless_random_saturation(tf.clip_by_value(x, 0, 1), 1 - strength, 1 + strength, fold(seed, 3))
    x = tf.image.stateless_random_hue(x, min(strength / 4, 0.5), fold(seed, 4))
    return tf.clip_by_value(x, 0, 1) * 255.0


def _with_probability(p: float, seed, fn, img):
    return tf.cond(_uniform(seed) < p, lambda: fn(img), lambda: img)


def grayscale(img: tf.Tensor, seed, p: float) -> tf.Tensor:
    return _with_probability(p, seed, lambda x: tf.tile(tf.image.rgb_to_grayscale(x), [1, 1, 3]), img)


def low_resolution(img: tf.Tensor, seed, p: float) -> tf.Tensor:
    size = tf.shape(img)[:2]
    fraction = _uniform(tf.random.experimental.stateless_fold_in(seed, 1), [], 1 / 6, 1 / 2)
    small = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * fraction), tf.int32), 4)

    def down_up(x):
        return tf.image.resize(tf.image.resize(x, small, method="area"), size, method="bilinear")
    return _with_probability(p, seed, down_up, img)


def gaussian_blur(img: tf.Tensor, seed, p: float) -> tf.Tensor:
    scale = tf.cast(tf.shape(img)[0], tf.float32) / 112.0
    sigma = _uniform(tf.random.experimental.stateless_fold_in(seed, 1), [], 0.5, 2.0) * scale
    radius = tf.cast(tf.math.ceil(3 * sigma), tf.int32)

    def blur(x):
        taps = tf.cast(tf.range(-radius, radius + 1), tf.float32)
        kernel = tf.exp(-0.5 * tf.square(taps / sigma))
        kernel /= tf.reduce_sum(kernel)
        padded = tf.pad(x[None], [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
        k = tf.tile(kernel[:, None, None, None], [1, 1, 3, 1])
        out = tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID")
        out = tf.nn.depthwise_conv2d(out, tf.transpose(k, [1, 0, 2, 3]), [1, 1, 1, 1], "VALID")
        return out[0]
    return _with_probability(p, seed, blur, img)


def jpeg_quality(img: tf.Tensor, seed, p: float) -> tf.Tensor:
    def recompress(x):
        pixels = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
        out = tf.image.stateless_random_jpeg_quality(pixels, 30, 96, tf.random.experimental.stateless_fold_in(seed, 1))
        return tf.cast(out, tf.float32)
    return _with_probability(p, seed, recompress, img)


def random_erase(img: tf.Tensor, seed, p: float) -> tf.Tensor:
    draws = _uniform(tf.random.experimental.stateless_fold_in(seed, 1), [5])
    h, w = tf.cast(tf.shape(img)[0], tf.float32), tf.cast(tf.shape(img)[1], tf.float32)
    area = 0.02 + draws[0] * 0.23
    aspect = tf.exp(math.log(0.3) + draws[1] * (math.log(3.3) - math.log(0.3)))
    eh, ew = tf.minimum(h, tf.sqrt(area * aspect) * h), tf.minimum(w, tf.sqrt(area / aspect) * w)
    y0, x0 = draws[2] * (h - eh), draws[3] * (w - ew)
    ys, xs = tf.range(h)[:, None], tf.range(w)[None, :]
    inside = (ys >= y0) & (ys < y0 + eh) & (xs >= x0) & (xs < x0 + ew)
    return _with_probability(p, seed, lambda x: tf.where(inside[:, :, None], draws[4] * 255.0, x), img)


_OPS = {"crop": crop_jitter, "rotate": rotate, "color": color_jitter, "gray": grayscale,
        "lowres": low_resolution, "blur": gaussian_blur, "jpeg": jpeg_quality, "erase": random_erase}


def augment_image(image: tf.Tensor, seed: tf.Tensor, spec: Augment) -> tf.Tensor:
    """uint8 [H, W, 3] → uint8 [H, W, 3], each family of ``spec`` with a strength > 0 applied in order;
    ``seed``: the image's int64 [2] seed pair. With no family on, the image itself."""
    if not spec.active:
        return image
    x = tf.cast(image, tf.float32)
    for k, family in enumerate(FAMILIES):
        strength = getattr(spec, family)
        if strength:
            x = _OPS[family](x, tf.random.experimental.stateless_fold_in(seed, k + 1), float(strength))
    out = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
    out.set_shape(image.shape)
    return out
