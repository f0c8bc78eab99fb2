"""Identity-disjoint splits and balanced pairs, checked on small hand-made label sets."""

import numpy as np
import pytest

from tfface.data.splits import balanced_pairs, genuine_available, split_identities
from tfface.errors import DataError


def test_splits_are_identity_disjoint_and_sized_by_identities():
    identities = np.repeat([f"p{i}" for i in range(20)], 3)
    masks = split_identities(identities, {"val": 0.1, "test": 0.2}, seed=0)
    assert set(masks) == {"val", "test", "train"}
    people = {k: set(identities[m]) for k, m in masks.items()}
    assert [len(people[k]) for k in ("val", "test", "train")] == [2, 4, 14]
    assert not (people["val"] & people["test"] or people["val"] & people["train"] or people["test"] & people["train"])
    assert sum(m.sum() for m in masks.values()) == len(identities)  # every image in exactly one split
    again = split_identities(identities, {"val": 0.1, "test": 0.2}, seed=0)
    assert all((again[k] == masks[k]).all() for k in masks)  # seeded
    other = split_identities(identities, {"val": 0.1, "test": 0.2}, seed=1)
    assert any((other[k] != masks[k]).any() for k in masks)
    with pytest.raises(DataError, match="3 identities cannot give val 2, test 1"):
        split_identities(np.array(["a", "b", "c"]), {"val": 0.5, "test": 0.2})


def test_pairs_are_balanced_distinct_and_spread_over_people():
    identities = np.array(["a"] * 6 + ["b"] * 2 + ["c"] * 3 + ["d"] * 1)  # d has no genuine pair
    assert genuine_available(identities) == 15 + 1 + 3
    draw = balanced_pairs(identities, 12, seed=0, folds=2)
    assert len(draw.same) == 12 and draw.same.sum() == 6
    for fold in (0, 1):  # each fold holds both kinds equally
        assert draw.same[draw.fold == fold].sum() == 3 and (~draw.same[draw.fold == fold]).sum() == 3
    same_person = identities[draw.first] == identities[draw.second]
    assert (same_person == draw.same).all() and (draw.first != draw.second).all()
    pairs = {tuple(sorted(p)) for p in zip(draw.first, draw.second)}
    assert len(pairs) == 12  # no pair twice
    genuine_people = identities[draw.first[draw.same]]
    # round robin: a, b and c each give one pair before any gives a second; b has only one
    assert sorted(genuine_people.tolist()) == ["a", "a", "a", "b", "c", "c"]


def test_pairs_asked_beyond_what_the_people_give_are_refused():
    with pytest.raises(DataError, match="give only 1"):
        balanced_pairs(np.array(["a", "a", "b"]), 4, folds=1)
    with pytest.raises(DataError, match="cannot fill 10 folds"):
        balanced_pairs(np.array(["a", "a", "b"]), 10)
