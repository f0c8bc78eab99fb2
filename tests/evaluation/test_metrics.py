"""Verification metrics on hand-made cases and an LFW-format pairs file made here."""

import numpy as np
import pytest
from PIL import Image

from tfface.errors import DataError
from tfface.evaluation import metrics
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import evaluate_pairs


def test_hand_made_scores():
    # 4 positives, 4 negatives; one negative (0.7) scores above one positive (0.6)
    scores = np.array([0.9, 0.8, 0.6, 0.95, 0.7, 0.2, 0.1, 0.3])
    same = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    t = metrics.best_threshold(scores, same)
    assert 0.3 < t < 0.6 or 0.7 < t < 0.8  # 7 of 8 correct either way
    assert np.mean((scores > t) == same) == pytest.approx(7 / 8)
    far, tar = metrics.roc(scores, same)
    assert metrics.auc(far, tar) == pytest.approx(15 / 16)  # 15 of 16 pos/neg orderings right
    assert metrics.eer(far, tar) == pytest.approx(0.25)
    # FAR 0.25 -> one negative may pass -> threshold = 2nd highest negative (0.3): all 4 positives > 0.3
    assert metrics.tar_at_far(scores, same, fars=(0.25, 0.1)) == {"0.25": 1.0}  # 0.1 unsupported by 4 negatives


def test_kfold_uses_other_folds_threshold():
    # fold 0 alone would pick a threshold near 0.5; the other folds agree on ~0.5 too
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.4, 0.6])
    same = np.array([1, 0, 1, 0, 1, 0, 0, 1], bool)
    folds = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    acc, std, ths = metrics.kfold_accuracy(scores, same, folds)
    assert acc == 1.0 and std == 0.0 and len(ths) == 4
    scores[6] = 0.65  # a negative above the positive 0.6 in fold 3
    acc, _, _ = metrics.kfold_accuracy(scores, same, folds)
    assert acc == pytest.approx(7 / 8)


def _write_lfw(tmp_path, n_people=6):
    rng = np.random.default_rng(0)
    faces = rng.integers(20, 235, size=(n_people, 16, 16, 3))  # a random pattern per person
    for p in range(n_people):
        (tmp_path / f"P{p}").mkdir()
        for k in (1, 2):
            img = np.clip(faces[p] + rng.integers(-5, 5, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / f"P{p}" / f"P{p}_{k:04d}.jpg", quality=95)
    lines = ["2 3"]
    for fold in range(2):
        lines += [f"P{(fold * 3 + i) % n_people} 1 2" for i in range(3)]
        lines += [f"P{i} 1 P{(i + 1 + fold) % n_people} 2" for i in range(3)]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "pairs.txt"


def test_lfw_pairs_file_end_to_end(tmp_path):
    pairs = read_pairs(_write_lfw(tmp_path), tmp_path)
    assert len(pairs.same) == 12 and pairs.same.sum() == 6 and list(np.unique(pairs.folds)) == [0, 1]
    assert pairs.path1[0].endswith("P0/P0_0001.jpg")

    def embed(images):  # centred pixels: same person -> cosine ~1, others ~0
        import tensorflow as tf

        x = tf.reshape(tf.cast(images, tf.float32), [tf.shape(images)[0], -1]) - 127.5
        return tf.math.l2_normalize(x, axis=1)

    report, scores = evaluate_pairs(embed, pairs, 16, batch=4)
    assert report["accuracy"] == 1.0 and report["auc"] == 1.0
    assert np.all(scores[pairs.same] > 0.9) and np.all(scores[~pairs.same] < 0.5)


def test_pairs_file_naming_missing_image(tmp_path):
    path = _write_lfw(tmp_path)
    (tmp_path / "P2" / "P2_0002.jpg").unlink()
    with pytest.raises(DataError, match="P2_0002.jpg"):
        read_pairs(path, tmp_path)
    (tmp_path / "bad.txt").write_text("10 300\nP0 1 2\n")
    with pytest.raises(DataError, match="6000 pairs, found 1"):
        read_pairs(tmp_path / "bad.txt", tmp_path)


def test_roc_agrees_with_sklearn_and_tar_at_far_with_a_full_sort():
    sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is in the test extra")
    rng = np.random.default_rng(0)
    same = rng.random(20000) < 0.1
    scores = np.round(np.where(same, rng.normal(0.5, 0.2, same.size), rng.normal(0, 0.2, same.size)), 3)  # ties
    far, tar = metrics.roc(scores, same)
    fpr, tpr, _ = sklearn_metrics.roc_curve(same, scores, drop_intermediate=False)
    np.testing.assert_allclose(far, fpr)
    np.testing.assert_allclose(tar, tpr)
    neg = np.sort(scores[~same])[::-1]
    for key, value in metrics.tar_at_far(scores, same).items():
        thr = neg[int(np.floor(float(key) * len(neg)))]
        assert value == np.mean(scores[same] > thr), key
