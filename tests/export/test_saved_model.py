"""SavedModel round trip: reloaded signatures match the in-memory model."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from session_loader import session_outputs

from tfface.export.saved_model import export_saved_model, load_embedder
from tfface.finite import non_finite_variables
from tfface.models.backbones import build_backbone


def test_saved_model_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    backbone = build_backbone("small_cnn", 32, 16)
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    want = tf.math.l2_normalize(backbone(images, training=False), axis=1).numpy()
    mirrored = tf.math.l2_normalize(backbone(images[:, :, ::-1], training=False), axis=1).numpy()
    both = (want + mirrored) / np.linalg.norm(want + mirrored, axis=1, keepdims=True)  # evaluate.py's flip
    path = export_saved_model(backbone, tmp_path / "export", 32)
    loaded = tf.saved_model.load(path)
    got = loaded.signatures["serving_default"](images=tf.constant(images))["embeddings"].numpy()
    np.testing.assert_allclose(got, both, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    one_view = loaded.signatures["embed_one_view"](images=tf.constant(images))["embeddings"].numpy()
    np.testing.assert_allclose(one_view, want, atol=1e-5)
    score = loaded.signatures["score"](images1=tf.constant(images), images2=tf.constant(images[::-1]))
    np.testing.assert_allclose(score["score"].numpy(), np.sum(both * both[::-1], axis=1), atol=1e-5)
    unflipped = tf.saved_model.load(export_saved_model(backbone, tmp_path / "one_view", 32, flip=False))
    got = unflipped.signatures["serving_default"](images=tf.constant(images))["embeddings"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    embed, size = load_embedder(path)  # one view: evaluate.py adds the mirror image itself
    assert size == 32
    np.testing.assert_allclose(embed(images).numpy(), want, atol=1e-5)
    # the Keras model beside the SavedModel loads without tfface-specific code and gives the same embeddings
    keras_model = keras.models.load_model(f"{path}/backbone.keras")
    got = tf.math.l2_normalize(keras_model(images, training=False), axis=1).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_init_from_a_saved_model_restores_the_backbone(tmp_path):
    import numpy as np

    from tfface.export.saved_model import export_saved_model, load_embedder
    from tfface.models.backbones import build_backbone
    from tfface.runtime.model import init_from

    path = export_saved_model(build_backbone("small_cnn", 32, 16), tmp_path / "export", 32)
    fresh = build_backbone("small_cnn", 32, 16)
    said = []
    init_from(path, fresh, None, 0, said.append)
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    embed, _ = load_embedder(path)
    got = tf.math.l2_normalize(fresh(x, training=False), axis=1).numpy()
    np.testing.assert_allclose(got, embed(x).numpy(), atol=1e-5)
    assert "initialised backbone from the SavedModel" in said[0]


def test_the_saved_model_runs_in_the_session_loader(tmp_path):
    keras.utils.set_random_seed(0)
    backbone = build_backbone("small_cnn", 32, 16)
    assert backbone.non_trainable_variables  # batch-norm statistics: what the session path could not find
    images = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    path = export_saved_model(backbone, tmp_path / "export", 32)
    loaded = tf.saved_model.load(path)
    want = loaded.signatures["serving_default"](images=tf.constant(images))["embeddings"].numpy()
    got = session_outputs(path, "serving_default", {"images": images})["embeddings"]
    np.testing.assert_allclose(got, want, atol=1e-5)
    want = loaded.signatures["score"](images1=tf.constant(images), images2=tf.constant(images[::-1]))["score"]
    got = session_outputs(path, "score", {"images1": images, "images2": images[::-1]})["score"]
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_a_non_finite_model_is_not_exported(tmp_path):
    from tfface.errors import NonFiniteStateError

    backbone = build_backbone("small_cnn", 32, 16)
    statistic = next(v for v in backbone.non_trainable_variables if "moving_variance" in v.path)
    statistic.assign(np.full(statistic.shape, np.inf, np.float32))
    with pytest.raises(NonFiniteStateError, match=f"1 of {len(backbone.variables)} variables.*{statistic.path}"):
        export_saved_model(backbone, tmp_path / "export", 32)
    assert not (tmp_path / "export").exists()


def test_a_diverged_model_with_finite_weights_is_not_exported(tmp_path):
    # what --lr=1e6 gives after 3 steps: every weight finite, features near 1e25, whose squares overflow float32,
    # so the exported embeddings would all normalise to zero
    from tfface.errors import NonFiniteStateError

    backbone = build_backbone("small_cnn", 32, 16)
    fc = backbone.get_layer("emb_fc")
    fc.kernel.assign(fc.kernel.numpy() * 1e25)
    assert not non_finite_variables(backbone.variables)
    with pytest.raises(NonFiniteStateError, match="too large to normalise"):
        export_saved_model(backbone, tmp_path / "export", 32)


def test_serving_takes_one_image_grey_images_and_other_sizes_and_names_the_shape_otherwise(tmp_path):
    from tfface.data.decode import resize_uint8

    keras.utils.set_random_seed(0)
    backbone = build_backbone("small_cnn", 32, 16)
    path = export_saved_model(backbone, tmp_path / "export", 32, flip=False)
    serve = tf.saved_model.load(path).signatures["serving_default"]

    def embed(x):
        return serve(images=tf.constant(x))["embeddings"].numpy()

    def want(x):  # the backbone on [N, 32, 32, 3] (exported without the mirror image)
        return tf.math.l2_normalize(backbone(x, training=False), axis=1).numpy()

    rng = np.random.default_rng(2)
    batch = rng.integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(embed(batch[0]), want(batch[:1]), atol=1e-5)  # one [H, W, C] image
    grey = rng.integers(0, 256, (2, 32, 32, 1)).astype(np.uint8)
    np.testing.assert_allclose(embed(grey), want(np.repeat(grey, 3, axis=3)), atol=1e-5)
    large = rng.integers(0, 256, (2, 48, 40, 3)).astype(np.uint8)
    np.testing.assert_allclose(embed(large), want(resize_uint8(tf.constant(large), 32).numpy()), atol=1e-5)
    served = session_outputs(path, "serving_default", {"images": grey})["embeddings"]
    np.testing.assert_allclose(served, want(np.repeat(grey, 3, axis=3)), atol=1e-5)
    for bad in (batch[0, :, :, 0], rng.integers(0, 256, (1, 32, 32, 2)).astype(np.uint8)):
        with pytest.raises(tf.errors.InvalidArgumentError, match="images must be uint8 \\[batch, height, width"):
            embed(bad)


def test_a_full_disk_at_export_is_a_clear_error(tmp_path, monkeypatch):
    import errno

    from tfface.errors import StorageError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", full)
    with pytest.raises(StorageError, match="could not write the export to .*No space left on device. Free space"):
        export_saved_model(build_backbone("small_cnn", 32, 16), tmp_path / "export", 32)
