"""Inputs that used to pass unchecked (issue 16.5): a truncated image names its file, a list row without an
identity names its line, pair labels other than yes/no/true/false/1/0 are refused, and a pairs file with only
one kind of pair is refused instead of reporting AUC 0 / EER 0 / 99% accuracy."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.config import RunConfig
from tfface.data.sources import from_list_file
from tfface.errors import DataError
from tfface.evaluation.pairs import read_csv_pairs


def _png(path, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    path.write_bytes(tf.io.encode_png(img).numpy())


def test_a_list_row_without_an_identity_names_its_line(tmp_path):
    (tmp_path / "l.csv").write_text("path,identity\na.png,x\nb.png,\nc.png,y\n")
    with pytest.raises(DataError, match="l.csv line 3: no identity"):
        from_list_file(tmp_path / "l.csv")
    (tmp_path / "short.csv").write_text("path,identity\na.png\n")
    with pytest.raises(DataError, match="short.csv line 2: no identity"):
        from_list_file(tmp_path / "short.csv")


@pytest.mark.parametrize("word,same", [("yes", True), ("no", False), ("True", True), ("false", False), ("1", True),
                                       ("0", False)])
def test_pair_labels_in_words_are_read(tmp_path, word, same):
    rows = [f"a.png,b.png,{word}"] + [f"a.png,b.png,{1 - int(same)}"] * 10
    (tmp_path / "p.csv").write_text("path1,path2,same\n" + "\n".join(rows) + "\n")
    assert bool(read_csv_pairs(tmp_path / "p.csv").same[0]) is same


def test_an_unknown_pair_label_is_refused(tmp_path):
    (tmp_path / "p.csv").write_text("path1,path2,same\n" + "a.png,b.png,maybe\n" + "a.png,b.png,1\n" * 10)
    with pytest.raises(DataError, match="p.csv line 2: `same=maybe`"):
        read_csv_pairs(tmp_path / "p.csv")


def test_pairs_of_one_kind_are_refused(tmp_path):
    (tmp_path / "p.csv").write_text("path1,path2,same\n" + "a.png,b.png,1\n" * 20)
    with pytest.raises(DataError, match="20 genuine and 0 impostor pairs"):
        read_csv_pairs(tmp_path / "p.csv")


def test_a_truncated_image_in_training_names_its_file(tmp_path):
    from tfface.programs.training import train

    rows = []
    for i in range(16):
        _png(tmp_path / f"{i}.png", i)
        rows.append(f"{i}.png,id{i % 4}")
    good = (tmp_path / "5.png").read_bytes()
    (tmp_path / "5.png").write_bytes(good[:300])  # a truncated PNG: the header is fine, the data is not
    (tmp_path / "l.csv").write_text("path,identity\n" + "\n".join(rows) + "\n")
    cfg = RunConfig.of(data="list", list_file=str(tmp_path / "l.csv"), image_size=32, embedding_size=8, batch_size=8,
                       steps=3, eval_pairs="", workdir=str(tmp_path / "w"))
    with pytest.raises(DataError, match="5.png"):
        train(cfg, lambda s: None)


def test_a_truncated_image_in_evaluation_names_its_file(tmp_path):
    from tfface.evaluation.verification import embed_paths

    paths = []
    for i in range(4):
        _png(tmp_path / f"{i}.png", i)
        paths.append(str(tmp_path / f"{i}.png"))
    (tmp_path / "2.png").write_bytes((tmp_path / "2.png").read_bytes()[:300])
    with pytest.raises(DataError, match="2.png"):
        embed_paths(lambda x: tf.reshape(tf.cast(x, tf.float32), [tf.shape(x)[0], -1]), paths, 32)
