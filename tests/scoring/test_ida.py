"""IDA (Liu et al. 2021): DAO (Eq. 4) against NumPy, symmetry and range of τ/k; exact support-set search."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.scoring.ida import FaissSearch, log_dao, log_density, normalize, pair_scores, topk_similarities


def np_dao(f1, f2, s1, s2, tau):
    return np.exp(tau * f1 @ f2) * (1 / np.exp(tau * s1).sum() + 1 / np.exp(tau * s2).sum())


def test_dao_matches_numpy_by_hand():
    f1, f2 = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    s1, s2 = np.array([0.5, 0.1]), np.array([0.9, 0.3, -0.2])[:2]
    want = np_dao(f1, f2, s1, s2, 1.0)  # e^0.6·(1/(e^0.5 + e^0.1) + 1/(e^0.9 + e^0.3))
    assert want == pytest.approx(np.exp(0.6) * (1 / (np.exp(0.5) + np.exp(0.1)) + 1 / (np.exp(0.9) + np.exp(0.3))))
    got = log_dao(tf.constant([f1]), tf.constant([f2]), log_density(tf.constant([s1]), 1.0),
                  log_density(tf.constant([s2]), 1.0), 1.0)
    assert float(np.exp(got[0])) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("tau,k", [(1.0, 10), (16.0, 100), (64.0, 1000)])
def test_dao_symmetric_and_finite_for_large_tau_and_k(tau, k):
    rng = np.random.default_rng(int(tau))
    f = normalize(rng.normal(size=(2, 32)))
    s = np.sort(rng.uniform(-0.2, 1.0, size=(2, k)))[:, ::-1].copy()
    ld = log_density(tf.constant(s), tau)
    a = log_dao(tf.constant(f[:1]), tf.constant(f[1:]), ld[:1], ld[1:], tau).numpy()
    b = log_dao(tf.constant(f[1:]), tf.constant(f[:1]), ld[1:], ld[:1], tau).numpy()
    assert np.isfinite(a).all() and a[0] == b[0]
    # the log-space value equals the float64 NumPy formula in log form
    lse = [np.log(np.sum(np.exp(tau * (x - x.max())))) + tau * x.max() for x in s]
    want = tau * f[0] @ f[1] + np.logaddexp(-lse[0], -lse[1])
    assert a[0] == pytest.approx(want, rel=1e-5, abs=1e-4)


def test_exact_topk_equals_brute_force_and_excludes_own_identity():
    rng = np.random.default_rng(0)
    anchors, queries = rng.normal(size=(500, 16)), rng.normal(size=(37, 16))
    sims, idx = topk_similarities(queries, anchors, 7, batch=10)
    full = normalize(queries) @ normalize(anchors).T
    want_idx = np.argsort(-full, axis=1)[:, :7]
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(sims, np.take_along_axis(full, want_idx, 1), atol=1e-5)
    a_lab, q_lab = rng.integers(0, 20, 500), rng.integers(0, 20, 37)
    sims, idx = topk_similarities(queries, anchors, 7, q_lab, a_lab)
    assert not np.any(a_lab[idx] == q_lab[:, None])
    masked = np.where(a_lab[None, :] == q_lab[:, None], -np.inf, full)
    np.testing.assert_array_equal(idx, np.argsort(-masked, axis=1, kind="stable")[:, :7])


def test_faiss_search_agrees_with_exact_search():
    pytest.importorskip("faiss", reason="faiss-cpu not installed (optional IDA search back-end)")
    rng = np.random.default_rng(1)
    anchors, queries = rng.normal(size=(300, 8)), rng.normal(size=(20, 8))
    s1, i1 = topk_similarities(queries, anchors, 5)
    s2, i2 = FaissSearch(anchors)(queries, 5)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, atol=1e-5)


def test_pair_scores_cosine_and_ida():
    e1, e2 = np.array([[3.0, 4.0]]), np.array([[1.0, 0.0]])
    assert pair_scores(e1, e2)[0] == pytest.approx(0.6)
    got = pair_scores(e1, e2, np.array([-1.0]), np.array([-2.0]), tau=2.0)[0]
    assert got == pytest.approx(2.0 * 0.6 + np.logaddexp(-1.0, -2.0), rel=1e-6)


@pytest.mark.parametrize("flip", [None, True, False])
def test_exported_score_ida_equals_the_library_score(tmp_path, flip):
    # Issue 13.3: evaluate.py embeds with --eval_flip (default on: original + mirrored, summed, normalised),
    # and so do the anchors and the SSR fit; the IDA export must score the same way (None = its default).
    import json

    from tfface.export.saved_model import export_ida, export_saved_model, load_embedder
    from tfface.models.backbones import build_backbone
    from tfface.scoring.ida import ida_r_log_density
    from tfface.scoring.ssr import build_ssr

    base = export_saved_model(build_backbone("small_cnn", 32, 16), tmp_path / "base", 32)
    rng = np.random.default_rng(3)
    anchors = rng.normal(size=(200, 16)).astype(np.float32)
    ssr = build_ssr(16, 8, mean=-2.0, std=0.5)
    ssr.get_layer("fc2").kernel.assign(rng.normal(size=(8, 1)).astype(np.float32))
    kwargs = {} if flip is None else {"flip": flip}
    out = export_ida(base, str(tmp_path / "ida"), anchors, k=5, tau=4.0, ssr=ssr, **kwargs)
    x1, x2 = (rng.integers(0, 256, (6, 32, 32, 3)).astype(np.uint8) for _ in range(2))
    loaded = tf.saved_model.load(out)
    got = loaded.signatures["score_ida"](images1=tf.constant(x1), images2=tf.constant(x2))["score"].numpy()
    embed, _ = load_embedder(base)

    def library_embedding(x):  # what evaluate.py's embed_paths computes
        e = embed(x).numpy()
        return normalize(e + embed(x[:, :, ::-1]).numpy()) if flip is not False else e

    e1, e2 = library_embedding(x1), library_embedding(x2)
    assert np.abs(e1 - embed(x1).numpy()).max() > 1e-3 or flip is False  # the flip matters for this model
    want = pair_scores(e1, e2, ida_r_log_density(e1, anchors, 5, 4.0), ida_r_log_density(e2, anchors, 5, 4.0), 4.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    dens = loaded.signatures["density"](images=tf.constant(x1))["log_density"].numpy()
    np.testing.assert_allclose(dens, ssr(e1).numpy(), rtol=1e-5, atol=1e-6)
    learned = loaded.signatures["score_ida_l"](images1=tf.constant(x1), images2=tf.constant(x2))["score"].numpy()
    np.testing.assert_allclose(learned, pair_scores(e1, e2, dens, ssr(e2).numpy(), 4.0), rtol=1e-5, atol=1e-5)
    cos = loaded.signatures["score"](images1=tf.constant(x1), images2=tf.constant(x2))["score"].numpy()
    np.testing.assert_allclose(cos, np.sum(e1 * e2, 1), atol=1e-5)
    meta = json.loads((tmp_path / "ida" / "tfface.json").read_text())
    assert meta["ida"]["flip"] is (flip is not False)
    # and the same through the TF1 session loader (saved_model_cli, TF Serving)
    from session_loader import session_outputs

    for name, want_scores in (("score_ida", got), ("score_ida_l", learned), ("score", cos)):
        served = session_outputs(out, name, {"images1": x1, "images2": x2})["score"]
        np.testing.assert_allclose(served, want_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(session_outputs(out, "density", {"images": x1})["log_density"], dens, rtol=1e-5,
                               atol=1e-6)


def test_ssr_training_lowers_held_out_mse():
    from tfface.scoring.ida import ida_r_log_density
    from tfface.scoring.ssr import train_ssr

    rng = np.random.default_rng(4)
    centres = normalize(rng.normal(size=(30, 12)))
    emb = normalize(centres[rng.integers(0, 30, 1500)] + 0.3 * rng.normal(size=(1500, 12)))
    target = ida_r_log_density(emb, centres, k=5, tau=8.0)
    _, report = train_ssr(emb, target, steps=3000, lr=3e-2, batch=128, log=lambda s: None)
    assert report["held_out_mse_after"] < 0.5 * report["held_out_mse_before"]


def _index_images(folder, n_ids, per_id):
    """Constant-colour PNGs that encode their row index (R + 256·G), and a list file over them."""
    import csv

    from PIL import Image  # noqa: F401  (matplotlib brings pillow)

    rows, k = [], 0
    for ident in range(n_ids):
        for j in range(per_id):
            path = folder / f"id{ident:03d}_{j}.png"
            Image.new("RGB", (16, 16), (k % 256, k // 256, 0)).save(path)
            rows.append((path.name, f"person{ident:03d}"))
            k += 1
    with open(folder / "list.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "identity"), *rows])
    return folder / "list.csv"


def _lookup_embedder(table):
    def embed(images):
        px = tf.cast(images[:, 0, 0, :2], tf.int32)
        return tf.gather(tf.constant(table, tf.float32), px[:, 0] + 256 * px[:, 1])
    return embed


def _inter_class_log_density(emb, ids, anchors, anchor_ids, k, tau, exclude=True):
    sim = normalize(emb) @ normalize(anchors).T
    if exclude:
        sim = np.where(ids[:, None] == anchor_ids[None, :], -np.inf, sim)
    top = np.sort(sim, axis=1)[:, ::-1][:, :k]
    return -np.logaddexp.reduce(tau * top, axis=1)


def test_ssr_target_excludes_the_query_identity_when_anchors_come_from_another_list_file(tmp_path, monkeypatch):
    # Issue 13.2: with the README recipe (--eval_list=train.csv --ida_anchors=train.csv, one image per identity)
    # the anchors are not the evaluation embeddings themselves, and the old fit kept each query's own identity
    # among its "inter-class" anchors. The target must be the density of anchors of *other* identities.
    from tfface.scoring import protocols as P
    from tfface.scoring import ssr

    rng = np.random.default_rng(0)
    n_ids, per_id = 40, 5
    centres = normalize(rng.normal(size=(n_ids, 16)))
    table = normalize(np.repeat(centres, per_id, axis=0) + 0.3 * rng.normal(size=(n_ids * per_id, 16)))
    list_file = _index_images(tmp_path, n_ids, per_id)
    embed = _lookup_embedder(table)
    anchors, anchor_ids = P.anchor_set(str(list_file), embed, 16, per_identity=1)
    seen = {}
    real = ssr.train_ssr

    def spy(emb, target, steps, lr, **kw):
        seen["emb"], seen["target"] = emb, target
        return real(emb, target, steps, lr, **kw)

    monkeypatch.setattr(ssr, "train_ssr", spy)
    P.train_ssr_protocol(embed, 16, str(list_file), None, anchors, anchor_ids, 5, 4.0, 20, 1e-3, str(tmp_path / "o"))
    ids = np.repeat(np.arange(n_ids), per_id)
    emb = seen["emb"]  # flip-summed embeddings of constant images = the table rows
    np.testing.assert_allclose(emb, table, atol=1e-5)
    first = np.arange(n_ids) * per_id
    want = _inter_class_log_density(emb, ids, table[first], ids[first], 5, 4.0)
    wrong = _inter_class_log_density(emb, ids, table[first], ids[first], 5, 4.0, exclude=False)
    assert np.abs(want - wrong).mean() > 0.1  # the toy tells the two apart
    np.testing.assert_allclose(seen["target"], want, atol=1e-4)


def test_ssr_fit_refuses_overlapping_anchors_without_identities(tmp_path):
    from tfface.errors import ConfigError
    from tfface.scoring import protocols as P

    rng = np.random.default_rng(1)
    table = normalize(rng.normal(size=(30, 8)))
    list_file = _index_images(tmp_path, 10, 3)
    embed = _lookup_embedder(table)
    np.save(tmp_path / "a.npy", table[::3])  # the list's own first images, no labels
    anchors, ids = P.anchor_set(str(tmp_path / "a.npy"), embed, 16)
    assert ids is None
    with pytest.raises(ConfigError, match="`ida_anchors"):
        P.train_ssr_protocol(embed, 16, str(list_file), None, anchors, ids, 3, 1.0, 10, 1e-3, str(tmp_path / "o"))
    # the same anchors with identity names (an .npz with labels) are accepted and excluded by name
    np.savez(tmp_path / "a.npz", anchors=table[::3], labels=np.array([f"person{i:03d}" for i in range(10)]))
    anchors, ids = P.anchor_set(str(tmp_path / "a.npz"), embed, 16)
    report = P.train_ssr_protocol(embed, 16, str(list_file), None, anchors, ids, 3, 1.0, 10, 1e-3,
                                  str(tmp_path / "o"))
    assert report["exclude_own_identity"] is True


def test_score_matrix_is_cosine_or_log_dao_of_every_row_pair_by_hand():
    from tfface.scoring.ida import score_matrix

    a = np.array([[1.0, 0.0]], np.float32)
    b = np.array([[0.0, 1.0], [0.6, 0.8]], np.float32)
    np.testing.assert_allclose(score_matrix(a, b), [[0.0, 0.6]], atol=1e-7)
    # τ = 2, log F_a = −1, log F_b = (−2, −3): 2·cos + log(e^−1 + e^−2 | e^−3)
    got = score_matrix(a, b, np.array([-1.0]), np.array([-2.0, -3.0]), tau=2.0)
    want = [[0.0 + np.log(np.exp(-1) + np.exp(-2)), 1.2 + np.log(np.exp(-1) + np.exp(-3))]]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # the row-aligned pair_scores is its diagonal
    rng = np.random.default_rng(2)
    x, y, lx, ly = normalize(rng.normal(size=(6, 4))), normalize(rng.normal(size=(6, 4))), rng.normal(size=6), \
        rng.normal(size=6)
    np.testing.assert_allclose(np.diag(score_matrix(x, y, lx, ly, 1.5)), pair_scores(x, y, lx, ly, 1.5), rtol=1e-5)


def test_ida_r_warns_when_the_scored_images_are_themselves_anchors():
    # an image that is its own anchor has a support set led by similarity 1, so its density is pushed down and
    # every score with it drops (e.g. distractors that are also the anchors stop distracting)
    from tfface.scoring.protocols import density_fn

    rng = np.random.default_rng(5)
    anchors, others = normalize(rng.normal(size=(50, 8))), normalize(rng.normal(size=(20, 8)))
    said = []
    density = density_fn("ida_r", anchors, 5, 1.0, log=said.append)
    density(others)
    assert said == []
    density(np.concatenate([others, anchors[:3]]))
    assert len(said) == 1 and "3 of the 23 images scored are themselves anchors" in said[0]


def test_the_score_object_scores_pairs_and_matrices_as_the_formulas():
    """A Score built once carries name, density and τ; its pairs and matrices are cosine or Eq. 4's log DAO."""
    from tfface.scoring.protocols import build_score
    from tfface.scoring.score import COSINE, Score

    a = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    b = np.array([[0.0, 1.0], [0.6, 0.8]], np.float32)
    np.testing.assert_allclose(COSINE.pairs(a, b), [0.0, 1.0], atol=1e-6)
    assert COSINE.log_density(a) is None and COSINE.is_cosine
    score = Score("ida_r", lambda e: np.where(e[:, 1] > 0.5, -2.0, -1.0), tau=2.0)  # log F by hand
    by_hand = [2.0 * 0.0 + np.logaddexp(-1.0, -2.0), 2.0 * 1.0 + np.logaddexp(-2.0, -2.0)]  # τ⟨a,b⟩ + logaddexp
    np.testing.assert_allclose(score.pairs(a, b), by_hand, rtol=1e-5)
    np.testing.assert_allclose(score.matrix(a, b)[0, 1], 2.0 * 0.6 + np.logaddexp(-1.0, -2.0), rtol=1e-5)
    anchors = np.eye(2, dtype=np.float32)
    built = build_score("ida_r", anchors, k=1, tau=3.0)
    assert built.name == "ida_r" and built.tau == 3.0 and built.log_density(a).shape == (2,)
    assert build_score("cosine").is_cosine
