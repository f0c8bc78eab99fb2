"""Samplers: exact P×K composition, epoch permutations, determinism and resume."""

import numpy as np
import pytest

from tfface.data import samplers
from tfface.errors import DataError


def _take(ds, n):
    return [b.numpy() for b in ds.take(n)]


def test_pk_gives_p_distinct_identities_times_k_distinct_images():
    rng = np.random.default_rng(0)
    counts = rng.integers(4, 30, size=37)
    labels = np.repeat(np.arange(37), counts)
    p, k = 8, 4
    seen = []
    for batch in _take(samplers.pk(counts, p, k, seed=1), 40):  # 40 steps > 4 epochs of 37 // 8 groups
        assert batch.shape == (p * k,)
        ids = labels[batch].reshape(p, k)
        assert (ids == ids[:, :1]).all(), "each row of K must be one identity"
        assert len(set(ids[:, 0])) == p, "P identities must be distinct"
        for row in batch.reshape(p, k):
            assert len(set(row)) == k, "K images of a class must be distinct when it has >= K"
        seen.extend(ids[:, 0])
    assert len(set(seen)) == 37  # every class gets drawn


def test_pk_at_100k_classes_stays_exact():
    counts = np.full(100_000, 5)
    batch = _take(samplers.pk(counts, 128, 4, seed=0, start_step=781), 2)  # crosses an epoch boundary
    for b in batch:
        assert len(set(b // 5)) == 128


def test_pk_small_classes_repeat_with_warning_or_refuse():
    counts = np.array([1, 2, 6, 6, 6])
    messages = []
    b = _take(samplers.pk(counts, 5, 4, log=messages.append), 1)[0]
    assert "2 of 5 classes have fewer than K=4" in messages[0]
    labels = np.repeat(np.arange(5), counts)
    assert len(set(labels[b])) == 5
    with pytest.raises(DataError, match="`pk_strict`"):
        samplers.pk(counts, 5, 4, strict=True)
    with pytest.raises(DataError, match="only 5 classes"):
        samplers.pk(counts, 6, 2)
    with pytest.raises(DataError, match="not a multiple of `pk_k=4`"):
        samplers.make_sampler("pk", counts, 10, 0, pk_k=4)


def test_uniform_is_a_permutation_per_epoch_and_resumes_exactly():
    full = np.concatenate(_take(samplers.uniform(50, 10, seed=4), 10))
    assert sorted(full[:50]) == list(range(50)) and sorted(full[50:]) == list(range(50))
    assert not np.array_equal(full[:50], full[50:])
    resumed = np.concatenate(_take(samplers.uniform(50, 10, seed=4, start_step=7), 3))
    np.testing.assert_array_equal(resumed, full[70:100])
    with pytest.raises(DataError, match="`batch_size="):
        samplers.uniform(5, 10)


def test_balanced_draws_classes_evenly_and_is_deterministic():
    counts = np.array([1000, 2, 2, 2])
    labels = np.repeat(np.arange(4), counts)
    drawn = labels[np.concatenate(_take(samplers.class_balanced(counts, 64, seed=2), 50))]
    frac = np.bincount(drawn, minlength=4) / len(drawn)
    assert np.all(np.abs(frac - 0.25) < 0.05)
    a = _take(samplers.class_balanced(counts, 8, seed=2, start_step=5), 1)[0]
    b = _take(samplers.class_balanced(counts, 8, seed=2), 6)[5]
    np.testing.assert_array_equal(a, b)
