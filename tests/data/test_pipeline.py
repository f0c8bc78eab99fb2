"""The per-replica input pipeline: batches split over replicas and reassemble the global batch."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.data import pipeline
from tfface.errors import ConfigError


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


def test_augmented_batches_are_the_same_on_any_replica_count_and_after_a_resume(tiny_source):
    from tfface.data.augment import PRESETS

    cfg = pipeline.TrainInput(global_batch=8, image_size=32, sampler="pk", pk_k=4, seed=2, augment=PRESETS["heavy"])
    whole = [b[0].numpy() for b in pipeline.train_dataset(tiny_source, cfg).take(3)]
    plain = [b[0].numpy() for b in pipeline.train_dataset(
        tiny_source, pipeline.TrainInput(8, 32, sampler="pk", pk_k=4, seed=2)).take(3)]
    assert all(not np.array_equal(a, p) for a, p in zip(whole, plain))
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)
    halves = [b[0].numpy() for b in pipeline.train_dataset(tiny_source, cfg, 0, context).take(6)]
    for step in range(3):
        np.testing.assert_array_equal(np.concatenate(halves[2 * step:2 * step + 2]), whole[step])
    resumed = next(iter(pipeline.train_dataset(tiny_source, cfg, start_step=2)))[0].numpy()
    np.testing.assert_array_equal(resumed, whole[2])
