"""From a photo to aligned face chips: find the faces, place their landmarks, warp each onto the layout's
template (see :mod:`tfface.align.chips`)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from tfface.align.chips import arcface_chip, arcface_points, arcface_template, dlib_chip
from tfface.align.landmarks import FaceFinder
from tfface.errors import ConfigError, DataError

LAYOUTS = ("dlib", "arcface")


@dataclasses.dataclass(frozen=True)
class AlignedFace:
    """A chip, the face's box (left, top, right, bottom) and the five points it was aligned on, in the photo's
    pixels."""

    chip: np.ndarray
    box: tuple[int, int, int, int]
    points: np.ndarray


class Aligner:
    """Photos → chips of ``size`` px in a layout: ``dlib`` (dlib's 5 points and its face template, ``padding``
    0.25: how this project's aligned CelebA set was made; the default) or ``arcface`` (insightface's 5-point
    112 px template, from dlib's 68 points; ``padding`` does not apply)."""

    def __init__(self, layout: str = "dlib", size: int = 112, padding: float = 0.25, detect_side: int = 640):
        if layout not in LAYOUTS:
            raise ConfigError(f"layout={layout!r}: choose {' or '.join(LAYOUTS)}.")
        if size < 16:
            raise ConfigError(f"size={size}: a chip needs at least 16 px.")
        if not 0 <= padding <= 2:
            raise ConfigError(f"padding={padding}: give a fraction of the template's size in [0, 2].")
        if layout == "arcface":
            arcface_template(size)  # refuses a size the template is not defined for
        self.layout, self.size, self.padding = layout, int(size), float(padding)
        self.finder = FaceFinder(5 if layout == "dlib" else 68, detect_side)

    def faces(self, image: np.ndarray) -> list[AlignedFace]:
        """Every face of a uint8 RGB photo [H, W, 3] (grey [H, W] is taken as RGB), largest first."""
        image = as_rgb(image)
        out = []
        for det in self.finder.find(image):
            if self.layout == "dlib":
                chip, points = dlib_chip(image, det.shape, self.size, self.padding), det.points()
            else:
                points = arcface_points(det.points())
                chip = arcface_chip(image, points, self.size)
            out.append(AlignedFace(chip, det.box, points))
        return out

    def largest(self, image: np.ndarray) -> AlignedFace | None:
        """The largest face's chip, or None when no face is found."""
        found = self.faces(image)
        return found[0] if found else None


def as_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W], [H, W, 1], [H, W, 3] or [H, W, 4] → uint8 [H, W, 3]."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(f"a photo must be uint8 pixels; got {image.dtype}.")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise DataError(f"a photo must be [height, width] or [height, width, 1|3|4]; got shape {image.shape}.")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def read_photo(path: str | os.PathLike) -> np.ndarray:
    """A photo file as uint8 RGB, turned upright by its EXIF orientation; an unreadable file fails naming it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = str(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file.")
    try:
        with Image.open(path) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{path}: not a readable image ({err}).") from None
