"""An image that fails to decode mid-file (a truncated PNG: header fine, data cut) is named, in training and
in embedding, by decoding the list after tf.data fails without a file name (issue 16.5)."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.config import RunConfig
from tfface.errors import DataError


def _png(path, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    path.write_bytes(tf.io.encode_png(img).numpy())


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
    from tfface.models.embed import embed_paths

    paths = []
    for i in range(4):
        _png(tmp_path / f"{i}.png", i)
        paths.append(str(tmp_path / f"{i}.png"))
    (tmp_path / "2.png").write_bytes((tmp_path / "2.png").read_bytes()[:300])
    with pytest.raises(DataError, match="2.png"):
        embed_paths(lambda x: tf.reshape(tf.cast(x, tf.float32), [tf.shape(x)[0], -1]), paths, 32)
