"""SavedModel export, loadable with ``tf.saved_model.load`` and TF Serving:

- ``serving_default``: uint8 images -> the L2-normalised embeddings evaluate.py scores (with the run's
  ``flip``, the normalised sum of the image's and its mirror image's embeddings);
- ``score``: two image batches -> the cosine of those embeddings, so served scores equal evaluate.py's and
  the thresholds calibrated on them (``tfface.json``) apply;
- ``embed_one_view``: one view per image, no mirror image (what evaluate.py flips itself)."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfface.data.decode import resize_uint8
from tfface.errors import DataError, StorageError
from tfface.export.lite import load_tflite_embedder
from tfface.finite import check_embeddings, check_finite
from tfface.scoring.ida import log_dao, log_density

KERAS_FILE = "backbone.keras"
METADATA = "tfface.json"
ONE_VIEW = "embed_one_view"  # the signature with no mirror image: what evaluate.py flips itself


class FaceEmbedder(tf.Module):
    """Wraps a backbone with uint8 image signatures that take what a serving user sends: a batch [N, H, W, C]
    or one image [H, W, C], grey (C = 1) or colour (C = 3), any H × W (resized to the model's size as the
    training pipeline resizes); anything else fails with a message naming the expected shape."""

    def __init__(self, backbone: keras.Model, image_size: int, flip: bool = True):
        super().__init__()
        self.backbone = backbone
        self.image_size, self.flip = int(image_size), bool(flip)
        # the tf.Variables under the Keras 3 variables, tracked by the module itself: without them the TF1
        # session loader (saved_model_cli, TF Serving) cannot find the weights the signatures read
        self.backbone_variables = [v.value for v in backbone.variables]
        # the size the signatures resize to, saved with them: what tfface.json's image_size is checked against
        self.input_size = tf.Variable(int(image_size), trainable=False, dtype=tf.int32, name="input_size")
        self._signatures(image_size)

    def _signatures(self, image_size: int) -> tuple[tf.TensorSpec, list[tf.TensorSpec]]:
        """Define ``serve``, ``score`` and ``serve_one_view``; return the (image, pair) input specs."""
        spec = tf.TensorSpec(None, tf.uint8, name="images")
        pair = [tf.TensorSpec(None, tf.uint8, name=n) for n in ("images1", "images2")]
        self.serve = tf.function(self._serve, input_signature=[spec])
        self.score = tf.function(self._score, input_signature=pair)
        self.serve_one_view = tf.function(self._serve_one_view, input_signature=[spec])
        return spec, pair

    def signatures(self) -> dict:
        """The signatures to save, by name."""
        return {"serving_default": self.serve, "score": self.score, ONE_VIEW: self.serve_one_view}

    def _prepare(self, images):
        """Any accepted input form → uint8 [N, size, size, 3]."""
        rank, shape = tf.rank(images), tf.shape(images)
        expected = (f"images must be uint8 [batch, height, width, channels] or one [height, width, channels] image "
                    f"with 1 or 3 channels (the model's size is {self.image_size} × {self.image_size}); got shape")
        with tf.control_dependencies([tf.debugging.Assert(tf.logical_or(rank == 3, rank == 4), [expected, shape],
                                                          name="input_rank")]):
            images = tf.reshape(images, tf.concat([[-1], shape[-3:]], 0))
        channels = tf.shape(images)[3]
        with tf.control_dependencies([tf.debugging.Assert(tf.logical_or(channels == 1, channels == 3),
                                                          [expected, shape], name="input_channels")]):
            images = tf.identity(images)
        images = tf.cond(channels == 1, lambda: tf.tile(images, [1, 1, 1, 3]), lambda: images)
        images.set_shape([None, None, None, 3])
        images = resize_uint8(images, self.image_size)
        images.set_shape([None, self.image_size, self.image_size, 3])
        return images

    def _one_view(self, prepared):
        """uint8 [N, size, size, 3] → normalised embeddings of those images as they are."""
        emb = tf.cast(self.backbone(prepared, training=False), tf.float32)
        return tf.math.l2_normalize(emb, axis=1, epsilon=1e-12)

    def _embed(self, images):
        """The embedding evaluate.py scores: one view, or with ``flip`` the normalised sum of the normalised
        embeddings of the image and its mirror image (as :func:`tfface.models.embed.embed_paths`)."""
        images = self._prepare(images)
        emb = self._one_view(images)
        if self.flip:
            emb = tf.math.l2_normalize(emb + self._one_view(tf.image.flip_left_right(images)), axis=1,
                                       epsilon=1e-12)
        return emb

    def _serve(self, images):
        return {"embeddings": self._embed(images)}

    def _serve_one_view(self, images):
        return {"embeddings": self._one_view(self._prepare(images))}

    def _score(self, images1, images2):
        emb1, emb2 = self._embed(images1), self._embed(images2)
        counts = [tf.shape(emb1)[0], tf.shape(emb2)[0]]
        pairable = tf.logical_or(counts[0] == counts[1], tf.reduce_min(counts) == 1)
        same = tf.debugging.Assert(pairable, ["images1 and images2 must hold the same number of images (pairs, "
                                              "scored row by row) or one of them a single image (scored against "
                                              "each of the other); got", *counts], name="pair_counts")
        with tf.control_dependencies([same]):
            return {"score": tf.reduce_sum(emb1 * emb2, axis=1)}


def export_saved_model(backbone: keras.Model, path: str | os.PathLike, image_size: int,
                       info: dict | None = None, flip: bool = True) -> str:
    """Write the SavedModel (plus ``tfface.json`` with the image size, the flip choice and ``info``) to ``path``,
    and the Keras model itself beside it as ``backbone.keras`` (``keras.models.load_model``; outputs
    unnormalised, one view)."""
    path = str(path)
    advice = "Train with a lower `lr` or export an earlier checkpoint."
    check_finite(backbone.variables, f"export to {path}", advice)
    check_embeddings(lambda x: backbone(x, training=False), image_size, f"export to {path}", advice)
    module = FaceEmbedder(backbone, image_size, flip)
    try:
        tf.saved_model.save(module, path, signatures=module.signatures())
        backbone.save(os.path.join(path, KERAS_FILE))
        write_metadata(path, {"image_size": image_size, "flip": bool(flip), **(info or {})})
    except (OSError, tf.errors.OpError) as err:  # e.g. the disk is full
        raise StorageError(f"could not write the export to {path}: {str(err).strip().splitlines()[0][:160]}. Free "
                           "space and rerun: training resumes from its last checkpoint and exports again (or "
                           "export it with evaluate.py --checkpoint=<workdir>).") from None
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    """An export's ``tfface.json`` ({} for exports of old versions that have none)."""
    file = os.path.join(str(path), METADATA)
    return json.load(open(file)) if os.path.isfile(file) else {}


def write_metadata(path: str | os.PathLike, meta: dict) -> None:
    """Write an export's ``tfface.json`` whole (to a temporary file first, so a crash leaves the old one)."""
    file = os.path.join(str(path), METADATA)
    with open(file + ".tmp", "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(file + ".tmp", file)


def load_keras_backbone(path: str | os.PathLike) -> keras.Model:
    """The ``backbone.keras`` that :func:`export_saved_model` writes beside the SavedModel."""
    file = os.path.join(str(path), KERAS_FILE)
    if not os.path.isfile(file):
        raise FileNotFoundError(f"`model={path}`: no {KERAS_FILE} beside the SavedModel (exports written before it "
                                "existed lack it); pass `checkpoint=<train.py workdir>` instead.")
    return keras.models.load_model(file)


def saved_image_size(path: str, serve, loaded=None) -> int:
    """The model's input size: from its ``tfface.json`` (checked against the size saved with the signatures,
    when ``loaded`` has it), else (exports of old versions) the signature's shape."""
    meta = read_metadata(path)
    saved = int(loaded.input_size.numpy()) if loaded is not None and hasattr(loaded, "input_size") else None
    if "image_size" in meta:
        if saved is not None and int(meta["image_size"]) != saved:
            raise DataError(f"{os.path.join(path, METADATA)}: image_size is {meta['image_size']}, but the model it "
                            f"describes takes {saved} × {saved} images; the file was edited or comes from another "
                            f"export. Set image_size to {saved}, or export the model again.")
        return int(meta["image_size"])
    return saved or int(serve.structured_input_signature[1]["images"].shape[1])


def one_view_signature(loaded):
    """The signature giving one view per image: ``embed_one_view``, or ``serving_default`` in exports of
    old versions (which had no mirror image in it)."""
    return loaded.signatures.get(ONE_VIEW, loaded.signatures["serving_default"])


def load_embedder(path: str | os.PathLike):
    """Load an exported model — a SavedModel folder or a ``.tflite`` file — as (embed_fn uint8 -> normalised
    float32 of one view, image_size); evaluate.py adds the mirror image itself (--eval_flip)."""
    path = str(path)
    if path.endswith(".tflite"):
        return load_tflite_embedder(path)
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileNotFoundError(f"`model={path}`: no saved_model.pb there; point it at a folder written "
                                "by train.py (<workdir>/export).")
    return saved_model_embedder(tf.saved_model.load(path), path)


def saved_model_embedder(loaded, path: str | os.PathLike):
    """(embed_fn uint8 -> normalised float32 of one view, image_size) of a loaded SavedModel."""
    serve = one_view_signature(loaded)
    size = saved_image_size(str(path), serve, loaded)
    return (lambda images: serve(images=tf.convert_to_tensor(images, tf.uint8))["embeddings"]), size


def load_raw_embedder(path: str | os.PathLike):
    """(embed_fn uint8 -> the backbone's unnormalised float32 features, image_size) of an exported model, from
    its ``backbone.keras`` (the SavedModel's signatures normalise, and a feature's norm is what some pooling
    weighs by)."""
    backbone = load_keras_backbone(path)
    size = int(backbone.input_shape[1])
    return (lambda images: tf.cast(backbone(tf.convert_to_tensor(images, tf.uint8), training=False), tf.float32)), size


class IDAScorer(FaceEmbedder):
    """An exported model plus IDA (Liu et al. 2021): ``score_ida`` (image pairs → log DAO, Eq. 4, with
    the stored anchor set's top-k support sets) and, with an SSR module, ``density`` (image → learned
    log density, IDA-L) and ``score_ida_l`` (pairs scored with it, no anchor search).

    With ``flip`` (evaluate.py's --eval_flip, on by default) every signature embeds an image as the
    normalised sum of its and its mirror image's embeddings — as the anchors, the SSR fit and evaluate.py
    do — so the served scores equal the library's for the same settings."""

    def __init__(self, base_path: str, anchors, k: int = 10, tau: float = 1.0, ssr: keras.Model | None = None,
                 flip: bool = True):
        tf.Module.__init__(self)  # the embedding comes from the loaded SavedModel, not a Keras backbone
        self.base = tf.saved_model.load(base_path)
        self.embed_fn = one_view_signature(self.base)
        size = saved_image_size(base_path, self.embed_fn, self.base)
        self.image_size = size
        anchors = np.asarray(anchors, np.float32)
        unit = anchors / np.maximum(np.linalg.norm(anchors, axis=1, keepdims=True), 1e-12)
        self.anchors = tf.Variable(unit.astype("float32"), trainable=False, name="ida_anchors")
        self.k, self.tau, self.ssr, self.flip = int(k), float(tau), ssr, bool(flip)
        self.ssr_variables = [v.value for v in ssr.variables] if ssr is not None else []  # as FaceEmbedder's
        spec, pair = self._signatures(size)
        self.score_ida = tf.function(self._score_ida, input_signature=pair)
        if ssr is not None:
            self.density = tf.function(self._density, input_signature=[spec])
            self.score_ida_l = tf.function(self._score_ida_l, input_signature=pair)

    def _one_view(self, prepared):
        return self.embed_fn(images=prepared)["embeddings"]

    def _log_density_r(self, emb):
        sims = tf.math.top_k(tf.matmul(emb, self.anchors, transpose_b=True), self.k).values
        return log_density(sims, self.tau)

    def _score_ida(self, images1, images2):
        e1, e2 = self._embed(images1), self._embed(images2)
        return {"score": log_dao(e1, e2, self._log_density_r(e1), self._log_density_r(e2), self.tau)}

    def _density(self, images):
        return {"log_density": self.ssr(self._embed(images), training=False)}

    def _score_ida_l(self, images1, images2):
        e1, e2 = self._embed(images1), self._embed(images2)
        d1, d2 = self.ssr(e1, training=False), self.ssr(e2, training=False)
        return {"score": log_dao(e1, e2, d1, d2, self.tau)}


def export_ida(base_path: str, out: str, anchors, k: int = 10, tau: float = 1.0,
               ssr: keras.Model | None = None, flip: bool = True) -> str:
    """Re-export the SavedModel at ``base_path`` with IDA signatures (see :class:`IDAScorer`); ``tfface.json``
    records k, τ, the anchor count, whether a learned density is included and the flip choice."""
    module = IDAScorer(base_path, anchors, k, tau, ssr, flip)
    sigs = {**module.signatures(), "score_ida": module.score_ida}
    if ssr is not None:
        sigs.update(density=module.density, score_ida_l=module.score_ida_l)
    tf.saved_model.save(module, out, signatures=sigs)
    meta = {**read_metadata(base_path), "image_size": module.image_size, "flip": module.flip,
            "ida": {"k": module.k, "tau": module.tau, "anchors": int(len(anchors)),
                    "learned_density": ssr is not None, "flip": module.flip}}
    if meta.get("calibration") and meta["calibration"].get("flip") != module.flip:
        del meta["calibration"]  # the base model's cosine thresholds hold for its own flip choice only
    write_metadata(out, meta)
    return out
