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


def _list(tmp_path, body: str, name: str = "list.csv"):
    (tmp_path / name).write_text("path,identity\n" + body)
    return tmp_path / name


@pytest.mark.parametrize("twin", [" s1", "S1", "s1 "])
def test_identities_that_differ_only_in_case_or_spaces_are_refused(tmp_path, twin):
    # " s1" or "S1" beside "s1" used to become a new class, splitting one person in two
    lst = _list(tmp_path, f"a.png,s1\nb.png,{twin}\nc.png,s2\n")
    with pytest.raises(DataError, match=r"identities .* and .* differ only in letter case or surrounding spaces"):
        sources.from_list_file(lst)
    (tmp_path / "root" / "s1").mkdir(parents=True)
    (tmp_path / "root" / twin).mkdir()
    for folder in ("s1", twin):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "root" / folder / "0.png")
    with pytest.raises(DataError, match="differ only in letter case"):
        sources.from_image_folder(tmp_path / "root")


def test_a_repeated_image_is_refused_naming_both_lines(tmp_path):
    lst = _list(tmp_path, "a.png,s1\nb.png,s1\n./a.png,s1\nc.png,s2\nb.png,s2\n")
    with pytest.raises(DataError, match=r"2 row\(s\) name an image an earlier row names, e.g. line 4 repeats line 2"):
        sources.from_list_file(lst)


def test_a_row_with_more_or_fewer_fields_than_the_header_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"line 3: 3 fields, but the header has 2"):
        sources.from_list_file(_list(tmp_path, "a.png,s1\nb.png,s1,extra\n"))
    (tmp_path / "attr.csv").write_text("path,identity,pose\na.png,s1,3\nb.png,s2\n")
    with pytest.raises(DataError, match=r"line 3: 2 fields, but the header has 3"):
        sources.from_list_file(tmp_path / "attr.csv")


def test_paths_outside_a_given_root_are_refused(tmp_path):
    root = tmp_path / "images"
    for body, word in ((f"{tmp_path}/x.png,s1\nb.png,s2\n", "absolute"), ("../x.png,s1\nb.png,s2\n", "outside")):
        with pytest.raises(DataError, match=rf"line 2: .*x.png is {word} the root folder {root}"):
            sources.from_list_file(_list(tmp_path, body), root)
        sources.from_list_file(_list(tmp_path, body))  # no root given: relative to the list, or absolute
