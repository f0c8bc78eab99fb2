"""Class-centre tracking: SFT's centre update (Zhu et al. 2020, Eq. 9) on one and two replicas."""

import numpy as np
import tensorflow as tf
from sft_cases import hand_batch

from tfface.transforms.centres import ClassCentres


def test_centre_update_is_eq9_on_one_and_two_replicas():
    x, y, start, want, seen = hand_batch()
    one = ClassCentres(3, 2)
    one.centers.assign(start)
    one.update(tf.constant(x), tf.constant(y))
    np.testing.assert_allclose(one.centers.numpy(), want, atol=1e-6)
    np.testing.assert_allclose(one.seen.numpy(), seen)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        two = ClassCentres(3, 2)
    two.centers.assign(start)
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((x, y)))
    strategy.run(tf.function(two.update), args=next(iter(ds)))  # each replica holds half of the batch
    for centers, count in zip(strategy.experimental_local_results(two.centers),
                              strategy.experimental_local_results(two.seen)):
        np.testing.assert_allclose(centers.numpy(), want, atol=1e-6)
        np.testing.assert_allclose(count.numpy(), seen)
