"""DDL's batches: b positive pairs and b distinct identities per partition and replica, from offline pairs."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.data import pipeline
from tfface.data.ddl_sampling import (
    Partition,
    attribute_partitions,
    ddl_dataset,
    list_partitions,
    load_pairs,
    partition_indices,
    positive_pairs,
    save_pairs,
)
from tfface.errors import DataError


@pytest.fixture(scope="module")
def parts(tiny_source):
    p = attribute_partitions(tiny_source, "yaw", [(0.0, 20.0), (20.0, 90.0)])
    pairs = [positive_pairs(tiny_source.labels, x.indices, seed=k) for k, x in enumerate(p)]
    return p, pairs


def test_partitions_and_offline_pairs(tiny_source, parts, tmp_path):
    p, pairs = parts
    yaw = np.abs(tiny_source.attributes["yaw"])
    assert np.all(yaw[p[0].indices] <= 20) and np.all(yaw[p[1].indices] >= 20)
    for part, pr in zip(p, pairs):
        assert len(pr) > 0 and np.all(np.isin(pr, part.indices))
        assert np.all(tiny_source.labels[pr[:, 0]] == tiny_source.labels[pr[:, 1]]) and np.all(pr[:, 0] != pr[:, 1])
    save_pairs(str(tmp_path / "pairs.csv"), tiny_source, pairs[1])
    np.testing.assert_array_equal(load_pairs(str(tmp_path / "pairs.csv"), tiny_source), pairs[1])
    listed = tmp_path / "teacher.csv"
    listed.write_text("path\n" + "\n".join(tiny_source.paths[p[0].indices]) + "\n")
    np.testing.assert_array_equal(list_partitions(tiny_source, [str(listed)], root="/")[0].indices, p[0].indices)


def test_each_step_has_b_pairs_and_b_distinct_identities(tiny_source, parts):
    p, pairs = parts
    draw = partition_indices(tiny_source, p[1], pairs[1], 6, seed=4)
    for step in (0, 1, 7):
        pair_images, neg, neg_labels = (t.numpy() for t in draw(tf.constant(step, tf.int64)))
        assert pair_images.shape == (12,) and neg.shape == (6,)
        lab = tiny_source.labels
        assert np.all(lab[pair_images[0::2]] == lab[pair_images[1::2]])  # b positive pairs
        assert len(set(lab[neg].tolist())) == 6 and np.all(neg_labels == lab[neg])  # b distinct identities
        assert np.all(np.isin(np.concatenate([pair_images, neg]), p[1].indices))  # all from the partition
    again = draw(tf.constant(7, tf.int64))[0].numpy()
    np.testing.assert_array_equal(again, pair_images)  # deterministic in (seed, step)


def test_dataset_layout_and_two_replicas_share_the_global_draw(tiny_source, parts):
    p, pairs = parts
    cfg = pipeline.TrainInput(8, 32, seed=1)
    one = next(iter(ddl_dataset(tiny_source, p, pairs, cfg, pairs_per_replica=4)))
    (images, labels), student_parts = one
    assert images.shape == (8, 32, 32, 3) and len(student_parts) == 2
    pair_img, pair_lab, neg_img, neg_lab = student_parts[1]
    assert pair_img.shape == (8, 32, 32, 3) and neg_img.shape == (4, 32, 32, 3) and pair_img.dtype == tf.uint8
    np.testing.assert_array_equal(pair_lab.numpy()[0::2], pair_lab.numpy()[1::2])
    ctx = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)
    it = iter(ddl_dataset(tiny_source, p, pairs, cfg, pairs_per_replica=2, input_context=ctx))
    (_, a), (_, b) = next(it), next(it)  # the two replicas of step 0
    for k in range(2):
        for j in (1, 3):
            np.testing.assert_array_equal(np.concatenate([a[k][j].numpy(), b[k][j].numpy()]), one[1][k][j].numpy())


def test_refuses_partitions_it_cannot_fill(tiny_source):
    tiny = attribute_partitions(tiny_source, "yaw", [(0.0, 1.0), (0.0, 90.0)])
    pairs = [positive_pairs(tiny_source.labels, x.indices) for x in tiny]
    cfg = pipeline.TrainInput(8, 32)
    with pytest.raises(DataError, match="partition teacher: .* needs 64 distinct identities"):
        ddl_dataset(tiny_source, tiny, pairs, cfg, pairs_per_replica=64)
    one_per_id = np.unique(tiny_source.labels, return_index=True)[1]  # every identity once: no pairs
    lonely = [Partition("teacher", one_per_id), Partition("student1", one_per_id)]
    with pytest.raises(DataError, match="no positive pairs"):
        ddl_dataset(tiny_source, lonely, [positive_pairs(tiny_source.labels, x.indices) for x in lonely], cfg, 2)
