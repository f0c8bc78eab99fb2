"""SFT's analysis tools (Zhu et al. 2020, Eqs. 7–8, 11): r_w, rotation residuals and the report."""

import numpy as np
import pytest

from tfface.methods.sft_analysis import orthogonality, rotation_residuals, sft_report


def _r_w_reference(x, y, energy):
    """Eqs. 7–8 written out with loops."""
    classes = np.unique(y)
    mus = np.array([x[y == c].mean(0) for c in classes])
    s_c = sum(np.outer(m, m) for m in mus) / len(classes)
    s_w = sum(sum(np.outer(v - m, v - m) for v in x[y == c]) / (y == c).sum() for c, m in zip(classes, mus))
    s_w = s_w / len(classes)
    vals, vecs = np.linalg.eigh(s_c)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    k = 1
    while vals[:k].sum() / vals.sum() < energy:
        k += 1
    u = vecs[:, :k]
    return np.trace(u.T @ s_w @ u) / np.trace(s_w)


def test_orthogonality_rw_eq8():
    rng = np.random.default_rng(3)
    means = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0.7, 0.7, 0, 0]])
    y = np.repeat(np.arange(3), 20)
    # within-class variation only along e₃, e₄: orthogonal to the means' subspace → r_w = 0
    sig = np.zeros((60, 4))
    sig[:, 2:] = rng.normal(size=(60, 2)) * 0.1
    sig -= np.array([sig[y == c].mean(0) for c in range(3)])[y]
    assert orthogonality(means[y] + sig, y, 0.99)["r_w"] == pytest.approx(0.0, abs=1e-12)
    x = means[y] + rng.normal(size=(60, 4)) * 0.1
    for energy in (0.5, 0.9, 0.999):
        assert orthogonality(x, y, energy)["r_w"] == pytest.approx(_r_w_reference(x, y, energy), rel=1e-9)


def test_rotation_residuals_and_report():
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(4), 30)
    means = np.eye(6)[:4] * 3
    x = means[y] + rng.normal(size=(120, 6)) * 0.3
    d = rotation_residuals(x, y, samples=500)
    assert d.shape == (500,) and np.all(d >= 0) and d.mean() > 0
    report = sft_report(x, y, samples=300)
    assert len(report["divergence"]["per_class"]) == 4
    assert 0 <= report["orthogonality"][0]["r_w"] <= 1
