"""tfface.load(): scores equal evaluate.py's and the served signature's, calibrated thresholds hold on held-out
pairs, the docstring's examples run, bad input is refused clearly."""

import csv
import doctest
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfface
from tfface import api
from tfface.errors import ConfigError, DataError
from tfface.evaluation.calibration import far_interval
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import evaluate_pairs
from tfface.export.saved_model import export_saved_model, load_embedder
from tfface.models.backbones import build_backbone
from tfface.runtime.verify import verify_saved_model


def celeba_halves(shared_data, per_identity=4):
    """Two identity-disjoint sets of detected CelebA chips (paths, identities): every other identity, up to
    ``per_identity`` images of each."""
    root = shared_data / "celeba"
    rows = [r for r in csv.DictReader(open(root / "meta.csv")) if r["detected"] == "1"]
    ids = sorted({r["identity"] for r in rows})
    halves = []
    for chosen in (ids[::2], ids[1::2]):
        picked = [r for i in chosen for r in [r for r in rows if r["identity"] == i][:per_identity]]
        halves.append(([str(root / r["path"]) for r in picked], np.array([r["identity"] for r in picked])))
    return halves


def sampled_pairs(identities, impostors=20_000, seed=0):
    """(i, j, same): every genuine pair, and ``impostors`` distinct impostor pairs drawn at random, so that no
    identity dominates the impostor scores."""
    i, j = np.triu_indices(len(identities), 1)
    same = identities[i] == identities[j]
    drawn = np.random.default_rng(seed).choice(np.flatnonzero(~same), impostors, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(same), drawn]))
    return i[keep], j[keep], same[keep]


def write_pairs(path, paths, identities):
    """:func:`sampled_pairs` of the images as a pairs CSV."""
    i, j, same = sampled_pairs(identities)
    with open(path, "w") as fh:
        fh.write("path1,path2,same\n")
        fh.writelines(f"{paths[a]},{paths[b]},{int(s)}\n" for a, b, s in zip(i, j, same))
    return str(path)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, shared_data):
    """An (untrained, fixed-seed) model calibrated with evaluate.py's --calibrate on all pairs of one half."""
    tmp = tmp_path_factory.mktemp("api")
    keras.utils.set_random_seed(0)
    model = export_saved_model(build_backbone("small_cnn", 64, 32), tmp / "export", 64)
    (cal_paths, cal_ids), held_out = celeba_halves(shared_data)
    pairs = write_pairs(tmp / "calibration.csv", cal_paths, cal_ids)
    verify_saved_model(model, pairs, None, str(tmp / "eval"), write_calibration=True)
    return model, pairs, held_out


def test_verify_scores_equal_evaluate_and_the_served_signature(calibrated):
    model, pairs_file, _ = calibrated
    pairs = read_pairs(pairs_file)
    pick = slice(0, 60)
    embed, size = load_embedder(model)
    report, evaluated = evaluate_pairs(embed, pairs, size, flip=True)
    recognizer = tfface.load(model)
    a, b = list(pairs.path1[pick]), list(pairs.path2[pick])
    np.testing.assert_allclose(recognizer.score(a, b), evaluated[pick], atol=1e-5)
    results = recognizer.verify(a, b, far=1e-2)
    np.testing.assert_allclose([r.score for r in results], evaluated[pick], atol=1e-5)
    decode = [tf.io.decode_image(tf.io.read_file(p), channels=3).numpy() for p in a + b]
    served = tf.saved_model.load(model).signatures["score"](images1=tf.constant(np.stack(decode[:60])),
                                                            images2=tf.constant(np.stack(decode[60:])))["score"]
    np.testing.assert_allclose(served.numpy(), evaluated[pick], atol=1e-5)  # 112 px chips resized by the model
    np.testing.assert_allclose(recognizer.score(decode[:60], decode[60:]), evaluated[pick], atol=1e-5)


def test_thresholds_hold_on_held_out_pairs(calibrated):
    model, _, (paths, identities) = calibrated
    recognizer = tfface.load(model)
    entry = recognizer.calibration["far"]["0.001"]
    emb = recognizer.embed(paths)
    i, j, same = sampled_pairs(identities, seed=1)
    scores = np.sum(emb[i] * emb[j], axis=1)[~same]
    held_out_far = float(np.mean(scores > recognizer.threshold(1e-3)))
    lo, hi = entry["far_interval"]
    assert lo <= held_out_far <= hi, (held_out_far, entry)
    assert recognizer.calibration["impostor_pairs"] == 20_000 and hi - lo < 3e-3  # a calibration worth the name
    # the interval is the wider of the binomial one over pairs and the bootstrap over people
    pairs_interval = far_interval(round(entry["far_observed"] * 20_000), 20_000)
    assert entry["far_interval_pairs"] == pytest.approx(pairs_interval)
    assert lo == min(pairs_interval[0], entry["far_interval_people"][0])
    assert hi == max(pairs_interval[1], entry["far_interval_people"][1])
    one = recognizer.verify(paths[0], paths[1], far=1e-3)
    assert one.same == (one.score > entry["threshold"]) and one.threshold == entry["threshold"]


def test_the_docstring_examples_run(calibrated):
    model, _, (paths, _) = calibrated
    result = doctest.testmod(api, extraglobs={"export_dir": model, "face_a": paths[0], "face_b": paths[-1]},
                             optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_a_workdir_and_the_keras_file_load_the_same_model(calibrated, tmp_path):
    model, _, (paths, _) = calibrated
    want = tfface.load(model).embed(paths[:3])
    np.testing.assert_allclose(tfface.load(f"{model}/backbone.keras").embed(paths[:3]), want, atol=1e-5)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "export").symlink_to(model)
    np.testing.assert_allclose(tfface.load(tmp_path / "run").embed(paths[:3]), want, atol=1e-5)


def test_enroll_and_identify(calibrated):
    model, _, (paths, identities) = calibrated
    recognizer = tfface.load(model)
    names = sorted(set(identities))[:5]
    recognizer.enroll({n: [p for p, i in zip(paths, identities) if i == n][:2] for n in names})
    first = [p for p, i in zip(paths, identities) if i == names[0]][0]  # enrolled: its own template is near
    matches = recognizer.identify([first], k=3)[0]
    assert len(matches) == 3 and matches[0].identity == names[0]
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    strict = recognizer.identify([first], k=3, far=1e-3)[0]
    assert all(m.score > recognizer.threshold(1e-3) for m in strict)


def test_bad_input_is_refused_clearly(calibrated, tmp_path):
    model, _, (paths, _) = calibrated
    recognizer = tfface.load(model)
    with pytest.raises(ConfigError, match="far=0.0001: .*needs at least 10,000 impostor pairs|far=1e-05"):
        recognizer.verify(paths[0], paths[1], far=1e-5)
    with pytest.raises(ConfigError, match="far=0.05 was not calibrated"):
        recognizer.verify(paths[0], paths[1], far=0.05)
    with pytest.raises(DataError, match="nowhere.jpg: no such image file"):
        recognizer.verify(paths[0], str(tmp_path / "nowhere.jpg"))
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(DataError, match="bad.jpg: not a readable image"):
        recognizer.embed([str(tmp_path / "bad.jpg"), np.zeros((64, 64, 3), np.uint8)])
    with pytest.raises(ConfigError, match="no calibrated thresholds.*--calibrate"):
        tfface.load(export_saved_model(build_backbone("small_cnn", 64, 8), tmp_path / "bare", 64)).verify(
            paths[0], paths[1])
    with pytest.raises(ConfigError, match="not a tfface model"):
        tfface.load(tmp_path)
    with pytest.raises(ConfigError, match="gallery is empty"):
        recognizer.identify(paths[0])


def test_an_ida_export_serves_its_scores_with_their_own_thresholds(calibrated, tmp_path):
    from tfface.config import EvaluateConfig
    from tfface.methods.ida import score_of
    from tfface.programs.evaluation import evaluate

    model, pairs_file, (held_paths, _) = calibrated
    embed, size = load_embedder(model)
    np.save(tmp_path / "anchors.npy", tfface.load(model).embed(held_paths))  # other people's faces as anchors
    cfg = EvaluateConfig.of(model=model, protocol="ida_export", ida_anchors=str(tmp_path / "anchors.npy"),
                            ida_k=5, eval_pairs=pairs_file, out=str(tmp_path / "out"))
    assert evaluate(cfg)["calibrated_scores"] == ["ida_r"]
    recognizer = tfface.load(tmp_path / "out" / "export_ida")
    assert recognizer.scores == ("cosine", "ida_r")
    pairs = read_pairs(pairs_file)
    _, want = evaluate_pairs(embed, pairs, size, flip=True, score=score_of(cfg.replace(score="ida_r"), embed, size))
    a, b = list(pairs.path1[:40]), list(pairs.path2[:40])
    np.testing.assert_allclose(recognizer.score(a, b, score="ida_r"), want[:40], rtol=1e-5, atol=1e-5)
    result = recognizer.verify(a[0], b[0], far=1e-2, score="ida_r")
    meta = json.loads((tmp_path / "out" / "export_ida" / "tfface.json").read_text())
    assert result.threshold == meta["calibration_by_score"]["ida_r"]["far"]["0.01"]["threshold"]
    assert result.threshold != recognizer.threshold(1e-2)  # not the cosine's
    with pytest.raises(ConfigError, match="score='ida_l': .* serves cosine, ida_r"):
        recognizer.verify(a[0], b[0], score="ida_l")


def test_images_of_a_size_the_model_was_not_trained_on_are_refused(calibrated, tmp_path):
    from PIL import Image

    model, _, (paths, _) = calibrated
    recognizer = tfface.load(model)
    recognizer.chip_sizes = {(112, 112)}  # what train.py records of its training images
    chip = np.zeros((112, 112, 3), np.uint8)
    assert recognizer.embed([chip, np.zeros((64, 64, 3), np.uint8), paths[0]]).shape[0] == 3  # chips, input size
    with pytest.raises(DataError, match=r"an image given as an array: 150×150 px, but .* was trained on 112×112 px "
                                        r"chips \(resized to 64\).*tfface-align --size=112"):
        recognizer.verify(chip, np.zeros((150, 150, 3), np.uint8), far=1e-2)
    Image.fromarray(np.zeros((80, 100, 3), np.uint8)).save(tmp_path / "wide.png")
    with pytest.raises(DataError, match=r"wide.png: 100×80 px"):
        recognizer.embed(str(tmp_path / "wide.png"))


def test_a_photo_without_a_face_is_refused_when_aligning(calibrated, tmp_path):
    pytest.importorskip("dlib", reason="alignment needs dlib: pip install 'tfface[align]'")
    from PIL import Image

    model, _, _ = calibrated
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(tmp_path / "wall.jpg")
    with pytest.raises(DataError, match=r"wall.jpg: no face found to align"):
        tfface.load(model, align=True).embed(str(tmp_path / "wall.jpg"))
