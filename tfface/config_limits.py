"""The valid range of every numeric setting, and of each margin head's margins: a run with a setting outside
them stops before anything is written, with a one-line message naming the setting (``--flag`` from the
programs). The ranges are ours unless a paper fixes them; ``tests/test_config_limits.py`` checks that every
numeric setting of ``RunConfig`` and ``EvaluateConfig`` has one.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from tfface.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Limit:
    """lo ≤ x ≤ hi, with either end open (excluded) when asked."""

    lo: float = -math.inf
    hi: float = math.inf
    open_lo: bool = False
    open_hi: bool = False

    def holds(self, x: float) -> bool:
        if not math.isfinite(x):
            return False  # NaN and ±Inf are never a setting
        above = x > self.lo if self.open_lo else x >= self.lo
        below = x < self.hi if self.open_hi else x <= self.hi
        return above and below

    def __str__(self) -> str:
        if math.isinf(self.hi):
            return f"{'>' if self.open_lo else '≥'} {self.lo:g}"
        return f"in {'(' if self.open_lo else '['}{self.lo:g}, {self.hi:g}{')' if self.open_hi else ']'}"


def at_least(lo: float) -> Limit:
    return Limit(lo)


POSITIVE = Limit(0, open_lo=True)
NON_NEGATIVE = Limit(0)
FRACTION = Limit(0, 1)
ANY = Limit()

LIMITS: dict[str, Limit] = {
    # the run
    "seed": NON_NEGATIVE, "log_every": at_least(1), "checkpoint_every": at_least(1), "cpu_replicas": NON_NEGATIVE,
    "steps_per_loop": at_least(1),
    "center_alpha": FRACTION,
    # data
    "image_size": at_least(8), "pk_k": at_least(1), "synth_identities": at_least(2), "synth_heldout": NON_NEGATIVE,
    "synth_max_images": at_least(2), "synth_seed": NON_NEGATIVE,
    "aug_crop": Limit(0, 0.9), "aug_rotate": Limit(0, 45), "aug_color": Limit(0, 1), "aug_gray": FRACTION,
    "aug_lowres": FRACTION, "aug_blur": FRACTION, "aug_jpeg": FRACTION, "aug_erase": FRACTION,
    # model (margins also per head, below)
    "embedding_size": at_least(2), "dropout": Limit(0, 1, open_hi=True), "scale": POSITIVE, "margin": ANY,
    "m1": POSITIVE, "m3": ANY, "mlreg_weight": NON_NEGATIVE, "scale_warmup_steps": NON_NEGATIVE,
    "sample_rate": Limit(0, 1, open_lo=True),
    # optimisation
    "steps": at_least(1), "batch_size": at_least(2), "lr": POSITIVE, "momentum": Limit(0, 1, open_hi=True),
    "weight_decay": NON_NEGATIVE, "lr_boundaries": at_least(1), "lr_factor": POSITIVE, "warmup_steps": NON_NEGATIVE,
    # evaluation
    "eval_batch": at_least(1), "eval_every": NON_NEGATIVE, "gallery_per_id": at_least(1),
    "open_set_fraction": Limit(0, 1, open_hi=True), "bootstrap": NON_NEGATIVE, "distractor_sizes": NON_NEGATIVE,
    "ida_anchors_per_identity": NON_NEGATIVE, "ida_k": at_least(1), "ida_tau": POSITIVE,
    "ida_ssr_steps": at_least(1), "ida_ssr_lr": POSITIVE,
    # metric losses
    "contrastive_margin": NON_NEGATIVE, "triplet_margin": NON_NEGATIVE, "npair_l2": NON_NEGATIVE,
    "ms_alpha": POSITIVE, "ms_beta": POSITIVE, "ms_lambda": Limit(-1, 1), "ms_eps": NON_NEGATIVE,
    "rll_alpha": POSITIVE, "rll_margin": NON_NEGATIVE, "rll_tn": POSITIVE, "rll_tp": NON_NEGATIVE,
    "hist_bins": at_least(2),
    # methods
    "discface_lambda": NON_NEGATIVE, "discface_basis_max_norm": POSITIVE, "discface_num_bases": at_least(1),
    "sft_lambda": NON_NEGATIVE, "sft_tail_threshold": NON_NEGATIVE, "sft_warmup_steps": NON_NEGATIVE,
    "ftl_rich_dim": at_least(2), "ftl_ur_max_images": at_least(1), "ftl_pretrain_steps": NON_NEGATIVE,
    "ftl_alternate_steps": NON_NEGATIVE, "ftl_lr_pretrain": POSITIVE, "ftl_lr_alternate": POSITIVE,
    "ftl_alpha_softmax": NON_NEGATIVE, "ftl_alpha_recon": NON_NEGATIVE, "ftl_alpha_reg": NON_NEGATIVE,
    "ftl_pca_energy": Limit(0, 1, open_lo=True), "ftl_pca_components": NON_NEGATIVE, "ftl_pose_threshold": ANY,
    "ddl_pairs_per_replica": at_least(1), "ddl_pairs_per_identity": at_least(1), "ddl_weight": NON_NEGATIVE,
    "ddl_bins": at_least(2), "ddl_gamma": POSITIVE, "ddl_lambda_pos": NON_NEGATIVE, "ddl_lambda_neg": NON_NEGATIVE,
    "ddl_lambda_order": NON_NEGATIVE, "ddl_outlier": Limit(-1, 1),
}

# each margin head's margins (the flag --margin is m2 of the combined form): beyond them the target logit no
# longer falls below the plain cosine over the whole angle range, and training "converges" at once to nothing
HEAD_LIMITS: dict[str, dict[str, Limit]] = {
    "arcface": {"margin": Limit(0, math.pi / 2, open_hi=True)},  # additive angle, below a right angle
    "cosface": {"margin": Limit(0, 1, open_hi=True)},  # cos θ − m, below the cosine's range half-width
    "combined": {"margin": Limit(0, math.pi / 2, open_hi=True), "m1": Limit(1, 4), "m3": Limit(0, 1, open_hi=True)},
}


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, tuple) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return []


def check_limits(cfg: Any) -> None:
    """Raise :class:`ConfigError` for the first numeric setting of ``cfg`` (a RunConfig or EvaluateConfig)
    outside its range, and for margins outside the chosen head's."""
    for flag in cfg.flag_paths():
        limit = LIMITS.get(flag)
        for x in _numbers(cfg.setting(flag)):
            if limit is not None and not limit.holds(x):
                raise ConfigError(f"`{flag}={_shown(cfg.setting(flag))}` must be {limit}.")
    head = cfg.setting("head") if "head" in cfg.flag_paths() else None
    for flag, limit in HEAD_LIMITS.get(head, {}).items():
        if not limit.holds(float(cfg.setting(flag))):
            raise ConfigError(f"`{flag}={cfg.setting(flag):g}` with `head={head}` must be {limit} (outside it the "
                              "margin no longer makes the target class harder, and training learns nothing).")


def _shown(value: Any) -> str:
    return ",".join(f"{v:g}" for v in value) if isinstance(value, tuple) else f"{value:g}"
