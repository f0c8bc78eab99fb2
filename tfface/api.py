"""Using a trained model from Python: ``tfface.load(path)`` → a :class:`Recognizer` that embeds, verifies,
enrolls and identifies faces exactly as evaluate.py scores them (its decoding, resizing, mirror image and
cosine), with the decision thresholds calibrated when the model was trained or recalibrated.

>>> import tfface
>>> model = tfface.load(export_dir)            # an export folder, a train.py workdir or a backbone.keras
>>> result = model.verify(face_a, face_b, far=1e-2)
>>> result.same == (result.score > result.threshold)
True
>>> model.enroll({"ada": [face_a], "bob": [face_b]})
>>> [match.identity for match in model.identify(face_a, k=1)[0]]
['ada']
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from tfface.errors import ConfigError, DataError

# one image (a path, or a uint8 array [H, W, C]), a batch [N, H, W, C], or a list of paths and arrays
Images = str | os.PathLike | np.ndarray | Sequence[str | os.PathLike | np.ndarray]


@dataclasses.dataclass(frozen=True)
class Verification:
    """The outcome of one pair: its score, the decision ``score > threshold`` and the threshold used for the
    false accept rate asked for."""

    score: float
    same: bool
    threshold: float
    far: float


@dataclasses.dataclass(frozen=True)
class Match:
    """A gallery identity and the probe's score against its template."""

    identity: str
    score: float


class Recognizer:
    """A trained face model with evaluate.py's preprocessing and score; made by :func:`load`.

    Attributes:
        image_size: the side of the square images the model takes (inputs are resized to it, as evaluate.py
            resizes them).
        flip: whether an image is embedded with its mirror image (the normalised sum of both embeddings).
        calibration: the thresholds calibrated on verification pairs (``None`` if the model has none).
    """

    def __init__(self, embed_fn, image_size: int, flip: bool, calibration: dict | None, source: str,
                 aligner=None, served_scores: dict | None = None, score_calibration: dict | None = None,
                 chip_sizes: set[tuple[int, int]] | None = None):
        self._embed_fn, self.image_size, self.flip = embed_fn, int(image_size), bool(flip)
        self.calibration, self.source, self.aligner = calibration, source, aligner
        self._served = served_scores or {}  # IDA exports: score name → the signature that serves it
        self._score_calibration = score_calibration or {}
        self.chip_sizes = set(chip_sizes or ())  # (width, height) of the training chips, when recorded
        self._gallery_names: list[str] = []
        self._gallery: np.ndarray | None = None

    def __repr__(self) -> str:
        fars = ", ".join(self.calibration["far"]) if self.calibration else "none"
        return (f"Recognizer({self.source!r}, image_size={self.image_size}, flip={self.flip}, calibrated FARs: "
                f"{fars}{', aligns photos' if self.aligner else ''})")

    def embed(self, images: Images) -> np.ndarray:
        """L2-normalised embeddings [N, D] of image files or uint8 arrays ([H, W, C] or [N, H, W, C], grey or
        RGB, any size); one image gives [1, D]. With ``align=True`` each image is a photo whose largest face is
        aligned first (no face found is an error naming the image)."""
        from tfface.models.embed import embed_images, embed_paths

        items = _as_items(images)
        if self.aligner is None and all(isinstance(item, str) for item in items):
            _check_files(items)
            self._check_chip_sizes(items)  # evaluate.py's own path: decoded in the tf.data graph
            return embed_paths(self._embed_fn, items, self.image_size, 256, self.flip)
        batch = self._images(items)
        return np.concatenate([embed_images(self._embed_fn, batch[i:i + 256], self.flip)
                               for i in range(0, len(batch), 256)])

    @property
    def scores(self) -> tuple[str, ...]:
        """The scores this model serves: ``cosine``, and ``ida_r`` / ``ida_l`` for an IDA export."""
        return ("cosine", *self._served)

    def score(self, a: Images, b: Images, score: str = "cosine") -> np.ndarray:
        """Scores of the pairs (a[i], b[i]) (one image against many is broadcast): the cosine, or an IDA export's
        ``ida_r`` / ``ida_l`` as its signatures serve them."""
        self._check_score(score)
        if score != "cosine":
            return self._served_score(score, a, b)
        ea, eb = self.embed(a), self.embed(b)
        _check_pairing(len(ea), len(eb))
        return np.sum(ea * eb, axis=1)

    def threshold(self, far: float = 1e-3, score: str = "cosine") -> float:
        """The threshold of ``score`` calibrated for a false accept rate of ``far``."""
        from tfface.evaluation.calibration import threshold_at

        self._check_score(score)
        calibration = self.calibration if score == "cosine" else self._score_calibration.get(score)
        return threshold_at(calibration, far, self.source if score == "cosine" else f"{self.source} ({score})")

    def verify(self, a: Images, b: Images, far: float = 1e-3, score: str = "cosine"
               ) -> Verification | list[Verification]:
        """Whether a and b show the same person, at the calibrated threshold of ``score`` for ``far``: one
        :class:`Verification` for one pair, a list for many."""
        threshold = self.threshold(far, score)  # refused before any image is read
        scores = self.score(a, b, score)
        out = [Verification(float(s), bool(s > threshold), threshold, far) for s in scores]
        return out[0] if len(out) == 1 and _is_one(a) and _is_one(b) else out

    def enroll(self, gallery: Mapping[str, Images]) -> None:
        """Add identities to the gallery: ``{identity: images}``; an identity's template is the normalised mean of
        its images' embeddings (enrolling a name again replaces its template)."""
        if not isinstance(gallery, Mapping) or not gallery:
            raise ConfigError("enroll(gallery): give a non-empty {identity: image or images} mapping.")
        names, templates = [], []
        for name, images in gallery.items():
            emb = self.embed(images).mean(axis=0)
            names.append(str(name))
            templates.append(emb / max(float(np.linalg.norm(emb)), 1e-12))
        keep = [i for i, n in enumerate(self._gallery_names) if n not in set(names)]
        old = self._gallery[keep] if self._gallery is not None else np.zeros((0, len(templates[0])), np.float32)
        self._gallery_names = [self._gallery_names[i] for i in keep] + names
        self._gallery = np.concatenate([old, np.stack(templates).astype(np.float32)])

    def identify(self, probes: Images, k: int = 1, far: float | None = None) -> list[list[Match]]:
        """The ``k`` best gallery identities for each probe, best first; with ``far`` only those whose score
        passes the calibrated threshold for it (an empty list: nobody known)."""
        if self._gallery is None:
            raise ConfigError("identify(): the gallery is empty; enroll({identity: images}) first.")
        if k < 1:
            raise ConfigError(f"identify(k={k}): k must be at least 1.")
        threshold = -np.inf if far is None else self.threshold(far)
        sims = self.embed(probes) @ self._gallery.T
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return [[Match(self._gallery_names[j], float(row[j])) for j in idx if row[j] > threshold]
                for row, idx in zip(sims, order)]

    def _check_chip_sizes(self, items: list) -> None:
        """Refuse an image of a size the model was not trained on (neither its training chips' nor its input
        size): it is not a chip of the kind the model knows, and resizing it would hide that."""
        if not self.chip_sizes:
            return
        known = self.chip_sizes | {(self.image_size, self.image_size)}
        for item in items:
            size = _image_size(item)
            if size not in known:
                shown = " or ".join(f"{w}×{h}" for w, h in sorted(self.chip_sizes))
                raise DataError(f"{item if isinstance(item, str) else 'an image given as an array'}: {size[0]}×"
                                f"{size[1]} px, but {self.source} was trained on {shown} px chips (resized to "
                                f"{self.image_size}). Give chips aligned as its training chips were (tfface-align "
                                f"--size={sorted(self.chip_sizes)[0][0]}), or load with align=True for photos.")

    def _check_score(self, score: str) -> None:
        if score not in self.scores:
            raise ConfigError(f"score={score!r}: {self.source} serves {', '.join(self.scores)} (IDA scores come "
                              "with an export of evaluate.py --protocol=ida_export).")

    def _images(self, images: Images) -> np.ndarray:
        """uint8 [N, size, size, 3]: decoded (or aligned) and resized as evaluate.py does."""
        items = _as_items(images)
        _check_files(items)
        if self.aligner is not None:
            arrays = [self._align(item) for item in items]
        else:
            self._check_chip_sizes(items)
            arrays = [_decoded(item) if isinstance(item, str) else item for item in items]
        return np.stack([self._at_size(a) for a in arrays])

    def _at_size(self, image: np.ndarray) -> np.ndarray:
        """An image as RGB uint8 at the model's size, resized as evaluate.py resizes."""
        import tensorflow as tf

        from tfface.align.aligner import as_rgb
        from tfface.data.decode import resize_uint8

        return np.asarray(resize_uint8(tf.constant(as_rgb(image)), self.image_size))

    def _served_score(self, score: str, a: Images, b: Images) -> np.ndarray:
        import tensorflow as tf

        first, second = self._images(a), self._images(b)
        _check_pairing(len(first), len(second))
        if len(first) != len(second):
            first, second = np.broadcast_to(first, second.shape), np.broadcast_to(second, first.shape)
        signature = self._served[score]
        return np.concatenate([signature(images1=tf.constant(first[i:i + 256]),
                                         images2=tf.constant(second[i:i + 256]))["score"].numpy()
                               for i in range(0, len(first), 256)])

    def _align(self, item) -> np.ndarray:
        from tfface.align.aligner import read_photo

        photo = read_photo(item) if isinstance(item, str) else item
        face = self.aligner.largest(photo)
        if face is None:
            raise DataError(f"{item if isinstance(item, str) else 'an image given as an array'}: no face found to "
                            "align; crop the photo around the face, or load the model without align=True for "
                            "images that are already aligned chips.")
        return face.chip


def load(path: str | os.PathLike, align: bool | str = False) -> Recognizer:
    """A :class:`Recognizer` from an export folder (``<workdir>/export``), a train.py workdir, or a
    ``backbone.keras`` file. ``align=True`` (or a layout name, ``"dlib"`` / ``"arcface"``) aligns each image as
    a photo first, with the layout the model's training chips had (``pip install 'tfface[align]'``).

    If TensorFlow is not loaded yet, it is loaded as the programs load it (oneDNN on unless
    ``TF_ENABLE_ONEDNN_OPTS`` says otherwise, without its start-up notes)."""
    from tfface.env import require_tensorflow

    require_tensorflow()
    from tfface.export.saved_model import KERAS_FILE, read_metadata

    path = pathlib.Path(path)
    if (path / "export" / "saved_model.pb").is_file():
        path = path / "export"
    elif path.is_dir() and (path / "config.json").is_file() and not (path / "saved_model.pb").is_file():
        raise ConfigError(f"{path}: this workdir has no export yet (training has not finished); finish it with "
                          "train.py, or export its last checkpoint with evaluate.py --checkpoint=<workdir>.")
    served = {}
    if path.is_dir() and (path / "saved_model.pb").is_file():
        embed_fn, size, meta, served = _saved_model(path)
    elif path.suffix == ".keras" and path.is_file():
        embed_fn, size = _keras_model(path)
        meta = read_metadata(path.parent) if path.name == KERAS_FILE else {}
        size = int(meta.get("image_size", size))
    else:
        raise ConfigError(f"{path}: not a tfface model; give an export folder (<workdir>/export, with "
                          "saved_model.pb), a train.py workdir or a .keras file.")
    chips = {tuple(c) for c in meta.get("training_chip_sizes", [])}
    aligner = None
    if align:
        from tfface.align.aligner import Aligner

        aligner = Aligner("dlib" if align is True else str(align), size=_chip_size(chips, size))
    return Recognizer(embed_fn, size, meta.get("flip", True), meta.get("calibration"), str(path), aligner,
                      served, meta.get("calibration_by_score"), chips)


IDA_SIGNATURES = {"ida_r": "score_ida", "ida_l": "score_ida_l"}


def _saved_model(path: pathlib.Path):
    """(one-view embed function, image size, tfface.json, {IDA score: its signature})."""
    import tensorflow as tf

    from tfface.export.saved_model import read_metadata, saved_model_embedder

    loaded = tf.saved_model.load(str(path))
    served = {name: loaded.signatures[sig] for name, sig in IDA_SIGNATURES.items() if sig in loaded.signatures}
    return (*saved_model_embedder(loaded, path), read_metadata(path), served)


def _check_pairing(n_a: int, n_b: int) -> None:
    if n_a != n_b and 1 not in (n_a, n_b):
        raise ConfigError(f"score(a, b): {n_a} images against {n_b}; give as many of each, or one.")


def _keras_model(path: pathlib.Path):
    import keras
    import tensorflow as tf

    model = keras.models.load_model(path)
    size = model.input_shape[1]
    if size is None:
        raise ConfigError(f"{path}: the model's input size is not fixed and no tfface.json is beside it; load its "
                          "export folder instead.")
    return (lambda images: tf.math.l2_normalize(tf.cast(model(images, training=False), tf.float32), axis=1)), size


def _chip_size(chips: set[tuple[int, int]], size: int) -> int:
    """The side photos are aligned to: the model's training chips' (when square and of one size), else 112 px
    (tfface-align's default) or the model's input size if larger; then resized to the input size, as its
    training chips were."""
    square = {w for w, h in chips if w == h}
    return square.pop() if len(chips) == 1 and square else max(112, size)


def _image_size(item) -> tuple[int, int]:
    """(width, height) of an image file (from its header) or array."""
    if isinstance(item, str):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(item) as img:
                return tuple(img.size)
        except (UnidentifiedImageError, OSError):
            raise DataError(f"{item}: not a readable image (JPEG, PNG, BMP or GIF).") from None
    shape = np.asarray(item).shape
    return (shape[1], shape[0]) if len(shape) >= 2 else (0, 0)


def _is_one(images) -> bool:
    return isinstance(images, (str, os.PathLike)) or (isinstance(images, np.ndarray) and images.ndim <= 3)


def _as_items(images) -> list:
    """Images as a list of paths (str) and arrays."""
    if isinstance(images, (str, os.PathLike)):
        return [os.fspath(images)]
    if isinstance(images, np.ndarray):
        return [images] if images.ndim <= 3 else list(images)
    if isinstance(images, Sequence) and images:
        return [os.fspath(i) if isinstance(i, (str, os.PathLike)) else np.asarray(i) for i in images]
    raise ConfigError(f"images: give a path, an array, or a non-empty list of them; got {type(images).__name__}.")


def _check_files(items: list) -> None:
    """Every path among ``items`` is a file, or an error naming the first missing one."""
    missing = [p for p in items if isinstance(p, str) and not os.path.isfile(p)]
    if missing:
        raise DataError(f"{missing[0]}: no such image file" + (f" (and {len(missing) - 1} more)"
                                                               if len(missing) > 1 else "") + ".")


def _decoded(path: str) -> np.ndarray:
    """An image file decoded as evaluate.py decodes it (TensorFlow's decoders, 3 channels)."""
    import tensorflow as tf

    from tfface.data.decode import load_image

    try:
        return load_image(tf.constant(path), 0).numpy()
    except tf.errors.InvalidArgumentError:
        raise DataError(f"{path}: not a readable image (JPEG, PNG, BMP or GIF).") from None
