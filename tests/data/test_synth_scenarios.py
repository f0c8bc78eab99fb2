"""SynthFaces scenarios: each layout renders the mechanism its docstring names (counts, poses, degradations,
look-alike families), a scenario render keeps probes out of training, and low resolution at any pixel count."""

import csv
import dataclasses

import numpy as np
import pytest

from tfface.data import synth_scenarios as sc
from tfface.data.synth_render import IDENTITY_RANGES, SynthFacesConfig, _area_weights, _degrade, resolution
from tfface.errors import ConfigError

UR = sc.PARAMS["ur_pose"]


def plan(scenario: str, **kw):
    cfg = SynthFacesConfig(train_identities=40, heldout_identities=20, image_size=64, scenario=scenario, **kw)
    return cfg, sc.layout(cfg, np.random.default_rng(0))


def test_ur_pose_shows_ur_identities_only_frontal_and_probes_them_at_large_yaw():
    _, p = plan("ur_pose")
    yaw, train, probe = np.abs(p.nuisance["yaw"]), p.split == "train", p.split == "probe"
    ur, regular = p.group == "ur", p.group == "regular"
    assert np.bincount(p.owner[train & ur]).max() == UR.ur_train
    assert set(np.bincount(p.owner[train & regular])[:20]) == {UR.regular_train}
    assert yaw[train & ur].max() <= UR.frontal_yaw
    assert yaw[train & regular].max() > UR.wide_yaw - 5 and yaw[train & regular].min() < 5  # the full range
    lo, hi = UR.profile_yaw
    assert yaw[probe].min() >= lo and yaw[probe].max() <= hi and (probe & ur).sum() == 20 * UR.probes
    assert set(p.owner[p.split == "heldout"]) == set(range(40, 60))


def test_longtail_puts_80_percent_of_the_images_in_10_percent_of_the_classes():
    _, p = plan("longtail")
    counts = np.bincount(p.owner[p.split == "train"])
    top = np.sort(counts)[::-1][:4]  # 10% of 40
    assert abs(top.sum() / counts.sum() - 0.8) < 0.01 and counts.min() == sc.PARAMS['longtail'].tail_images
    assert (np.bincount(p.owner[p.split == "probe"]) == sc.PARAMS['longtail'].probes).all()


def test_hard_partitions_have_clean_frontal_easy_images_and_posed_or_tiny_hard_ones():
    cfg, p = plan("hard_partitions")
    n, easy, hard = p.nuisance, p.group == "easy", p.group == "hard"
    px = resolution(n, cfg.image_size)
    assert (np.abs(n["yaw"][easy]) <= sc.PARAMS['hard_partitions'].easy_yaw).all() and (px[easy] == 64).all()
    assert (n["blur"][easy] == 0).all() and (n["noise"][easy] == 0).all()
    posed, tiny = np.abs(n["yaw"]) >= 40, (px >= 12) & (px <= 16)
    assert (posed | tiny)[hard].all() and posed[hard].mean() > 0.5 and tiny[hard].mean() > 0.5
    assert (n["blur"][hard & tiny] >= 0.5).all() and (n["noise"][hard & tiny] >= 0.03).all()
    for split in ("train", "probe", "heldout"):
        assert (easy & (p.split == split)).sum() == (hard & (p.split == split)).sum()


def test_density_makes_families_of_look_alikes_among_the_heldout_identities():
    _, p = plan("density")
    scaled = np.stack([(p.identities[k] - lo) / (hi - lo) for k, (lo, hi) in IDENTITY_RANGES.items()], 1)
    family = scaled[40:45]  # the first family
    isolated = scaled[50:60]
    within = np.linalg.norm(family[:, None] - family[None], axis=-1)[np.triu_indices(5, 1)]
    between = np.linalg.norm(isolated[:, None] - isolated[None], axis=-1)[np.triu_indices(10, 1)]
    assert within.max() < 0.5 * between.min()
    groups = set(p.group[p.split == "heldout"])
    assert groups == {"family000", "family001", "isolated"} and set(p.group[p.split == "train"]) == {""}
    # the anchors (IDA's support set): 2 more look-alikes of each family and as many isolated identities
    anchors = np.unique(p.owner[p.split == "anchor"])
    assert anchors.tolist() == list(range(60, 68))
    assert [p.group[p.owner == a][0] for a in anchors] == ["family000"] * 2 + ["family001"] * 2 + ["isolated"] * 4
    kin = scaled[60:62]  # family000's anchors
    assert np.linalg.norm(kin[:, None] - family[None], axis=-1).max() < 0.5 * between.min()


def test_default_layout_is_the_long_tail_and_unknown_scenarios_name_the_flag():
    _, p = plan("default")
    assert set(p.split) == {"train", "heldout"} and set(p.group) == {""}
    with pytest.raises(ConfigError, match="synth_scenario=nope"):
        plan("nope")


def test_low_resolution_at_a_pixel_count_that_does_not_divide_the_size():
    w = _area_weights(64, 16)
    np.testing.assert_allclose(w.sum(1), 1, rtol=1e-6)  # averages
    np.testing.assert_allclose(w, np.kron(np.eye(16), np.full((1, 4), 0.25)), atol=1e-7)  # = block mean
    rng = np.random.default_rng(1)
    img = rng.uniform(size=(2, 64, 64, 3)).astype(np.float32)
    nuis = {"downsample": np.array([64 / 12, 1.0]), "blur": np.zeros(2), "noise": np.zeros(2),
            "yaw": np.zeros(2)}
    out = _degrade(img.copy(), nuis)
    assert len(np.unique(out[0, 10, :, 0])) == 12 and len(np.unique(out[0, :, 10, 0])) == 12
    assert abs(out[0].mean() - img[0].mean()) < 1e-3  # area averaging keeps the mean
    np.testing.assert_array_equal(out[1], img[1])


def test_a_scenario_render_keeps_probes_out_of_training_and_writes_the_group(tmp_path, monkeypatch):
    from tfface.config import RunConfig
    from tfface.data.build import training_source

    cfg = RunConfig.of(synth_scenario="ur_pose", synth_identities=6, synth_heldout=4, image_size=32,
                       cache_dir=str(tmp_path))
    source, pairs = training_source(cfg, log=lambda s: None)
    rows = list(csv.DictReader(open(tmp_path.glob("synthfaces-*").__next__() / "meta.csv")))
    assert len(source.paths) == sum(r["split"] == "train" for r in rows) == 3 * UR.regular_train + 3 * UR.ur_train
    assert {r["group"] for r in rows if r["split"] == "probe"} == {"regular", "ur"}
    assert set(source.attributes["group"]) == {"regular", "ur"} and pairs.endswith("pairs.csv")
    default = RunConfig.of(synth_identities=6, synth_heldout=4, image_size=32, cache_dir=str(tmp_path))
    training_source(default, log=lambda s: None)
    assert len(list(tmp_path.glob("synthfaces-*"))) == 2  # its own cache
    monkeypatch.setitem(sc.PARAMS, "ur_pose", dataclasses.replace(UR, ur_train=3))  # other settings, another render
    assert len(training_source(cfg, log=lambda s: None)[0].paths) == 3 * UR.regular_train + 3 * 3
    assert len(list(tmp_path.glob("synthfaces-*"))) == 3


def test_colour_spread_squeezes_only_the_identity_colours(monkeypatch):
    def with_spread(spread):
        monkeypatch.setitem(sc.PARAMS, "hard_partitions", dataclasses.replace(sc.PARAMS["hard_partitions"],
                                                                              colour_spread=spread))
        return plan("hard_partitions")[1]

    wide, narrow = with_spread(1.0), with_spread(0.1)
    for name in sc.COLOURS:
        mid = sum(IDENTITY_RANGES[name]) / 2
        np.testing.assert_allclose(narrow.identities[name] - mid, 0.1 * (wide.identities[name] - mid), atol=1e-12)
    np.testing.assert_array_equal(narrow.identities["eye_sep"], wide.identities["eye_sep"])
