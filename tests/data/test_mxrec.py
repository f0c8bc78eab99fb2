"""Training straight from an insightface-style .rec: our images written as RecordIO, read back through the
index, give the very batches the list file of the same images gives, under every sampler."""

import numpy as np
import pytest

from tfface.data import recordio
from tfface.data.augment import Augment
from tfface.data.mxrec import RecReader, index_rec, rec_train_dataset
from tfface.data.pipeline import TrainInput, train_dataset
from tfface.errors import DataError


def write_insightface_rec(source, folder, magic_in=()):
    """``source``'s images (in its label order) as insightface lays a set out: header at key 0, images at
    1 … n, one record per identity; rows in ``magic_in`` get the RecordIO magic inside their payload."""
    n = len(source)
    payloads = {0: recordio.pack_image_record([n + 1, n + 1 + source.num_classes], b"")}
    for k, (path, label) in enumerate(zip(source.paths, source.labels)):
        data = open(path, "rb").read()
        if k in magic_in:  # appended after the image's end: decoders ignore it; the framing must not
            data += b"\0" * (-(len(data) + 8 + recordio.IR_SIZE) % 4) + recordio.MAGIC_BYTES + b"tail"
        payloads[k + 1] = recordio.pack_image_record([float(label), 1.0] if k % 3 == 0 else float(label), data)
    for c in range(source.num_classes):
        keys = np.flatnonzero(source.labels == c) + 1
        payloads[n + 1 + c] = recordio.pack_image_record([keys[0], keys[-1] + 1], b"")
    recordio.write_rec(folder / "train.rec", payloads)
    (folder / "property").write_text(f"{source.num_classes},32,32\n")
    return str(folder / "train.rec")


@pytest.mark.parametrize("sampler", ["pk", "balanced", "uniform"])
def test_a_rec_gives_the_batches_of_the_same_list(tiny_source, tmp_path, sampler):
    rec = write_insightface_rec(tiny_source, tmp_path, magic_in={2, 7})
    index = index_rec(rec, log=lambda s: None)
    assert index.labels.tolist() == tiny_source.labels.tolist() and index.num_classes == tiny_source.num_classes
    assert set(index.split) == {2, 7}  # the two records cut in parts
    images = RecReader(index).read(np.array([1, 2, 7]))
    assert [bytes(b)[:len(open(p, "rb").read())] for b, p in zip(images, tiny_source.paths[[1, 2, 7]])] == \
        [open(p, "rb").read() for p in tiny_source.paths[[1, 2, 7]]]
    assert bytes(images[1]).endswith(recordio.MAGIC_BYTES + b"tail")  # the magic put back between the parts
    cfg = TrainInput(16, 32, sampler, 4, False, True, 3, Augment())
    for start in (0, 5):  # and from a resumed step
        ours = [batch for batch in rec_train_dataset(index, cfg, start).take(3)]
        want = [batch for batch in train_dataset(tiny_source, cfg, start).take(3)]
        for (images, labels), (want_images, want_labels) in zip(ours, want):
            np.testing.assert_array_equal(images.numpy(), want_images.numpy())
            np.testing.assert_array_equal(labels.numpy(), want_labels.numpy())


def test_two_replicas_see_the_one_device_batch(tiny_source, tmp_path):
    import tensorflow as tf

    index = index_rec(write_insightface_rec(tiny_source, tmp_path), log=lambda s: None)
    cfg = TrainInput(16, 32, "pk", 4, False, True, 3, Augment())
    one = [batch for batch in rec_train_dataset(index, cfg).take(2)]
    halves = [batch for batch in rec_train_dataset(index, cfg, 0, tf.distribute.InputContext(
        num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)).take(4)]
    for step in range(2):
        for part in range(2):  # images, labels
            np.testing.assert_array_equal(np.concatenate([halves[2 * step + r][part] for r in range(2)]),
                                          one[step][part])


def test_a_label_beyond_the_property_is_named(tiny_source, tmp_path):
    rec = write_insightface_rec(tiny_source, tmp_path)
    (tmp_path / "property").write_text("5,32,32\n")
    with pytest.raises(DataError, match=r"train.rec record \d+: label \d+ is outside the 5 classes of .*property"):
        index_rec(rec, log=lambda s: None)


def test_train_runs_on_a_rec_and_other_sources_refuse_it(tiny_source, tmp_path):
    from tfface.config import RunConfig
    from tfface.errors import ConfigError
    from tfface.programs.training import train

    rec = write_insightface_rec(tiny_source, tmp_path)
    said = []
    base = RunConfig.of(rec=rec, image_size=32, embedding_size=16, batch_size=16, steps=2, log_every=1,
                        sampler="pk", eval_pairs="", workdir=str(tmp_path / "w"))
    train(base, said.append)
    assert any(f"{len(tiny_source)} images of {tiny_source.num_classes} identities" in s for s in said)
    assert (tmp_path / "w" / "export" / "saved_model.pb").exists()
    with pytest.raises(ConfigError, match="`rec=.*` is not read: the training data is `data=list`"):
        train(base.replace(data="list", list_file="x.csv", workdir=str(tmp_path / "v")), lambda s: None)
