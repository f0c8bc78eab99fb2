"""No NaN or empty result with exit code 0, and no earlier result replaced: a protocol that cannot compute its
number says why before it writes; evaluate.py writes to a new folder unless told where; a served model checks
what it is sent."""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from session_loader import session_outputs

from tfface.errors import ConfigError, DataError
from tfface.evaluation import identification, templates
from tfface.evaluation.results import non_numbers, require_numbers
from tfface.export.saved_model import export_saved_model, load_embedder, read_metadata, write_metadata
from tfface.models.backbones import build_backbone
from tfface.programs.evaluation import evaluate
from tfface.settings import EvaluateConfig


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """An untrained small CNN exported into run/export (32 px)."""
    run = tmp_path_factory.mktemp("run")
    return export_saved_model(build_backbone("small_cnn", 32, 16), run / "export", 32)


def _rows(tiny_synth, keep):
    rows = (tiny_synth / "meta.csv").read_text().splitlines()
    return [rows[0], *(r for r in rows[1:] if keep(r))]


def test_evaluate_writes_a_new_folder_unless_told_to_overwrite(model, tiny_synth):
    run = pathlib.Path(model).parent
    (run / "eval.json").write_text('{"accuracy": "from training"}')
    first = evaluate(EvaluateConfig.of(model=model, eval_pairs=str(tiny_synth / "pairs.csv")))
    assert (run / "eval.json").read_text() == '{"accuracy": "from training"}'  # used to be replaced
    folders = sorted(run.glob("eval-verification-*"))
    assert len(folders) == 1 and json.loads((folders[0] / "eval.json").read_text())["auc"] == first["auc"]
    evaluate(EvaluateConfig.of(model=model, eval_pairs=str(tiny_synth / "pairs.csv")))
    assert len(list(run.glob("eval-verification-*"))) == 2  # each evaluation its own folder
    evaluate(EvaluateConfig.of(model=model, eval_pairs=str(tiny_synth / "pairs.csv"), overwrite=True))
    assert json.loads((run / "eval.json").read_text())["auc"] == first["auc"]
    with pytest.raises(ConfigError, match="`overwrite=True` is not read"):
        evaluate(EvaluateConfig.of(model=model, eval_pairs=str(tiny_synth / "pairs.csv"), out=str(run / "x"),
                                   overwrite=True))


def test_identification_without_mated_probes_says_why_and_writes_nothing(model, tiny_synth, tmp_path):
    # one image per identity: every image is a gallery image, the probes are the open-set ones only; rank-1 used
    # to be reported as NaN with exit code 0
    seen, rows = set(), []
    for r in _rows(tiny_synth, lambda r: True)[1:]:
        if r.split(",")[1] not in seen:
            seen.add(r.split(",")[1])
            rows.append(r)
    lst = tmp_path / "one_each.csv"
    lst.write_text("\n".join([_rows(tiny_synth, lambda r: False)[0], *rows]) + "\n")
    cfg = EvaluateConfig.of(model=model, protocol="identification", eval_list=str(lst), eval_root=str(tiny_synth),
                            out=str(tmp_path / "out"))
    with pytest.raises(DataError, match="no identity has more than `gallery_per_id=1` image"):
        evaluate(cfg)
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataError, match="none of the 3 probes has its identity in the gallery"):
        identification.cmc(np.eye(3), np.array([0, 1, 2]), np.eye(3), np.array([5, 6, 7]))


def test_all_pairs_on_one_identity_says_why(model, tiny_synth, tmp_path):
    first = _rows(tiny_synth, lambda r: True)[1].split(",")[1]
    lst = tmp_path / "one.csv"
    lst.write_text("\n".join(_rows(tiny_synth, lambda r: r.split(",")[1] == first)) + "\n")
    with pytest.raises(DataError, match="1 identity .* gives no impostor pairs"):
        evaluate(EvaluateConfig.of(model=model, protocol="all_pairs", eval_list=str(lst), eval_root=str(tiny_synth),
                                   out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_more_distractors_than_the_set_holds_is_refused(model, tiny_synth, tmp_path):
    ids = sorted({r.split(",")[1] for r in _rows(tiny_synth, lambda r: True)[1:]})
    probe = tmp_path / "probe.csv"
    probe.write_text("\n".join(_rows(tiny_synth, lambda r: r.split(",")[1] in ids[:5])) + "\n")
    dis = tmp_path / "dis.csv"
    dis.write_text("\n".join(_rows(tiny_synth, lambda r: r.split(",")[1] in ids[5:7])) + "\n")
    n = len(dis.read_text().splitlines()) - 1
    with pytest.raises(ConfigError, match=rf"`distractor_sizes=10,{n + 1}`: {n + 1} is more than the {n} images"):
        evaluate(EvaluateConfig.of(model=model, protocol="distractors", eval_list=str(probe), distractors=str(dis),
                                   eval_root=str(tiny_synth), distractor_sizes=(10, n + 1), out=str(tmp_path / "o")))


def test_template_pairs_of_one_kind_are_refused(tmp_path):
    (tmp_path / "pairs.txt").write_text("t1 t2 1\nt3 t4 1\n")
    with pytest.raises(DataError, match="2 genuine and 0 impostor template pairs; verification needs both"):
        templates.read_template_pairs(tmp_path / "pairs.txt", {"t1": "a", "t2": "a", "t3": "b", "t4": "b"})


def test_a_report_with_a_nan_is_not_written():
    report = {"rank1": float("nan"), "tar_at_far": {"0.1": 0.5, "0.01": float("inf")}, "cmc": [0.5, float("nan")]}
    assert non_numbers(report) == ["rank1", "tar_at_far.0.01", "cmc[1]"]
    with pytest.raises(DataError, match="`protocol=x`: no number for rank1, tar_at_far.0.01, cmc.1."):
        require_numbers(report, "`protocol=x`")
    require_numbers({"rank1": 0.5, "tpir_at_fpir": {}}, "fine")


def test_the_score_signature_pairs_rows_or_one_image_with_many(model):
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    loaded = tf.saved_model.load(model)
    many = loaded.signatures["score"](images1=tf.constant(images[:1]), images2=tf.constant(images))["score"]
    rows = loaded.signatures["score"](images1=tf.constant(np.repeat(images[:1], 3, 0)), images2=tf.constant(images))
    np.testing.assert_allclose(many.numpy(), rows["score"].numpy(), atol=1e-6)  # one against each, as documented
    with pytest.raises(tf.errors.InvalidArgumentError, match="must hold the same number of images"):
        loaded.signatures["score"](images1=tf.constant(images[:2]), images2=tf.constant(images))
    # through the TF1 session loader (saved_model_cli, TF Serving) too
    with pytest.raises(tf.errors.InvalidArgumentError, match="must hold the same number of images"):
        session_outputs(model, "score", {"images1": images[:2], "images2": images})


def test_an_edited_image_size_in_the_metadata_is_refused(model, tmp_path):
    import shutil

    copy = shutil.copytree(model, tmp_path / "copy")
    write_metadata(copy, {**read_metadata(copy), "image_size": 48})
    with pytest.raises(DataError, match="image_size is 48, but the model it describes takes 32 × 32 images"):
        load_embedder(copy)


def test_the_signatures_declare_uint8_inputs(model):
    # the documented behaviour for float / NaN pixels: the client converts them to the declared uint8
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], model)
    for name in ("serving_default", "score", "embed_one_view"):
        assert {v.dtype for v in meta.signature_def[name].inputs.values()} == {tf.uint8.as_datatype_enum}


def test_saved_model_cli_refuses_mismatched_pairs_and_casts_nan_as_documented(model, tmp_path):
    import os
    import subprocess
    import sys

    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        pytest.skip("saved_model_cli is not beside this Python (it comes with TensorFlow)")
    np.save(tmp_path / "two.npy", np.zeros((2, 32, 32, 3), np.uint8))
    np.save(tmp_path / "three.npy", np.zeros((3, 32, 32, 3), np.uint8))
    np.save(tmp_path / "nan.npy", np.full((1, 32, 32, 3), np.nan, np.float32))

    def run(signature, inputs):
        return subprocess.run([cli, "run", "--dir", model, "--tag_set", "serve", "--signature_def", signature,
                               "--inputs", inputs], capture_output=True, text=True, timeout=300)

    mismatched = run("score", f"images1={tmp_path / 'two.npy'};images2={tmp_path / 'three.npy'}")
    assert mismatched.returncode != 0 and "must hold the same number of images" in mismatched.stderr
    # the documented behaviour: the client's uint8 conversion turns NaN into 0, so a NaN image embeds as a black one
    nan = run("serving_default", f"images={tmp_path / 'nan.npy'}")
    assert nan.returncode == 0, nan.stderr[-2000:]
    numbers = nan.stdout.split("embeddings:")[1].replace("[", " ").replace("]", " ").split()
    printed = np.array([float(v) for v in numbers])
    black = tf.saved_model.load(model).signatures["serving_default"](images=tf.zeros((1, 32, 32, 3), tf.uint8))
    np.testing.assert_allclose(printed, black["embeddings"].numpy()[0], atol=1e-5)
