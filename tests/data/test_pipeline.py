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
