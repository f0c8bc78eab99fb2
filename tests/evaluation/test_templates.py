"""IJB-style templates: pooling (media average, then sum, then normalise) against a hand case and a loop,
the metadata and pair-file formats with their errors, and 1:1 / 1:N reports on pooled features."""

import numpy as np
import pytest

from tfface.errors import DataError
from tfface.evaluation import identification, metrics
from tfface.evaluation import templates as T


def test_pooling_by_hand():
    # template A: media m1 = {[1,0], [0,1]}, media m2 = {[1,0]} → (0.5,0.5) + (1,0) = (1.5,0.5) → /√2.5
    # template B: one media of two identical images [0,1] → (0,1)
    emb = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0, 1]], np.float32)
    tids, feats = T.pool_templates(emb, np.array(["A", "A", "A", "B", "B"]), np.array(["m1", "m1", "m2", "x", "x"]))
    assert list(tids) == ["A", "B"]
    np.testing.assert_allclose(feats, [[1.5 / np.sqrt(2.5), 0.5 / np.sqrt(2.5)], [0, 1]], atol=1e-12)
    # weights act before the media mean: m1 = (2·[1,0] + 1·[0,1]) / 2 = (1, 0.5); + 3·[1,0] → (4, 0.5)
    _, weighted = T.pool_templates(emb, np.array(["A", "A", "A", "B", "B"]), np.array(["m1", "m1", "m2", "x", "x"]),
                                   weights=np.array([2.0, 1.0, 3.0, 1.0, 1.0]))
    np.testing.assert_allclose(weighted[0], np.array([4, 0.5]) / np.hypot(4, 0.5), atol=1e-12)


def test_pooling_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    n = 300
    emb = rng.normal(size=(n, 8))
    templates, media = rng.integers(0, 20, n).astype(str), rng.integers(0, 4, n).astype(str)
    tids, feats = T.pool_templates(emb, templates, media)
    for t, f in zip(tids, feats):
        sel = templates == t
        want = sum(emb[sel & (media == m)].mean(0) for m in np.unique(media[sel]))
        np.testing.assert_allclose(f, want / np.linalg.norm(want), atol=1e-10)


def _write_meta(tmp_path):
    (tmp_path / "meta.csv").write_text("TEMPLATE_ID,SUBJECT_ID,FILENAME,MEDIA_ID,EXTRA\n"
                                       "1,s1,a.jpg,10,x\n1,s1,b.jpg,10,x\n2,s1,c.jpg,11,x\n3,s2,d.jpg,12,x\n")
    return T.read_template_images(tmp_path / "meta.csv")


def test_metadata_and_both_pair_formats(tmp_path):
    images = _write_meta(tmp_path)
    assert list(images.paths) == [str(tmp_path / p) for p in ("a.jpg", "b.jpg", "c.jpg", "d.jpg")]
    subject_of = T.template_subjects(images)
    assert subject_of == {"1": "s1", "2": "s1", "3": "s2"}
    (tmp_path / "match.csv").write_text("ENROLL_TEMPLATE_ID,VERIF_TEMPLATE_ID\n1,2\n1,3\n")
    t1, t2, same = T.read_template_pairs(tmp_path / "match.csv", subject_of)
    assert list(t1) == ["1", "1"] and list(t2) == ["2", "3"] and list(same) == [True, False]
    (tmp_path / "pairs.txt").write_text("1 2 1\n2 3 0\n")
    assert list(T.read_template_pairs(tmp_path / "pairs.txt", subject_of)[2]) == [True, False]
    (tmp_path / "bad.txt").write_text("1 2 0\n")
    with pytest.raises(DataError, match="1 labels disagree"):
        T.read_template_pairs(tmp_path / "bad.txt", subject_of)
    (tmp_path / "unknown.txt").write_text("1 9 0\n")
    with pytest.raises(DataError, match="template 9 is not in the template metadata"):
        T.read_template_pairs(tmp_path / "unknown.txt", subject_of)
    (tmp_path / "nocol.csv").write_text("TEMPLATE_ID,FILENAME\n1,a.jpg\n")
    with pytest.raises(DataError, match="missing SUBJECT_ID, MEDIA_ID"):
        T.read_template_images(tmp_path / "nocol.csv")


def test_reports_on_pooled_features_equal_the_metrics_on_their_scores():
    rng = np.random.default_rng(1)
    subjects = np.repeat(np.arange(30), 4).astype(str)  # 4 templates per subject
    centres = rng.normal(size=(30, 16))
    feats = centres[np.repeat(np.arange(30), 4)] + rng.normal(size=(120, 16))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    tids = np.array([f"t{i:03d}" for i in range(120)])
    i, j = np.triu_indices(120, 1)
    same = subjects[i] == subjects[j]
    rep = T.verification_report(tids, feats, tids[i], tids[j], same, subjects, replicates=50)
    scores = np.sum(feats[i] * feats[j], 1)
    assert {f: v["tar"] for f, v in rep["tar_at_far"].items()} == pytest.approx(metrics.tar_at_far(scores, same))
    assert rep["genuine_pairs"] == int(same.sum()) and rep["impostor_pairs"] == int((~same).sum())
    ci = rep["tar_at_far"]["0.01"]["ci95"]  # a bootstrap over the 30 subjects
    assert ci[0] <= rep["tar_at_far"]["0.01"]["tar"] <= ci[1] and ci[0] < ci[1]
    # IDA at template level: the pooled features' log DAO (Eq. 4) with each template's log density
    lf = np.random.default_rng(2).normal(size=120)
    ida = T.verification_report(tids, feats, tids[i], tids[j], same, subjects, replicates=0, log_density=lf, tau=2.0)
    dao = 2.0 * scores + np.logaddexp(lf[i], lf[j])
    assert {f: v["tar"] for f, v in ida["tar_at_far"].items()} == pytest.approx(metrics.tar_at_far(dao, same))
    assert ida["tar_at_far"] != rep["tar_at_far"]
    gallery = np.arange(0, 100, 4)  # first template of subjects 0..24; subjects 25..29 are not enrolled
    probes = np.setdiff1d(np.arange(120), gallery)
    rep = T.identification_report(feats[gallery], subjects[gallery], feats[probes], subjects[probes])
    assert rep["mated_probes"] == 75 and rep["non_mated_probes"] == 20
    assert rep["rank1"] == identification.cmc(feats[gallery], subjects[gallery], feats[probes], subjects[probes])[0]
    assert set(rep["tpir_at_fpir"]) == {"0.1"}  # 20 non-mated probes support FPIR 0.1, not 0.01
    lg, lp = np.random.default_rng(3).normal(size=len(gallery)), np.random.default_rng(4).normal(size=len(probes))
    ida = T.identification_report(feats[gallery], subjects[gallery], feats[probes], subjects[probes],
                                  log_density=(lg, lp), tau=2.0)
    assert ida["cmc"] == identification.cmc(feats[gallery], subjects[gallery], feats[probes], subjects[probes],
                                            log_density=(lg, lp), tau=2.0).tolist()


def test_norm_weights_and_a_weight_column(tmp_path):
    (tmp_path / "meta.csv").write_text("TEMPLATE_ID,SUBJECT_ID,FILENAME,MEDIA_ID,FACENESS\n"
                                       "1,s1,a.jpg,10,0.5\n1,s1,b.jpg,10,2\n")
    images = T.read_template_images(tmp_path / "meta.csv", weight_column="faceness")
    np.testing.assert_allclose(images.weights, [0.5, 2.0])
    with pytest.raises(DataError, match="no column QUALITY"):
        T.read_template_images(tmp_path / "meta.csv", weight_column="quality")
    (tmp_path / "neg.csv").write_text("TEMPLATE_ID,SUBJECT_ID,FILENAME,MEDIA_ID,Q\n1,s1,a.jpg,10,-1\n")
    with pytest.raises(DataError, match="weights must be finite and ≥ 0"):
        T.read_template_images(tmp_path / "neg.csv", weight_column="q")


def test_a_made_template_set_is_consistent(tmp_path):
    labels = np.repeat(np.arange(20), np.arange(1, 21))  # 1 … 20 images per subject
    paths = np.array([f"img{i}.jpg" for i in range(len(labels))])
    made = T.make_template_set(paths, labels, images_per_template=3, media_per_template=2,
                               impostors_per_template=5, enrolled_fraction=0.75, seed=1)
    rows = made["templates"][1:]
    assert made["templates"][0] == list(T.COLUMNS) and sorted(r[2] for r in rows) == sorted(paths)
    subject_of = {}
    for t, s, _, m in rows:
        assert subject_of.setdefault(t, s) == s  # one subject per template
        assert t * 2 <= m < t * 2 + 2  # its media are its own
    per_subject = {s: {t for t, s2 in subject_of.items() if s2 == s} for s in set(subject_of.values())}
    assert all(len(ts) == max(1, n // 3) for ts, n in zip((per_subject[str(s)] for s in range(20)), range(1, 21)))
    same = [subject_of[a] == subject_of[b] for a, b in made["matches"][1:]]
    assert sum(same) == sum(len(ts) * (len(ts) - 1) // 2 for ts in per_subject.values()) and not all(same)
    gallery = {r[0] for r in made["gallery"][1:]}
    assert len(gallery) == 15 and len({subject_of[t] for t in gallery}) == 15
    assert {r[0] for r in made["probes"][1:]} == set(subject_of) - gallery
