"""train.py checks its verification pairs file before the first step."""

import numpy as np
import pytest
from PIL import Image

from tfface.data.sources import from_image_folder
from tfface.errors import DataError
from tfface.runtime.run import check_pairs_file


def faces(root, people, per_person=2):
    for p in people:
        (root / p).mkdir(parents=True)
        for k in range(per_person):
            Image.fromarray(np.full((8, 8, 3), 10 * k, np.uint8)).save(root / p / f"{k}.png")
    return root


def pairs_csv(path, rows):
    path.write_text("path1,path2,same\n" + "".join(f"{a},{b},{s}\n" for a, b, s in rows * 5))
    return str(path)


def test_a_pairs_file_disjoint_from_training_passes_quietly(tmp_path):
    train = from_image_folder(faces(tmp_path / "train", ["a", "b"]))
    faces(tmp_path / "held", ["c", "d"])
    said = []
    check_pairs_file(pairs_csv(tmp_path / "held" / "p.csv", [("c/0.png", "c/1.png", 1), ("c/0.png", "d/0.png", 0)]),
                     None, train, said.append)
    assert said == []


def test_undecodable_pair_images_fail_before_training(tmp_path):
    held = faces(tmp_path / "held", ["c", "d"])
    (held / "d" / "1.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(DataError, match=r"1 of its 4 images do not decode, e.g. .*d/1.png"):
        check_pairs_file(pairs_csv(held / "p.csv", [("c/0.png", "c/1.png", 1), ("d/0.png", "d/1.png", 0)]),
                         None, None)


def test_training_images_and_people_in_the_pairs_are_warned_about(tmp_path):
    root = faces(tmp_path / "all", ["a", "b"])
    train = from_image_folder(root)
    said = []
    check_pairs_file(pairs_csv(root / "p.csv", [("a/0.png", "a/1.png", 1), ("a/0.png", "b/0.png", 0)]), None,
                     train, said.append)
    assert len(said) == 2
    assert "3 of the 3 images of" in said[0] and "are training images" in said[0]
    assert "2 of the people in" in said[1] and "tfface-split" in said[1]
