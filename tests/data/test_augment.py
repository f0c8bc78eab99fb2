"""Each augmentation family: shape and dtype kept, the image itself at strength 0, the same output for the
same seed and another for another seed, finite values, and the effect it is named for."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfface.data.augment import FAMILIES, PRESETS, Augment, augment_image

STRENGTH = {"crop": 0.3, "rotate": 20.0, "color": 0.4, "gray": 1.0, "lowres": 1.0, "blur": 1.0, "jpeg": 1.0,
            "erase": 1.0}


def _face(size=64) -> np.ndarray:
    """A textured test image: smooth colour gradients plus a high-frequency checkerboard."""
    y, x = np.mgrid[0:size, 0:size] / size
    checker = ((np.arange(size)[:, None] // 2 + np.arange(size)[None, :] // 2) % 2) * 60
    img = np.stack([200 * x + checker, 180 * y + 30, 120 + 100 * x * y], axis=-1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _run(spec: Augment, seed=(3, 7), img=None) -> np.ndarray:
    """``spec`` applied in a graph (as in the tf.data pipeline), checked against eager execution."""
    img = _face() if img is None else img
    graph = tf.function(lambda x, s: augment_image(x, s, spec))(tf.constant(img), tf.constant(seed, tf.int64))
    eager = augment_image(tf.constant(img), tf.constant(seed, tf.int64), spec).numpy()
    assert np.abs(graph.numpy().astype(int) - eager.astype(int)).max() <= 1  # rounding of fused kernels
    return graph.numpy()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_keeps_shape_is_seeded_and_changes_the_image(family):
    spec = Augment(**{family: STRENGTH[family]})
    img = _face()
    out = _run(spec)
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, _run(spec))  # same seed, same image
    assert not np.array_equal(out, img)
    if family == "gray":  # no parameter: the seed decides whether it happens
        seen = {_run(Augment(gray=0.5), seed=(3, s)).tobytes() for s in range(12)}
        assert seen == {out.tobytes(), img.tobytes()}
    else:
        assert not np.array_equal(out, _run(spec, seed=(3, 8)))  # another image's seed draws otherwise
    # the float op before rounding is finite
    assert np.isfinite(tf.cast(tf.constant(out), tf.float32).numpy()).all()
    # at strength 0 the family does nothing
    np.testing.assert_array_equal(_run(Augment(**{family: 0.0})), img)


def test_no_augmentation_returns_the_image_itself():
    img = tf.constant(_face())
    assert augment_image(img, tf.constant([1, 2], tf.int64), Augment()) is img


def test_grayscale_has_equal_channels_and_erase_paints_one_gray_rectangle():
    out = _run(Augment(gray=1.0)).astype(int)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    img = _face().astype(int)
    erased = _run(Augment(erase=1.0)).astype(int)
    changed = np.argwhere((erased != img).any(axis=-1))
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    patch = erased[y0:y1 + 1, x0:x1 + 1]
    assert (patch == patch[0, 0, 0]).all()  # one value over the whole rectangle
    assert 0.02 * 64 * 64 * 0.5 <= patch.shape[0] * patch.shape[1] <= 0.25 * 64 * 64 * 1.1


def _high_frequency(img: np.ndarray) -> float:
    g = img.astype(float).mean(axis=-1)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


@pytest.mark.parametrize("family", ["lowres", "blur"])
def test_low_resolution_and_blur_remove_fine_detail(family):
    assert _high_frequency(_run(Augment(**{family: 1.0}))) < 0.6 * _high_frequency(_face())


def test_jpeg_stays_close_and_colour_jitter_moves_the_colours():
    img = _face().astype(float)
    jpeg = _run(Augment(jpeg=1.0)).astype(float)
    psnr = 10 * np.log10(255 ** 2 / np.mean((jpeg - img) ** 2))
    assert 15 < psnr < 60
    shifts = [abs(_run(Augment(color=0.4), seed=(0, s)).astype(float).mean() - img.mean()) for s in range(6)]
    assert max(shifts) > 5


def test_crop_and_rotation_move_the_face_a_little():
    img = np.zeros((64, 64, 3), np.uint8)
    img[28:36, 28:36] = 255  # a bright square at the centre
    for spec, most in ((Augment(crop=0.3), 0.15 * 64 * 1.15 + 1), (Augment(rotate=20), 1.0)):
        outs = [_run(spec, seed=(1, s), img=img) for s in range(6)]
        for o in outs:
            ys, xs = np.nonzero(o[..., 0] > 127)
            # the square's centre moves by at most the jitter (crop: half the strength times the side, and
            # zoom around the centre; rotation: about the centre, so it stays)
            assert len(ys) and max(abs(ys.mean() - 31.5), abs(xs.mean() - 31.5)) <= most
        assert len({o.tobytes() for o in outs}) == 6


def test_presets_are_ordered_by_strength():
    names = ["none", "light", "medium", "heavy"]
    assert list(PRESETS) == names
    for weaker, stronger in zip(names, names[1:]):
        a, b = dataclasses.asdict(PRESETS[weaker]), dataclasses.asdict(PRESETS[stronger])
        assert all(a[f] <= b[f] for f in FAMILIES) and a != b
