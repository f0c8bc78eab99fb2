"""Learning-rate schedules and optimiser choice."""

import math

import pytest

from tfface.errors import ConfigError
from tfface.training.optim import WarmupSchedule, make_optimizer


def test_piecewise_with_warmup():
    s = WarmupSchedule(0.1, 100, "piecewise", warmup=10, boundaries=(50, 80), factor=0.1)
    assert float(s(0)) == pytest.approx(0.01)  # (0 + 1) / 10 of the base
    assert float(s(9)) == pytest.approx(0.1)
    assert float(s(49)) == pytest.approx(0.1)
    assert float(s(50)) == pytest.approx(0.01)
    assert float(s(80)) == pytest.approx(0.001)


def test_cosine_reaches_final_fraction():
    s = WarmupSchedule(0.2, 110, "cosine", warmup=10, final_fraction=0.05)
    assert float(s(10)) == pytest.approx(0.2)
    assert float(s(60)) == pytest.approx(0.2 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi / 2))))
    assert float(s(110)) == pytest.approx(0.2 * 0.05)


def test_optimizer_names():
    assert type(make_optimizer("adamw", 1e-3)).__name__ == "AdamW"
    assert type(make_optimizer("sgd", 1e-3, mixed_precision="fp16")).__name__ == "LossScaleOptimizer"
    with pytest.raises(ConfigError, match="`optimizer="):
        make_optimizer("lamb", 1e-3)
    with pytest.raises(ConfigError, match="`lr_schedule="):
        WarmupSchedule(0.1, 10, "exponential")
