"""1:N with distractors: the streamed running maximum against brute-force nearest neighbour over the gallery
plus the first D shuffled distractors."""

import numpy as np

from tfface.evaluation.distractors import decades, rank1_with_distractors


def test_decades():
    assert decades(5) == [0, 5] and decades(2500) == [0, 10, 100, 1000, 2500] and decades(100) == [0, 10, 100]


def test_rank1_equals_brute_force_nearest_neighbour_for_every_d():
    rng = np.random.default_rng(0)
    n_ids, dim = 40, 16
    centres = rng.normal(size=(n_ids, dim))
    gallery = centres + 0.6 * rng.normal(size=(n_ids, dim))
    probe_labels = np.repeat(np.arange(n_ids), 3)
    probes = centres[probe_labels] + 0.6 * rng.normal(size=(len(probe_labels), dim))
    distractors = rng.normal(size=(700, dim)) * 1.2
    sizes = [0, 10, 100, 700]
    got = rank1_with_distractors(gallery, np.arange(n_ids), probes, probe_labels, distractors, sizes, block=64)
    order = np.random.default_rng(0).permutation(len(distractors))

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    for d in sizes:
        items = np.concatenate([gallery, distractors[order[:d]]])
        labels = np.concatenate([np.arange(n_ids), np.full(d, -1)])
        nearest = labels[np.argmax(unit(probes) @ unit(items).T, axis=1)]
        assert got[d] == np.mean(nearest == probe_labels), d
    assert got[0] > got[700]  # distractors can only take rank 1 away



def test_ida_scores_equal_brute_force_log_dao_nearest_neighbour():
    rng = np.random.default_rng(3)
    n_ids, dim = 25, 8
    centres = rng.normal(size=(n_ids, dim))
    gallery = centres + 0.7 * rng.normal(size=(n_ids, dim))
    probe_labels = np.repeat(np.arange(n_ids), 2)
    probes = centres[probe_labels] + 0.7 * rng.normal(size=(len(probe_labels), dim))
    distractors = rng.normal(size=(300, dim))
    lg, lp, ld = rng.normal(size=n_ids), rng.normal(size=len(probes)), rng.normal(size=300)
    tau, sizes = 2.0, [0, 10, 300]
    got = rank1_with_distractors(gallery, np.arange(n_ids), probes, probe_labels, distractors, sizes, block=32,
                                 log_density=(lg, lp, ld), tau=tau)
    order = np.random.default_rng(0).permutation(len(distractors))

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    for d in sizes:
        items = np.concatenate([gallery, distractors[order[:d]]])
        l_items = np.concatenate([lg, ld[order[:d]]])
        labels = np.concatenate([np.arange(n_ids), np.full(d, -1)])
        dao = tau * unit(probes) @ unit(items).T + np.logaddexp(lp[:, None], l_items[None, :])
        assert got[d] == np.mean(labels[np.argmax(dao, axis=1)] == probe_labels), d
    cosine = rank1_with_distractors(gallery, np.arange(n_ids), probes, probe_labels, distractors, sizes, block=32)
    assert cosine != got  # the densities change who is nearest
