"""insightface's verification sets (``lfw.bin``, ``cfp_fp.bin``, ``agedb_30.bin``, …) read safely, and written.

A ``.bin`` is a pickle of ``(images, issame)``: ``images`` a list of 2·P encoded images (JPEG or PNG bytes), the
pairs being images 2i and 2i+1; ``issame`` P booleans (a list, or a NumPy bool array). A pickle can name any
Python function to call while loading, so the file is read by a restricted unpickler that admits only what such
a file holds — bytes, lists, tuples, booleans and NumPy arrays — and refuses anything else before it runs.
"""

from __future__ import annotations

import io
import os
import pathlib
import pickle

import numpy as np

from tfface.errors import DataError

# the only callables a verification .bin's pickle may name: NumPy rebuilding an array of booleans, and the
# bytes decoding pickle protocol 2 uses for bytes written by Python 3 (neither can run code)
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}")
        return super().find_class(module, name)


def read_bin(path: str | os.PathLike) -> tuple[list[bytes], np.ndarray]:
    """(the 2·P encoded images, issame [P] bool) of a verification ``.bin``; a file that is no such pickle, or
    that names anything but NumPy's array rebuilding, is refused without running it."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not found.")
    try:
        loaded = _Restricted(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except pickle.UnpicklingError as err:
        raise DataError(f"{path}: not loaded: {err}. A verification .bin holds only images and booleans; this "
                        "file may carry code, do not open it with pickle.") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise DataError(f"{path}: not a verification .bin (a pickle of images and booleans): {err}.") from None
    if not (isinstance(loaded, (tuple, list)) and len(loaded) == 2):
        raise DataError(f"{path}: expected a pair (images, issame), got {type(loaded).__name__}.")
    images, issame = loaded
    if isinstance(images, np.ndarray):
        images = list(images)
    if not isinstance(images, (list, tuple)) or not all(isinstance(b, (bytes, bytearray, np.bytes_)) for b in images):
        raise DataError(f"{path}: its images must be a list of encoded image bytes.")
    issame = np.asarray(issame)
    if issame.dtype != bool and not (issame.dtype.kind in "iu" and np.isin(issame, (0, 1)).all()):
        raise DataError(f"{path}: issame must hold booleans, got {issame.dtype}.")
    if issame.ndim != 1 or len(images) != 2 * len(issame):
        raise DataError(f"{path}: {len(images)} images for {issame.size} pairs; a .bin holds two images per pair.")
    return [bytes(b) for b in images], issame.astype(bool)


def write_bin(path: str | os.PathLike, images: list[bytes], issame) -> None:
    """Write a verification ``.bin`` as insightface does (images 2i, 2i+1 are pair i)."""
    issame = [bool(v) for v in issame]
    if len(images) != 2 * len(issame):
        raise DataError(f"{path}: {len(images)} images for {len(issame)} pairs; give two images per pair.")
    with open(path, "wb") as fh:
        pickle.dump(([bytes(b) for b in images], issame), fh, protocol=pickle.HIGHEST_PROTOCOL)
