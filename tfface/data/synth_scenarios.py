"""SynthFaces scenarios: layouts of identities and images that render the mechanism one paper exploits.

A layout says which identities exist, how many images each has, which images are trained on (``train``), held
back as probes of training identities (``probe``) or belong to identities never trained on (``heldout``, the
verification pairs; ``anchor``, IDA's support set), which part of the scenario each image belongs to
(``group``), and each image's nuisance.

- ``default``: long-tailed training identities (capped Pareto) and held-out identities with a fixed count.
- ``ur_pose`` (FTL, Yin et al. 2019, Sec. 3 and Table 1): half the training identities are *regular*
  (``regular_train`` images over the full yaw range ±``wide_yaw``), half *under-represented* (``ur_train``
  images, all near-frontal, |yaw| ≤ ``frontal_yaw``). Probes of both at large yaw (``profile_yaw``). A model
  sees UR identities only frontal, so its UR rank-1 at large yaw trails the regular one; FTL claims to transfer
  the regular classes' pose variance to the UR classes.
- ``longtail`` (DiscFace, SFT): ``head_fraction`` of the classes hold ``head_images`` images each and the rest
  ``tail_images`` (with the defaults 10% of the classes hold 80% of the images); ``probes`` unseen images of
  every training class. DiscFace (Sec. 3) claims the tail classes suffer from a process discrepancy; SFT (Sec. 3.2)
  that transferring the head's intra-class variation to the tail helps.
- ``hard_partitions`` (DDL, Huang et al. 2020, Sec. 3.1): every identity has *easy* images (near-frontal, sharp,
  full resolution, no noise) and *hard* ones (large yaw, or ``hard_resolution`` px with blur and noise, or both).
  DDL distils the easy images' similarity distributions into the hard ones'.
- ``density`` (IDA, Liu et al. 2021, Sec. 3): half the held-out identities come in families of ``family_size``
  look-alikes (parameters ``lookalike_spread`` of the range around a family centre), half are isolated; one
  global threshold then accepts far more impostors in the families, which IDA's local calibration targets.
  IDA scores against a support set drawn from the same population: the ``anchor`` identities, ``family_anchors``
  more look-alikes of each family and as many isolated identities (never trained on, never tested).

Every count and range here (PARAMS, one dataclass per scenario) is ours: the papers describe the mechanism, not
a synthetic setting. They are chosen so the baseline shows the gap each scenario is built for (bench/reproduce.py
reports it) and are part of a render's cache key.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfface.data.synth_render import IDENTITY_RANGES, SynthFacesConfig, class_sizes, sample_identities, sample_nuisance
from tfface.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class URPose:
    wide_yaw: float = 75.0  # regular training images and held-out identities: yaw in ±wide_yaw
    frontal_yaw: float = 15.0  # UR training images: |yaw| ≤ frontal_yaw
    profile_yaw: tuple[float, float] = (45.0, 75.0)  # probes: |yaw| in this band
    regular_train: int = 40
    ur_train: int = 5
    probes: int = 8
    colour_spread: float = 0.1  # identities' skin / hair / iris / lip colours span this share of their ranges
    # (at 1.0 colour alone told the UR probes apart: a baseline reached 95% UR rank-1 at 45–75° yaw)


@dataclasses.dataclass(frozen=True)
class LongTail:
    head_fraction: float = 0.1
    head_images: int = 72
    tail_images: int = 2
    probes: int = 5
    colour_spread: float = 1.0  # identities' skin / hair / iris / lip colours span this share of their ranges


@dataclasses.dataclass(frozen=True)
class HardPartitions:
    easy_train: int = 12
    hard_train: int = 12
    probes: int = 5  # of each partition
    easy_yaw: float = 10.0  # easy (and resolution-only hard) images: |yaw| ≤ easy_yaw
    hard_yaw: tuple[float, float] = (40.0, 60.0)
    hard_resolution: tuple[int, int] = (12, 16)  # px, before upsampling to the image size
    hard_blur: tuple[float, float] = (0.5, 1.0)
    hard_noise: tuple[float, float] = (0.03, 0.06)
    colour_spread: float = 0.1  # identities' skin / hair / iris / lip colours span this share of their ranges
    # (at 1.0 colour carried identity through any degradation: a baseline reached 99.5% rank-1 on hard probes)


@dataclasses.dataclass(frozen=True)
class Density:
    family_size: int = 5  # held-out members of a family
    family_anchors: int = 2  # further members of each family among the anchor identities
    lookalike_spread: float = 0.04  # std of a member's parameters around its family centre, × the range
    colour_spread: float = 1.0  # identities' skin / hair / iris / lip colours span this share of their ranges


# each scenario's settings (ours); they are part of a render's cache key
PARAMS: dict[str, object] = {"default": None, "ur_pose": URPose(), "longtail": LongTail(),
                             "hard_partitions": HardPartitions(), "density": Density()}


def params_key(scenario: str) -> dict:
    """The settings of ``scenario`` as a dict (empty for default), for the cache key."""
    spec = PARAMS.get(scenario)
    return dataclasses.asdict(spec) if spec is not None else {}


@dataclasses.dataclass(frozen=True)
class Layout:
    """Identities and images of a render: ``identities`` (parameters per identity), and per image its owner
    (identity index), split (train / probe / heldout / anchor), group and nuisance."""

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


COLOURS = ("skin_r", "skin_g", "skin_b", "hair_r", "hair_g", "hair_b", "iris", "lip")


def _squeeze_colours(identities: dict[str, np.ndarray], colour_spread: float) -> dict[str, np.ndarray]:
    """The identities with their colours squeezed to ``colour_spread`` of their ranges around the middle, so that
    an identity lies in the face's geometry, which pose and resolution change, more than in its colours, which
    they do not."""
    for name in COLOURS:
        mid = sum(IDENTITY_RANGES[name]) / 2
        identities[name] = mid + colour_spread * (identities[name] - mid)
    return identities


def _identities(n: int, rng: np.random.Generator, colour_spread: float) -> dict[str, np.ndarray]:
    return _squeeze_colours(sample_identities(n, rng), colour_spread)


def _yaw_band(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Yaw with |yaw| uniform in [lo, hi], either side."""
    return rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)


def _heldout_block(cfg: SynthFacesConfig) -> tuple[np.ndarray, int, str, str]:
    n_train = cfg.train_identities
    return np.arange(n_train, n_train + cfg.heldout_identities), cfg.heldout_images, "heldout", ""


def _ur_pose(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    q: URPose = PARAMS["ur_pose"]
    n_reg = cfg.train_identities // 2
    regular, ur = np.arange(n_reg), np.arange(n_reg, cfg.train_identities)
    out = _blocks(cfg, rng, _identities(cfg.train_identities + cfg.heldout_identities, rng, q.colour_spread), [
        (regular, q.regular_train, "train", "regular"), (ur, q.ur_train, "train", "ur"),
        (regular, q.probes, "probe", "regular"), (ur, q.probes, "probe", "ur"), _heldout_block(cfg)])
    yaw = out.nuisance["yaw"]
    yaw[:] = rng.uniform(-q.wide_yaw, q.wide_yaw, len(yaw))
    frontal = (out.split == "train") & (out.group == "ur")
    yaw[frontal] = rng.uniform(-q.frontal_yaw, q.frontal_yaw, frontal.sum())
    probes = out.split == "probe"
    yaw[probes] = _yaw_band(rng, probes.sum(), *q.profile_yaw)
    return out


def _longtail(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    q: LongTail = PARAMS["longtail"]
    n_head = max(1, int(round(q.head_fraction * cfg.train_identities)))
    head, tail = np.arange(n_head), np.arange(n_head, cfg.train_identities)
    return _blocks(cfg, rng, _identities(cfg.train_identities + cfg.heldout_identities, rng, q.colour_spread), [
        (head, q.head_images, "train", "head"), (tail, q.tail_images, "train", "tail"),
        (head, q.probes, "probe", "head"), (tail, q.probes, "probe", "tail"), _heldout_block(cfg)])


def _hard_partitions(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    q: HardPartitions = PARAMS["hard_partitions"]
    train = np.arange(cfg.train_identities)
    held = np.arange(cfg.train_identities, cfg.train_identities + cfg.heldout_identities)
    half = cfg.heldout_images // 2
    out = _blocks(cfg, rng, _identities(cfg.train_identities + cfg.heldout_identities, rng, q.colour_spread), [
        (train, q.easy_train, "train", "easy"), (train, q.hard_train, "train", "hard"),
        (train, q.probes, "probe", "easy"), (train, q.probes, "probe", "hard"),
        (held, half, "heldout", "easy"), (held, cfg.heldout_images - half, "heldout", "hard")])
    nuis, easy, hard = out.nuisance, out.group == "easy", out.group == "hard"
    nuis["yaw"][easy] = rng.uniform(-q.easy_yaw, q.easy_yaw, easy.sum())
    nuis["downsample"] = nuis["downsample"].astype(float)
    nuis["downsample"][easy], nuis["blur"][easy], nuis["noise"][easy] = 1.0, 0.0, 0.0
    kind = rng.choice(["pose", "resolution", "both"], len(out.owner))
    posed, small = hard & (kind != "resolution"), hard & (kind != "pose")
    nuis["yaw"][posed] = _yaw_band(rng, posed.sum(), *q.hard_yaw)
    nuis["yaw"][hard & ~posed] = rng.uniform(-q.easy_yaw, q.easy_yaw, (hard & ~posed).sum())
    px = rng.integers(q.hard_resolution[0], q.hard_resolution[1] + 1, small.sum())
    nuis["downsample"][small] = cfg.image_size / px
    nuis["downsample"][hard & ~small] = 1.0
    nuis["blur"][small] = rng.uniform(*q.hard_blur, small.sum())
    nuis["noise"][small] = rng.uniform(*q.hard_noise, small.sum())
    return out


def _density(cfg: SynthFacesConfig, rng: np.random.Generator) -> Layout:
    q: Density = PARAMS["density"]
    n_train, n_held = cfg.train_identities, cfg.heldout_identities
    n_families = n_held // 2 // q.family_size
    n_anchor = n_families * q.family_anchors  # look-alike anchors, and as many isolated ones
    identities = _identities(n_train + n_held + 2 * n_anchor, rng, q.colour_spread)
    family_of = np.full(len(identities["face_w"]), -1)
    for f in range(n_families):
        members = np.concatenate([n_train + f * q.family_size + np.arange(q.family_size),
                                  n_train + n_held + f * q.family_anchors + np.arange(q.family_anchors)])
        family_of[members] = f
        for name, (lo, hi) in IDENTITY_RANGES.items():
            jitter = rng.normal(0.0, q.lookalike_spread * (hi - lo), len(members))
            identities[name][members] = np.clip(identities[name][members[0]] + jitter, lo, hi)
    sizes = np.concatenate([class_sizes(cfg, rng), np.full(n_held + 2 * n_anchor, cfg.heldout_images)])
    owner = np.repeat(np.arange(len(sizes)), sizes)
    split = np.where(owner < n_train, "train", np.where(owner < n_train + n_held, "heldout", "anchor"))
    group = np.where(split == "train", "", "isolated").astype(object)
    in_family = family_of[owner] >= 0
    group[in_family] = [f"family{f:03d}" for f in family_of[owner][in_family]]
    return Layout(identities, owner, split, group.astype(str), sample_nuisance(len(owner), rng, cfg))


SCENARIOS = {"default": _default, "ur_pose": _ur_pose, "longtail": _longtail, "hard_partitions": _hard_partitions,
             "density": _density}
