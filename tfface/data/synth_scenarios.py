"""SynthFaces scenarios: layouts of identities and images that render the mechanism one paper exploits.

A layout says which identities exist, how many images each has, which images are trained on (``train``), held
back as probes of training identities (``probe``) or belong to identities never trained on (``heldout``, the
verification pairs), which part of the scenario each image belongs to (``group``), and each image's nuisance.

- ``default``: long-tailed training identities (capped Pareto) and held-out identities with a fixed count.
- ``ur_pose`` (FTL, Yin et al. 2019, Sec. 3 and Table 1): half the training identities are *regular*
  (REGULAR_TRAIN images over the full yaw range ±WIDE_YAW), half *under-represented* (UR_TRAIN images, all
  near-frontal, |yaw| ≤ FRONTAL_YAW). Probes of both at large yaw (PROFILE_YAW). A model sees UR identities only
  frontal, so its UR rank-1 at large yaw trails the regular one; FTL claims to transfer the regular classes'
  pose variance to the UR classes.
- ``longtail`` (DiscFace, SFT): HEAD_FRACTION of the classes hold HEAD_IMAGES images each and the rest
  TAIL_IMAGES (with the defaults 10% of the classes hold 80% of the images); PROBES unseen images of every
  training class. DiscFace (Sec. 3) claims the tail classes suffer from a process discrepancy; SFT (Sec. 3.2)
  that transferring the head's intra-class variation to the tail helps.
- ``hard_partitions`` (DDL, Huang et al. 2020, Sec. 3.1): every identity has *easy* images (near-frontal, sharp,
  full resolution, no noise) and *hard* ones (large yaw, or HARD_RESOLUTION px with blur and noise, or both).
  DDL distils the easy images' similarity distributions into the hard ones'.
- ``density`` (IDA, Liu et al. 2021, Sec. 3): half the held-out identities come in families of FAMILY_SIZE
  look-alikes (parameters within LOOKALIKE_SPREAD of the range around a family centre), half are isolated; one
  global threshold then accepts far more impostors in the families, which IDA's local calibration targets.

Every count and range here is ours (the papers describe the mechanism, not a synthetic setting), chosen so the
baseline shows the gap each scenario is built for (bench/reproduce.py reports it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfface.data.synth_render import IDENTITY_RANGES, SynthFacesConfig, class_sizes, sample_identities, sample_nuisance
from tfface.errors import ConfigError

WIDE_YAW = 60.0
FRONTAL_YAW = 15.0
PROFILE_YAW = (30.0, 60.0)
REGULAR_TRAIN, UR_TRAIN, UR_POSE_PROBES = 40, 5, 8
HEAD_FRACTION, HEAD_IMAGES, TAIL_IMAGES, LONGTAIL_PROBES = 0.1, 72, 2, 5
EASY_TRAIN, HARD_TRAIN, PARTITION_PROBES = 12, 12, 5
EASY_YAW, HARD_YAW, HARD_RESOLUTION = 10.0, (40.0, 60.0), (12, 16)
FAMILY_SIZE, LOOKALIKE_SPREAD = 5, 0.04


@dataclasses.dataclass(frozen=True)
class Layout:
    """Identities and images of a render: ``identities`` (parameters per identity), and per image its owner
    (identity index), split (train / probe / heldout), group and nuisance."""

    identities: dict[str, np.ndarray]
    owner: np.ndarray
    split: np.ndarray
    group: np.ndarray
    nuisance: dict[str, np.ndarray]


def layout(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    """The layout of ``cfg.scenario``, drawn from ``rng``."""
    if cfg.scenario not in SCENARIOS:
        raise ConfigError(f"`synth_scenario={cfg.scenario}` is unknown; choose one of {', '.join(SCENARIOS)}.")
    return SCENARIOS[cfg.scenario](cfg, rng)


def _default(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    n_id = cfg.train_identities + cfg.heldout_identities
    identities = sample_identities(n_id, rng)
    sizes = np.concatenate([class_sizes(cfg, rng), np.full(cfg.heldout_identities, cfg.heldout_images)])
    owner = np.repeat(np.arange(n_id), sizes)
    split = np.where(owner < cfg.train_identities, "train", "heldout")
    return Layout(identities, owner, split, np.full(len(owner), ""), sample_nuisance(len(owner), rng, cfg))


def _blocks(cfg: SynthFacesConfig, rng: np.random.Generator, identities: dict[str, np.ndarray],
            blocks: list[tuple[np.ndarray, int, str, str]]) -> Layout:
    """A layout of image blocks (identity indices, images per identity, split, group), each image with the
    default nuisance (a block's scenario overrides parts of it afterwards)."""
    owner = np.concatenate([np.repeat(ids, n) for ids, n, _, _ in blocks])
    split = np.concatenate([np.full(len(ids) * n, s) for ids, n, s, _ in blocks])
    group = np.concatenate([np.full(len(ids) * n, g) for ids, n, _, g in blocks])
    return Layout(identities, owner, split, group, sample_nuisance(len(owner), rng, cfg))


def _yaw_band(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Yaw with |yaw| uniform in [lo, hi], either side."""
    return rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)


def _heldout_block(cfg: SynthFacesConfig) -> tuple[np.ndarray, int, str, str]:
    n_train = cfg.train_identities
    return np.arange(n_train, n_train + cfg.heldout_identities), cfg.heldout_images, "heldout", ""


def _ur_pose(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    n_reg = cfg.train_identities // 2
    regular, ur = np.arange(n_reg), np.arange(n_reg, cfg.train_identities)
    out = _blocks(cfg, rng, sample_identities(cfg.train_identities + cfg.heldout_identities, rng), [
        (regular, REGULAR_TRAIN, "train", "regular"), (ur, UR_TRAIN, "train", "ur"),
        (regular, UR_POSE_PROBES, "probe", "regular"), (ur, UR_POSE_PROBES, "probe", "ur"), _heldout_block(cfg)])
    yaw = out.nuisance["yaw"]
    yaw[:] = rng.uniform(-WIDE_YAW, WIDE_YAW, len(yaw))
    frontal = (out.split == "train") & (out.group == "ur")
    yaw[frontal] = rng.uniform(-FRONTAL_YAW, FRONTAL_YAW, frontal.sum())
    probes = out.split == "probe"
    yaw[probes] = _yaw_band(rng, probes.sum(), *PROFILE_YAW)
    return out


def _longtail(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    n_head = max(1, int(round(HEAD_FRACTION * cfg.train_identities)))
    head, tail = np.arange(n_head), np.arange(n_head, cfg.train_identities)
    return _blocks(cfg, rng, sample_identities(cfg.train_identities + cfg.heldout_identities, rng), [
        (head, HEAD_IMAGES, "train", "head"), (tail, TAIL_IMAGES, "train", "tail"),
        (head, LONGTAIL_PROBES, "probe", "head"), (tail, LONGTAIL_PROBES, "probe", "tail"), _heldout_block(cfg)])


def _hard_partitions(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    train = np.arange(cfg.train_identities)
    held = np.arange(cfg.train_identities, cfg.train_identities + cfg.heldout_identities)
    half = cfg.heldout_images // 2
    out = _blocks(cfg, rng, sample_identities(cfg.train_identities + cfg.heldout_identities, rng), [
        (train, EASY_TRAIN, "train", "easy"), (train, HARD_TRAIN, "train", "hard"),
        (train, PARTITION_PROBES, "probe", "easy"), (train, PARTITION_PROBES, "probe", "hard"),
        (held, half, "heldout", "easy"), (held, cfg.heldout_images - half, "heldout", "hard")])
    nuis, easy, hard = out.nuisance, out.group == "easy", out.group == "hard"
    nuis["yaw"][easy] = rng.uniform(-EASY_YAW, EASY_YAW, easy.sum())
    nuis["downsample"] = nuis["downsample"].astype(float)
    nuis["downsample"][easy], nuis["blur"][easy], nuis["noise"][easy] = 1.0, 0.0, 0.0
    kind = rng.choice(["pose", "resolution", "both"], len(out.owner))
    posed, small = hard & (kind != "resolution"), hard & (kind != "pose")
    nuis["yaw"][posed] = _yaw_band(rng, posed.sum(), *HARD_YAW)
    nuis["yaw"][hard & ~posed] = rng.uniform(-EASY_YAW, EASY_YAW, (hard & ~posed).sum())
    px = rng.integers(HARD_RESOLUTION[0], HARD_RESOLUTION[1] + 1, small.sum())
    nuis["downsample"][small] = cfg.image_size / px
    nuis["downsample"][hard & ~small] = 1.0
    nuis["blur"][small] = rng.uniform(0.5, 1.0, small.sum())
    nuis["noise"][small] = rng.uniform(0.03, 0.06, small.sum())
    return out


def _density(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    base = _default(cfg, rng)
    n_families = cfg.heldout_identities // 2 // FAMILY_SIZE
    first = cfg.train_identities
    for f in range(n_families):
        members = np.arange(first + f * FAMILY_SIZE, first + (f + 1) * FAMILY_SIZE)
        for name, (lo, hi) in IDENTITY_RANGES.items():
            centre = base.identities[name][members[0]]
            jitter = rng.normal(0.0, LOOKALIKE_SPREAD * (hi - lo), FAMILY_SIZE)
            base.identities[name][members] = np.clip(centre + jitter, lo, hi)
    family = (base.owner - first) // FAMILY_SIZE
    in_family = (base.split == "heldout") & (family < n_families)
    group = np.where(base.split == "heldout", "isolated", "").astype(object)
    group[in_family] = [f"family{f:03d}" for f in family[in_family]]
    return dataclasses.replace(base, group=group.astype(str))


SCENARIOS = {"default": _default, "ur_pose": _ur_pose, "longtail": _longtail, "hard_partitions": _hard_partitions,
             "density": _density}
