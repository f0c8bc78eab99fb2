"""Sources, decoding, the per-replica pipeline and every bad-input error."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfface.data import pipeline, sources
from tfface.data.decode import load_image
from tfface.errors import ConfigError, DataError


def test_synthfaces_is_long_tailed_with_attributes(tiny_source):
    counts = tiny_source.class_counts
    assert counts.min() >= 3 and counts.max() > 2 * np.median(counts)
    for key in ("yaw", "pitch", "light_azimuth", "resolution", "expression"):
        assert key in tiny_source.attributes
    assert set(np.unique(tiny_source.attributes["resolution"])) <= {32.0, 16.0, 8.0}


def test_synthfaces_is_deterministic():
    from tfface.data.synthfaces import SynthFacesConfig, render, sample_identities, sample_nuisance

    cfg = SynthFacesConfig(image_size=32)
    imgs = [render(sample_identities(4, np.random.default_rng(5)),
                   sample_nuisance(4, np.random.default_rng(6), cfg), 32) for _ in range(2)]
    np.testing.assert_array_equal(imgs[0], imgs[1])
    assert imgs[0].dtype == np.uint8 and imgs[0].shape == (4, 32, 32, 3) and imgs[0].std() > 10


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


def test_batch_must_split_over_replicas():
    with pytest.raises(ConfigError, match="`batch_size=10` does not split over 4 replicas"):
        pipeline.check_batch_split(10, 4)


def test_replica_slices_reassemble_the_global_batch(tiny_source):
    cfg = pipeline.TrainInput(global_batch=16, image_size=32, sampler="pk", pk_k=4, flip=False, seed=1)
    whole = list(pipeline.train_dataset(tiny_source, cfg).take(2))
    ctx = [tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=i, num_replicas_in_sync=4)
           for i in range(2)]
    parts = [list(pipeline.train_dataset(tiny_source, cfg, 0, c).take(4)) for c in ctx]
    for step in range(2):
        # worker w, local replica r -> element 2*step + r of worker w's stream
        labels = np.concatenate([parts[w][2 * step + r][1].numpy() for w in range(2) for r in range(2)])
        np.testing.assert_array_equal(labels, whole[step][1].numpy())
        imgs = np.concatenate([parts[w][2 * step + r][0].numpy() for w in range(2) for r in range(2)])
        np.testing.assert_array_equal(imgs, whole[step][0].numpy())
