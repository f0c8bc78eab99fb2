"""Sources: image folders, list files, and the errors that name the bad file."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfface.data import sources
from tfface.data.decode import load_image
from tfface.errors import DataError


def test_image_folder_and_grayscale(tmp_path):
    for ident in ("bob", "amy"):
        (tmp_path / ident).mkdir()
        for i in range(2):
            Image.fromarray(np.full((20, 24), 100 + i, np.uint8)).save(tmp_path / ident / f"{i}.png")
    src = sources.from_image_folder(tmp_path)
    assert src.class_names == ("amy", "bob") and list(src.labels) == [0, 0, 1, 1]
    img = load_image(tf.constant(src.paths[0]), 32)
    assert img.shape == (32, 32, 3) and img.dtype == tf.uint8
    assert int(img[5, 5, 0]) == int(img[5, 5, 2]) == 100


def test_missing_image_names_the_file(tmp_path):
    (tmp_path / "list.csv").write_text("path,identity\na/1.png,a\na/2.png,a\n")
    src = sources.from_list_file(tmp_path / "list.csv")
    with pytest.raises(DataError, match=r"a/1\.png.*2 of 2 missing"):
        src.check_files_exist()


def test_unreadable_image_names_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_text("this is not a jpeg")
    with pytest.raises(tf.errors.InvalidArgumentError, match="broken.jpg"):
        load_image(tf.constant(str(bad)), 32)


def test_bad_list_header_and_label_out_of_range(tmp_path):
    (tmp_path / "l.csv").write_text("file,who\nx.png,a\n")
    with pytest.raises(DataError, match="path,identity"):
        sources.from_list_file(tmp_path / "l.csv")
    with pytest.raises(DataError, match="out of range"):
        sources.Source(np.array(["a", "b"]), np.array([0, 3]), ("x", "y"), origin="t")


def test_a_list_row_without_an_identity_names_its_line(tmp_path):
    (tmp_path / "l.csv").write_text("path,identity\na.png,x\nb.png,\nc.png,y\n")
    with pytest.raises(DataError, match="l.csv line 3: no identity"):
        sources.from_list_file(tmp_path / "l.csv")
    (tmp_path / "short.csv").write_text("path,identity\na.png\n")
    with pytest.raises(DataError, match="short.csv line 2: no identity"):
        sources.from_list_file(tmp_path / "short.csv")
