"""Face detection and landmarks with dlib: its HOG frontal face detector and its shape predictors, read from
the model files a registry package ships (``face_recognition_models``); nothing is downloaded at run time.

The 5-point model (CC0) gives, in order, the outer and inner corner of the eye on the image's right, the
outer and inner corner of the eye on the image's left, and the base of the nose. The 68-point model gives
the iBUG 300-W points; its training data restricts commercial use (see its licence), and it is loaded only
for the ArcFace layout, which needs the mouth corners.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import numpy as np

from tfface.errors import ConfigError

MODEL_PACKAGE = "face_recognition_models"
FIVE_POINT_FILE = "shape_predictor_5_face_landmarks.dat"
SIXTY_EIGHT_POINT_FILE = "shape_predictor_68_face_landmarks.dat"
INSTALL = "pip install 'tfface[align]'"


def _dlib():
    try:
        import dlib
    except ImportError:
        raise ConfigError(f"aligning photos needs dlib and its model files: {INSTALL}") from None
    return dlib


def model_file(name: str) -> str:
    """Path of a dlib model file shipped by the model package (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"aligning photos needs dlib's model files from the {MODEL_PACKAGE} package: {INSTALL}")
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", name)
    if not os.path.isfile(path):
        raise ConfigError(f"{path} is missing from the {MODEL_PACKAGE} package; reinstall it: {INSTALL}")
    return path


@dataclasses.dataclass(frozen=True)
class Detection:
    """One face: its box (left, top, right, bottom) in the photo's pixels and its landmarks (dlib's shape)."""

    box: tuple[int, int, int, int]
    shape: object  # dlib.full_object_detection

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return (right - left) * (bottom - top)

    def points(self) -> np.ndarray:
        """The landmarks as float [P, 2] (x, y) pixel coordinates."""
        return np.array([[p.x, p.y] for p in self.shape.parts()], np.float64)


class FaceFinder:
    """dlib's frontal face detector (1× upsampling, 2× when nothing was found) on a copy scaled down to at most
    ``detect_side`` px on the longer side, then landmarks on the full-resolution photo inside the box scaled
    back: the procedure the aligned CelebA set was made with."""

    def __init__(self, points: int = 5, detect_side: int = 640):
        if points not in (5, 68):
            raise ConfigError(f"points={points}: dlib's shape predictors give 5 or 68 points.")
        dlib = _dlib()
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(model_file(FIVE_POINT_FILE if points == 5 else SIXTY_EIGHT_POINT_FILE))
        self.detect_side = int(detect_side)

    def find(self, image: np.ndarray) -> list[Detection]:
        """Every face in a uint8 RGB photo [H, W, 3], largest first."""
        scale = min(1.0, self.detect_side / max(image.shape[:2]))
        small = image if scale == 1.0 else _resized(image, scale)
        rects = self.detector(small, 1) or self.detector(small, 2)
        found = []
        for r in rects:
            box = tuple(int(round(v / scale)) for v in (r.left(), r.top(), r.right(), r.bottom()))
            shape = self.predictor(image, self._dlib.rectangle(*box))
            found.append(Detection(box, shape))
        return sorted(found, key=lambda d: -d.area)


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.LANCZOS))
