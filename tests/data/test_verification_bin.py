"""insightface's verification .bin: read back what is written (list or NumPy issame, Python 2 str images), and a
crafted file that would run code is refused before anything runs."""

import os
import pickle

import numpy as np
import pytest

from tfface.data.verification_bin import read_bin, write_bin
from tfface.errors import DataError


def test_a_bin_round_trips(tmp_path):
    images = [bytes([k]) * (10 + k) for k in range(6)]
    write_bin(tmp_path / "lfw.bin", images, [True, False, True])
    got, issame = read_bin(tmp_path / "lfw.bin")
    assert got == images and issame.tolist() == [True, False, True] and issame.dtype == bool


def test_numpy_issame_and_protocol_2_pickles_read(tmp_path):
    # older sets pickle issame as a NumPy array, some with protocol 2
    images = [b"a", b"b", b"c", b"d"]
    with open(tmp_path / "old.bin", "wb") as fh:
        pickle.dump((images, np.array([False, True])), fh, protocol=2)
    got, issame = read_bin(tmp_path / "old.bin")
    assert got == images and issame.tolist() == [False, True]


class _Payload:
    """Unpickling this calls os.system — what a malicious .bin would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_bin_carrying_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    with open(tmp_path / "evil.bin", "wb") as fh:
        pickle.dump(([b"a", b"b"], [_Payload(marker)]), fh)
    with pytest.raises(DataError, match=r"evil.bin: not loaded: it refers to posix.system.*may carry code"):
        read_bin(tmp_path / "evil.bin")
    assert not marker.exists()  # nothing ran
    with open(tmp_path / "evil.bin", "rb") as fh:  # the file is a real attack: plain pickle runs its command
        pickle.load(fh)
    assert marker.exists()


@pytest.mark.parametrize("content, message", [
    (([b"a", b"b", b"c"], [True]), "3 images for 1 pairs"),
    (([b"a", b"b"], ["yes"]), "issame must hold booleans"),
    (([1, 2], [True]), "images must be a list of encoded image bytes"),
    ({"images": []}, "expected a pair"),
])
def test_malformed_bins_are_named(tmp_path, content, message):
    with open(tmp_path / "x.bin", "wb") as fh:
        pickle.dump(content, fh)
    with pytest.raises(DataError, match=message):
        read_bin(tmp_path / "x.bin")
    (tmp_path / "y.bin").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a verification .bin|not loaded"):
        read_bin(tmp_path / "y.bin")
