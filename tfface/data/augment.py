"""Image augmentation in the tf.data graph, deterministic in (seed, step, position in the global batch).

Each family has one strength (0 = off, the image is returned untouched) with its own unit, chosen by us (no
face paper fixes them; the presets are the combinations bench/real_recipe.py compares):

- ``crop``: scale-and-shift jitter — the crop's side is a fraction in [1 − s, 1 + s/2] of the image (zoom in,
  or out) and its centre moves by up to s/2 of the side; resized back.
- ``rotate``: rotation by up to ± ``rotate`` degrees about the centre. Crop and rotation are one resampling
  (borders reflected).
- ``color``: brightness ± s·255, contrast and saturation × [1 − s, 1 + s], hue ± s/4 of a turn, as one colour
  matrix per image (saturation blends with the luma; hue rotates the YIQ chroma plane).
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
from tfface.settings import FRACTION, Limit, Section, section, setting


@dataclasses.dataclass(frozen=True)
class Augment:
    """The strength of each augmentation family (the module's docstring gives the units); all 0 = none."""

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
        return any(getattr(self, f.name) for f in dataclasses.fields(Augment))


FAMILIES = tuple(f.name for f in dataclasses.fields(Augment))  # in the order they are applied


@section("augment", prefix="aug_")
class AugmentSettings(Section):
    """Training-image augmentation: a preset, and per family a strength that replaces the preset's when above 0."""

    preset: str = setting("none", "Augmentation preset (tfface/data/augment.py; see the families below, whose flags "
                          "above 0 replace the preset's).", choices=("none", "light", "medium", "heavy"),
                          flag="augment")
    crop: float = setting(0.0, "Scale-and-shift jitter: crop side in [1-s, 1+s/2], centre moved by up to s/2.",
                          limit=Limit(0, 0.9))
    rotate: float = setting(0.0, "Rotation by up to ± this many degrees.", limit=Limit(0, 45))
    color: float = setting(0.0, "Colour jitter s: brightness ±s, contrast and saturation ×[1-s, 1+s], hue ±s/4.",
                           limit=Limit(0, 1))
    gray: float = setting(0.0, "Probability of a grayscale image.", limit=FRACTION)
    lowres: float = setting(0.0, "Probability of low-resolution simulation (down to 1/6–1/2 of the side, then back "
                            "up).", limit=FRACTION)
    blur: float = setting(0.0, "Probability of a Gaussian blur (σ 0.5–2 px at 112 px).", limit=FRACTION)
    jpeg: float = setting(0.0, "Probability of JPEG re-compression (quality 30–95).", limit=FRACTION)
    erase: float = setting(0.0, "Probability of an occluding gray rectangle (2–25% of the image).", limit=FRACTION)


PRESETS = {  # ours: common combinations, from gentle to strong
    "none": Augment(),
    "light": Augment(crop=0.1, rotate=5, color=0.1, gray=0.05),
    "medium": Augment(crop=0.15, rotate=10, color=0.2, gray=0.1, lowres=0.2, blur=0.1, jpeg=0.2, erase=0.1),
    "heavy": Augment(crop=0.25, rotate=15, color=0.3, gray=0.2, lowres=0.4, blur=0.2, jpeg=0.4, erase=0.3),
}


def augment_from(settings: AugmentSettings) -> Augment:
    """The preset ``settings.preset`` with each family's setting above 0 replacing the preset's strength."""
    if settings.preset not in PRESETS:
        raise ConfigError(f"`augment={settings.preset}`: choose one of {', '.join(PRESETS)}.")
    return dataclasses.replace(PRESETS[settings.preset], **{f: float(getattr(settings, f)) for f in FAMILIES
                                                            if getattr(settings, f) > 0})


def _uniform(seed, shape=(), lo=0.0, hi=1.0):
    return tf.random.stateless_uniform(shape, seed, lo, hi)


def _geometry(seed_crop, crop: float, seed_rotate, degrees: float, size) -> tf.Tensor:
    """The projective transform [8] (output pixel → input pixel) of the crop jitter and the rotation, both at
    once: q = centre_in + side · R(θ) · (p − centre)."""
    h, w = tf.cast(size[0], tf.float32), tf.cast(size[1], tf.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    side, shift = tf.constant(1.0), tf.zeros([2])
    if crop:
        side = _uniform(seed_crop, [], 1.0 - crop, 1.0 + crop / 2)
        shift = _uniform(tf.random.experimental.stateless_fold_in(seed_crop, 1), [2], -crop / 2, crop / 2) * side
    angle = _uniform(seed_rotate, [], -degrees, degrees) * (math.pi / 180) if degrees else tf.constant(0.0)
    c, s = side * tf.cos(angle), side * tf.sin(angle)
    in_x, in_y = cx + shift[1] * (w - 1), cy + shift[0] * (h - 1)
    return tf.stack([c, -s, in_x - c * cx + s * cy, s, c, in_y - s * cx - c * cy, 0.0, 0.0])


def geometric_jitter(img: tf.Tensor, seed_crop, crop: float, seed_rotate, degrees: float) -> tf.Tensor:
    """Crop jitter and rotation as one bilinear resampling (borders reflected)."""
    transform = _geometry(seed_crop, crop, seed_rotate, degrees, tf.shape(img)[:2])
    return tf.raw_ops.ImageProjectiveTransformV3(images=img[None], transforms=transform[None],
                                                 output_shape=tf.shape(img)[:2], fill_value=0.0,
                                                 interpolation="BILINEAR", fill_mode="REFLECT")[0]


_LUMA = (0.299, 0.587, 0.114)
_RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def color_jitter(img: tf.Tensor, seed, strength: float) -> tf.Tensor:
    """Brightness ± s·255, contrast × [1 ± s] about each channel's mean, saturation × [1 ± s] (a blend with the
    luma), hue ± s/4 of a turn (a rotation of the YIQ chroma plane): composed into one 3 × 3 colour matrix and
    offset per image, applied in a single pass."""
    u = _uniform(seed, [4])
    brightness = (2 * u[0] - 1) * strength * 255.0
    contrast = 1 + (2 * u[1] - 1) * strength
    saturation = 1 + (2 * u[2] - 1) * strength
    theta = (2 * u[3] - 1) * strength / 4 * 2 * math.pi
    luma = tf.constant(_LUMA)
    sat = saturation * tf.eye(3) + (1 - saturation) * tf.ones([3, 1]) * luma[None, :]
    yiq = tf.constant(_RGB_TO_YIQ)
    c, s = tf.cos(theta), tf.sin(theta)
    rot = tf.stack([tf.stack([1.0, 0.0, 0.0]), tf.stack([0.0, c, -s]), tf.stack([0.0, s, c])])
    matrix = tf.linalg.inv(yiq) @ rot @ yiq @ sat  # x ↦ matrix · x, per pixel
    mean = tf.reduce_mean(img, axis=[0, 1])
    offset = tf.linalg.matvec(matrix, (1 - contrast) * mean + brightness)
    out = tf.tensordot(img, contrast * matrix, axes=[[2], [1]]) + offset
    return tf.clip_by_value(out, 0, 255)


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


_OPS = {"color": color_jitter, "gray": grayscale,  # after the geometric pair (crop, rotate), in FAMILIES' order
        "lowres": low_resolution, "blur": gaussian_blur, "jpeg": jpeg_quality, "erase": random_erase}


def augment_image(image: tf.Tensor, seed: tf.Tensor, spec: Augment) -> tf.Tensor:
    """uint8 [H, W, 3] → uint8 [H, W, 3], each family of ``spec`` with a strength > 0 applied in order;
    ``seed``: the image's int64 [2] seed pair. With no family on, the image itself."""
    if not spec.active:
        return image
    x = tf.cast(image, tf.float32)
    seeds = {f: tf.random.experimental.stateless_fold_in(seed, k + 1) for k, f in enumerate(FAMILIES)}
    if spec.crop or spec.rotate:
        x = geometric_jitter(x, seeds["crop"], float(spec.crop), seeds["rotate"], float(spec.rotate))
    for family, op in _OPS.items():
        if getattr(spec, family):
            x = op(x, seeds[family], float(getattr(spec, family)))
    out = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
    out.set_shape(image.shape)
    return out
