"""On-device export: the embedding model as a LiteRT (TensorFlow Lite) flatbuffer, converted by TensorFlow's
own converter, and run back with the LiteRT interpreter (``pip install 'tfface[lite]'``).

The model takes what ``serving_default`` takes — uint8 images [N, H, W, 3] — and returns L2-normalised
float32 embeddings. ``quantize``: ``none`` (float32), ``float16`` (weights stored in float16) or ``int8``
(dynamic-range: int8 weights, float activations; no calibration data needed).
"""

from __future__ import annotations

import json
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from tfface.errors import ConfigError, DataError

QUANTIZATIONS = ("none", "float16", "int8")


def tflite_name(quantize: str) -> str:
    return "embedder.tflite" if quantize == "none" else f"embedder_{quantize}.tflite"


def serving_model(backbone: keras.Model) -> keras.Model:
    """uint8 images → L2-normalised float32 embeddings around ``backbone`` (what ``serving_default`` does)."""
    size = backbone.input_shape[1]
    images = keras.Input((size, size, 3), dtype="uint8", name="images")
    emb = keras.ops.cast(backbone(images), "float32")
    return keras.Model(images, keras.layers.UnitNormalization(axis=1, name="embeddings")(emb))


def convert(backbone: keras.Model, quantize: str = "none") -> bytes:
    """The flatbuffer of :func:`serving_model` of ``backbone``.

    Converted from the Keras model: from a ``tf.function`` of it, or from the exported SavedModel's signature,
    TF 2.21's converter gave a model whose every output was NaN here."""
    if quantize not in QUANTIZATIONS:
        raise ConfigError(f"`tflite_quantize={quantize!r}`: choose from {', '.join(QUANTIZATIONS)}.")
    converter = tf.lite.TFLiteConverter.from_keras_model(serving_model(backbone))
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def export_tflite(backbone: keras.Model, out_dir: str | os.PathLike, quantize: str = "none") -> str:
    """Write ``<out_dir>/embedder[_<quantize>].tflite`` (and ``tfface.json`` with the image size)."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / tflite_name(quantize)
    path.write_bytes(convert(backbone, quantize))
    meta = out_dir / "tfface.json"
    info = json.loads(meta.read_text()) if meta.is_file() else {}
    meta.write_text(json.dumps({**info, "image_size": int(backbone.input_shape[1])}, indent=1))
    return str(path)


def _interpreter(model_path: str):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("running a .tflite model needs the LiteRT interpreter: pip install 'tfface[lite]' "
                          "(ai-edge-litert).") from err
    return Interpreter(model_path=model_path)


def load_tflite_embedder(path: str | os.PathLike):
    """(embed_fn uint8 images → normalised float32 embeddings, image_size) of a ``.tflite`` export."""
    path = str(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`model={path}`: no such .tflite file.")
    interpreter = _interpreter(path)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    size, dim = int(inp["shape_signature"][1]), int(out["shape_signature"][-1])
    state = {"batch": None}

    def embed(images) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
            raise DataError(f"{path}: takes uint8 images [batch, {size}, {size}, 3]; got {images.dtype} "
                            f"{list(images.shape)}. Resize to {size} px (tfface.models.embed.embed_paths does).")
        if len(images) == 0:
            return np.zeros((0, dim), np.float32)
        if state["batch"] != len(images):
            interpreter.resize_tensor_input(inp["index"], [len(images), size, size, 3])
            interpreter.allocate_tensors()
            state["batch"] = len(images)
        interpreter.set_tensor(inp["index"], images)
        interpreter.invoke()
        return interpreter.get_tensor(out["index"]).copy()

    return embed, size
