"""The scenario gaps: nearest-centre probe rank-1 per group and per-identity FAR at one global threshold, against
hand-checked cases; and the ``scenario`` list protocol on a scenario render."""

import numpy as np
import pytest

from tfface.evaluation.scenario_gaps import far_per_identity, far_spread, pair_scores, probe_rank1_by_group


def test_probe_rank1_per_group_and_the_gap():
    train = np.array([[1.0, 0], [1, 0.1], [0, 1], [0.1, 1]])
    train_y = np.array([0, 0, 1, 1])
    probes = np.array([[1.0, 0.2], [0.2, 1], [1, 0.3], [0.9, 0.1]])  # the last two are class 1: the second misses
    probe_y = np.array([0, 1, 1, 1])
    groups = np.array(["regular", "regular", "ur", "ur"])
    out = probe_rank1_by_group(train, train_y, probes, probe_y, groups)
    assert out["rank1"] == {"regular": 1.0, "ur": 0.0} and out["gap"] == {"groups": ["regular", "ur"], "points": 100.0}


def test_far_per_identity_by_hand():
    # identities a (2 images), b, c (1 each); cosines: a0·b = 0.9, a1·b = 0.1, others ≤ 0
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.1, np.sqrt(1 - 0.82)], [-1.0, 0.0, 0.0]])
    labels = np.array([0, 0, 1, 2])
    s = emb @ emb.T
    impostor = [(i, j) for i in range(4) for j in range(i + 1, 4) if labels[i] != labels[j]]  # 5 pairs
    threshold, per_id, pairs = far_per_identity(pair_scores(emb), labels, far=0.2)  # the top 20% = 1 pair (a0, b)
    assert threshold == pytest.approx(sorted(s[i, j] for i, j in impostor)[-1], abs=1e-6)
    # the top pair scores at the threshold, so none lies strictly above it; at far 0.4 the second one (0.1) sets
    # it and only (a0, b) is above: 1 of a's 4 impostor pairs, 1 of b's 3, none of c's 3
    assert per_id.tolist() == [0.0, 0.0, 0.0]
    threshold, per_id, pairs = far_per_identity(pair_scores(emb), labels, far=0.4)
    assert threshold == pytest.approx(0.1, abs=1e-6) and per_id.tolist() == pytest.approx([1 / 4, 1 / 3, 0.0])
    assert pairs.tolist() == [4, 3, 3]


def test_far_spread_names_families_and_isolated_identities():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    family = centre + 0.05 * rng.normal(size=(10, 16))  # 5 look-alike identities × 2 images
    isolated = rng.normal(size=(10, 16))
    emb = np.concatenate([family, isolated])
    labels = np.repeat(np.arange(10), 2)
    groups = np.array(["family000"] * 10 + ["isolated"] * 10)
    out = far_spread(pair_scores(emb), labels, groups, far=0.05)
    assert out["identities"] == {"family": 5, "isolated": 5}
    assert out["far_mean"]["family"] > 0 and out["far_mean"]["isolated"] == 0 and out["ratio_is_lower_bound"]
    # isolated identities hold 5 × 2 images, each with 18 impostor images: 180 pair ends, floor 1/180
    assert out["family_over_isolated"] == pytest.approx(out["far_mean"]["family"] * 180)
    # unevenness: |log10| of the ratio, each side floored at one accepted pair among its group's pair ends
    assert out["unevenness_log10"] == pytest.approx(np.log10(out["far_mean"]["family"] * 180))


def test_far_unevenness_is_symmetric_and_floors_both_sides():
    # two identities per kind, one image each, 4 images: every identity has 3 impostor pairs
    emb = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0], [-1.0, 0.0]])
    labels, groups = np.arange(4), np.array(["family000", "family000", "isolated", "isolated"])
    out = far_spread(pair_scores(emb), labels, groups, far=1 / 6)  # the threshold is the top pair's score: none above
    assert out["far_mean"] == {"family": 0.0, "isolated": 0.0}
    assert out["unevenness_log10"] == pytest.approx(0.0)  # both floored at 1/6: even
    a = far_spread(pair_scores(emb), labels, groups, far=0.5)  # above the threshold 0: (0, 1) 0.99 and (1, 2) 0.14
    assert a["far_mean"] == pytest.approx({"family": (1 / 3 + 2 / 3) / 2, "isolated": (1 / 3 + 0) / 2})
    assert a["unevenness_log10"] == pytest.approx(np.log10(0.5 / (1 / 6)))
    b = far_spread(pair_scores(emb), labels, groups[::-1].copy(), far=0.5)  # the kinds swapped: the same unevenness
    assert b["unevenness_log10"] == pytest.approx(a["unevenness_log10"])


def test_the_scenario_protocol_on_a_render(tmp_path):
    from tfface.config import RunConfig
    from tfface.data.build import synth_config
    from tfface.data.synthfaces import build_synthfaces
    from tfface.errors import ConfigError
    from tfface.evaluation.protocols import run_protocol
    from tfface.scoring.score import Score

    root = build_synthfaces(synth_config(RunConfig.of(synth_scenario="hard_partitions", synth_identities=4,
                                                      synth_heldout=10, image_size=32)), tmp_path, log=lambda s: None)
    import tensorflow as tf

    embed = lambda x: tf.reshape(tf.image.resize(x, (4, 4)), (-1, 48))  # noqa: E731  (pixels as the embedding)
    report = run_protocol("scenario", embed, 32, str(root / "meta.csv"), None, str(tmp_path / "out"))
    assert set(report["probes"]["rank1"]) == {"easy", "hard"} and report["probes"]["probes"] == {"easy": 20, "hard": 20}
    assert report["probes"]["gap"]["groups"] == ["easy", "hard"] and report["heldout_far"]["identities"]
    # scored by IDA's log DAO with equal densities: a shifted cosine, so the same identities pass
    flat = run_protocol("scenario", embed, 32, str(root / "meta.csv"), None, str(tmp_path / "ida"),
                        options={"score": Score("ida_r", lambda e: np.zeros(len(e)))})
    assert flat["heldout_far"]["score"] == "ida_r" and report["heldout_far"]["score"] == "cosine"
    assert flat["heldout_far"]["far_mean"] == report["heldout_far"]["far_mean"]
    assert flat["heldout_far"]["threshold"] == pytest.approx(report["heldout_far"]["threshold"] + np.log(2), abs=1e-5)
    plain = tmp_path / "plain.csv"
    plain.write_text("path,identity\nimages/id00000/0.png,x\n")
    with pytest.raises(ConfigError, match="needs the meta.csv of a SynthFaces scenario"):
        run_protocol("scenario", embed, 32, str(plain), str(root), str(tmp_path / "out2"))


def test_pair_scores_by_ida_log_dao():
    emb = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    log_f = np.array([0.1, -0.2, 0.3])
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    expected = 2.0 * unit @ unit.T + np.log(np.exp(log_f)[:, None] + np.exp(log_f)[None, :])  # Eq. 4, τ = 2
    np.testing.assert_allclose(pair_scores(emb, log_f, tau=2.0), expected, rtol=1e-5)
    np.testing.assert_allclose(pair_scores(emb), unit @ unit.T, rtol=1e-6)
