"""LiteRT export: the .tflite model embeds real faces like the SavedModel it was converted from."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO

from tfface.data.sources import from_list_file
from tfface.export.lite import export_tflite
from tfface.export.saved_model import export_saved_model, load_embedder, load_keras_backbone
from tfface.models.backbones import build_backbone
from tfface.models.embed import embed_paths

pytest.importorskip("ai_edge_litert", reason="the LiteRT interpreter comes with the test extra (ai-edge-litert)")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    # small CNN: an untrained MobileFaceNet's embeddings are ~1e-8 (batch norm's initial statistics), so their
    # directions are rounding noise and no conversion could agree on them
    keras.utils.set_random_seed(0)
    return export_saved_model(build_backbone("small_cnn", 64, 128), tmp_path_factory.mktemp("m") / "export", 64)


def test_tflite_embeddings_match_the_saved_model_on_real_faces(exported, shared_data, tmp_path):
    paths = from_list_file(shared_data / "celeba" / "meta.csv").paths[:48]
    want = embed_paths(load_embedder(exported)[0], paths, 64, batch=16)
    floor = {"none": 0.9999, "float16": 0.999, "int8": 0.95}
    for quantize, least in floor.items():
        path = export_tflite(load_keras_backbone(exported), tmp_path, quantize)
        embed, size = load_embedder(path)
        assert size == 64 and path.endswith(".tflite")
        got = embed_paths(embed, paths, 64, batch=16)
        cos = np.sum(got * want, axis=1)
        assert cos.min() >= least, (quantize, float(cos.min()))
    sizes = {q: (tmp_path / n).stat().st_size for q, n in (("none", "embedder.tflite"),
                                                           ("int8", "embedder_int8.tflite"))}
    assert sizes["int8"] < 0.4 * sizes["none"]


def test_evaluate_py_writes_the_variants_and_their_verification(exported, tiny_synth, tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "evaluate.py"), f"--model={exported}", "--protocol=tflite",
                          "--tflite_quantize=none,int8", f"--eval_pairs={tiny_synth / 'pairs.csv'}",
                          f"--out={tmp_path / 'lite'}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((tmp_path / "lite" / "tflite.json").read_text())
    assert set(report["variants"]) == {"saved_model", "none", "int8"}
    assert abs(report["variants"]["none"]["accuracy"] - report["variants"]["saved_model"]["accuracy"]) < 0.01
    assert report["variants"]["none"]["min_cosine_to_saved_model"] >= 0.9999


def test_the_lite_embedder_refuses_other_inputs_and_takes_an_empty_batch(exported, tmp_path):
    # a batch of 0 or another image size used to end in the interpreter's raw error
    from tfface.errors import DataError

    embed, size = load_embedder(export_tflite(load_keras_backbone(exported), tmp_path, "none"))
    assert embed(np.zeros((0, size, size, 3), np.uint8)).shape == (0, 128)
    with pytest.raises(DataError, match=r"takes uint8 images \[batch, 64, 64, 3\]; got uint8 \[2, 32, 32, 3\]"):
        embed(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match="got float32"):
        embed(np.zeros((2, 64, 64, 3), np.float32))
