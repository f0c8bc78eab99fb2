"""SavedModel export: ``serving_default`` (uint8 images -> L2-normalised embeddings) and ``score``
(two image batches -> cosine similarity), loadable with ``tf.saved_model.load`` and TF Serving."""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf


class FaceEmbedder(tf.Module):
    """Wraps a backbone with fixed-size uint8 input signatures."""

    def __init__(self, backbone: keras.Model, image_size: int):
        super().__init__()
        self.backbone = backbone
        spec = tf.TensorSpec([None, image_size, image_size, 3], tf.uint8, name="images")
        pair = (tf.TensorSpec([None, image_size, image_size, 3], tf.uint8, name="images1"),
                tf.TensorSpec([None, image_size, image_size, 3], tf.uint8, name="images2"))
        self.serve = tf.function(self._serve, input_signature=[spec])
        self.score = tf.function(self._score, input_signature=list(pair))

    def _embed(self, images):
        emb = tf.cast(self.backbone(images, training=False), tf.float32)
        return tf.math.l2_normalize(emb, axis=1, epsilon=1e-12)

    def _serve(self, images):
        return {"embeddings": self._embed(images)}

    def _score(self, images1, images2):
        return {"score": tf.reduce_sum(self._embed(images1) * self._embed(images2), axis=1)}


def export_saved_model(backbone: keras.Model, path: str | os.PathLike, image_size: int,
                       info: dict | None = None) -> str:
    """Write the SavedModel (plus ``tfface.json`` with the image size and ``info``) to ``path``."""
    path = str(path)
    module = FaceEmbedder(backbone, image_size)
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve, "score": module.score})
    with open(os.path.join(path, "tfface.json"), "w") as fh:
        json.dump({"image_size": image_size, **(info or {})}, fh, indent=1)
    return path


def load_embedder(path: str | os.PathLike):
    """Load an exported model: returns (embed_fn uint8 -> normalised float32, image_size)."""
    path = str(path)
    meta_file = os.path.join(path, "tfface.json")
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileNotFoundError(f"--model={path}: no saved_model.pb there; point it at a folder written "
                                "by train.py (<workdir>/export).")
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]
    size = json.load(open(meta_file))["image_size"] if os.path.isfile(meta_file) else \
        int(serve.structured_input_signature[1]["images"].shape[1])
    return (lambda images: serve(images=tf.convert_to_tensor(images, tf.uint8))["embeddings"]), size
