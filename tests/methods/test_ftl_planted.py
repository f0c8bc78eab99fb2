"""FTL's planted-effect check (tfface.methods.ftl_planted): the drawn features have the planted structure, and the
library's stage 1 recovers the planted effect only when Eq. 7's transfer carries the variation."""

import numpy as np

from tfface.methods import ftl as ftl_module
from tfface.methods.ftl_planted import planted_features, run_stage_one


def test_planted_features_vary_along_one_shared_basis_ur_training_samples_barely():
    data = planted_features(0, dim=6, variation_dim=2, regular=3, ur=2, per_regular=200, per_ur=200, probes=200,
                            spread=3.0, ur_spread=0.2, noise=0.0)
    assert data.train_g.shape == (3 * 200 + 2 * 200, 6) and data.probe_g.shape == (5 * 200, 6)
    assert data.regular.tolist() == [True, True, True, False, False]
    # without noise, every sample is its class centre plus a point of one 2-D subspace shared by all classes
    centre = np.stack([data.probe_g[data.probe_y == c].mean(0) for c in range(5)])
    deviations = np.concatenate([data.train_g - centre[data.train_y], data.probe_g - centre[data.probe_y]])
    singular = np.linalg.svd(deviations, compute_uv=False)
    assert singular[2] < 1e-3 * singular[0]  # rank 2 (the probe means carry a small sampling error, in the subspace)

    def rms_about_own_mean(g: np.ndarray, y: np.ndarray) -> float:  # coefficient std per variation direction
        mean = np.stack([g[y == c].mean(0) if (y == c).any() else np.zeros(g.shape[1]) for c in range(5)])
        return float(np.sqrt(np.mean(np.sum((g - mean[y]) ** 2, axis=1)) / 2))

    ur_train = ~data.regular[data.train_y]
    assert abs(rms_about_own_mean(data.train_g[ur_train], data.train_y[ur_train]) - 0.2) < 0.02
    assert abs(rms_about_own_mean(data.train_g[~ur_train], data.train_y[~ur_train]) - 3.0) < 0.25
    assert abs(rms_about_own_mean(data.probe_g, data.probe_y) - 3.0) < 0.25


def test_stage_one_recovers_the_planted_effect_only_through_the_transfer(monkeypatch):
    data = planted_features(0)
    with_transfer = run_stage_one(data, True, seed=0, steps=300)
    without = run_stage_one(data, False, seed=0, steps=300)
    assert with_transfer["pca_components"] == 8  # the planted basis' dimension, found by UpdateStats' PCA
    assert with_transfer["top1_ur"] - without["top1_ur"] > 0.5, (with_transfer, without)
    assert with_transfer["rank1_f_ur"] - without["rank1_f_ur"] > 0.3  # the paper's measure moves too
    # the same run with Eq. 7 moving no variation (g̃ = c_i: the UR class's centre only) loses the effect
    monkeypatch.setattr(ftl_module, "transfer", lambda g_reg, c_reg, c_target, projection: c_target + 0.0 * g_reg)
    centres_only = run_stage_one(data, True, seed=0, steps=300)
    assert centres_only["top1_ur"] - without["top1_ur"] < 0.3, (centres_only, without)
