"""The evaluation code on real faces: ../shared/data's images and its precomputed dlib descriptors
(skipped with the reason when the research data is not beside the clone)."""

import numpy as np
import tensorflow as tf

from tfface.data.decode import load_image
from tfface.data.sources import from_list_file
from tfface.evaluation.metrics import verification_report
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.retrieval import recall_at_k


def test_celeba_pairs_with_dlib_descriptors(shared_data):
    pairs = read_pairs(shared_data / "celeba" / "pairs.csv")  # also checks that all 1,723 images exist
    npz = np.load(shared_data / "embeddings" / "celeba_dlib128.npz")
    index = {str(shared_data / "celeba" / p): i for i, p in enumerate(npz["paths"])}
    f = npz["features"]
    a, b = f[[index[p] for p in pairs.path1]], f[[index[p] for p in pairs.path2]]
    scores = -np.linalg.norm(a - b, axis=1)  # dlib's rule is Euclidean distance
    # the data README reports 93.85% at dlib's fixed threshold 0.6: reproduce it exactly
    assert np.mean((-scores < 0.6) == pairs.same) == 0.9385
    # thresholds chosen on the other nine folds land within a point of it
    report = verification_report(scores, pairs.same, pairs.folds)
    assert 0.925 <= report["accuracy"] <= 0.95 and report["auc"] > 0.95


def test_att_leave_one_out_and_grayscale_decode(shared_data):
    npz = np.load(shared_data / "embeddings" / "att_dlib128.npz")
    # the data README reports 100% leave-one-out 1-NN (Euclidean); cosine on these descriptors agrees
    assert recall_at_k(npz["features"], npz["labels"], ks=(1,))["1"] >= 0.99
    src = from_list_file(shared_data / "att" / "meta.csv")
    assert src.num_classes == 40 and len(src) == 400
    img = load_image(tf.constant(src.paths[0]), 64)  # 92×112 grayscale PNG -> 64×64×3
    assert img.shape == (64, 64, 3) and bool(tf.reduce_all(img[..., 0] == img[..., 2]))
