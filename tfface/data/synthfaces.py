"""SynthFaces: procedurally rendered faces, the data every tfface run can use with no download.

An identity is a vector of face-shape parameters (head shape, jaw, eye spacing/size, brows, nose,
mouth, skin tone, hair colour and hairline, a cheek mark). Every image of an identity is rendered
with its own nuisance: yaw/pitch/roll, light direction and strength, expression, scale and shift
jitter, low resolution, blur and noise. Class sizes follow a capped Pareto law (most classes few
images, a few many). Everything is deterministic from a seed and vectorised in NumPy.

``build_synthfaces(cfg)`` renders once into a cache folder as PNG files with ``meta.csv``
(path, identity, split, yaw, pitch, light_azimuth, light_strength, expression, resolution, and for a
scenario its group) and a verification ``pairs.csv`` over the held-out identities; later calls reuse the
folder. The renderer is tfface.data.synth_render; the scenarios' layouts tfface.data.synth_scenarios.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pathlib
import shutil
import tempfile

import numpy as np

import tfface.messages as messages
from tfface.data.synth_render import SynthFacesConfig, render, resolution
from tfface.data.synth_scenarios import layout, params_key


def default_cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TFFACE_CACHE", pathlib.Path.home() / ".cache" / "tfface"))


def build_synthfaces(cfg: SynthFacesConfig, cache_dir: str | os.PathLike | None = None,
                     chunk: int = 512, log=messages.info) -> pathlib.Path:
    """Render SynthFaces into ``cache_dir/synthfaces-<key>`` once; return that folder.

    The folder holds ``images/<identity>/<n>.png``, ``meta.csv`` and ``pairs.csv``.
    """
    from PIL import Image

    root = pathlib.Path(cache_dir or default_cache_dir()) / f"synthfaces-{cfg.key(params_key(cfg.scenario))}"
    if (root / "meta.csv").exists() and (root / "pairs.csv").exists():
        return root
    plan = layout(cfg, np.random.default_rng(cfg.seed))
    ident, owner, nuis, splits = plan.identities, plan.owner, plan.nuisance, plan.split
    n_id = len(plan.identities["face_w"])
    names = [f"id{i:05d}" for i in range(n_id)]
    pixels = resolution(nuis, cfg.image_size)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".synthfaces-", dir=root.parent))
    log(f"SynthFaces: rendering {len(owner)} images of {n_id} identities at {cfg.image_size}px into {root}")
    counter = np.zeros(n_id, int)
    rows = []
    for start in range(0, len(owner), chunk):
        sl = slice(start, start + chunk)
        imgs = render({k: v[owner[sl]] for k, v in ident.items()},
                      {k: v[sl] for k, v in nuis.items()}, cfg.image_size)
        for j, img in enumerate(imgs):
            i = owner[start + j]
            rel = f"images/{names[i]}/{counter[i]}.png"
            counter[i] += 1
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(tmp / rel, compress_level=1)
            k = start + j
            rows.append([rel, names[i], splits[k], f"{nuis['yaw'][k]:.1f}", f"{nuis['pitch'][k]:.1f}",
                         f"{nuis['light_azimuth'][k]:.1f}", f"{nuis['light_strength'][k]:.3f}",
                         f"{nuis['expression'][k]:.3f}", str(pixels[k])]
                        + ([plan.group[k]] if cfg.scenario != "default" else []))
    with open(tmp / "meta.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "identity", "split", "yaw", "pitch", "light_azimuth", "light_strength",
                    "expression", "resolution"] + (["group"] if cfg.scenario != "default" else []))
        w.writerows(rows)
    held = [r for r in rows if r[2] == "heldout"]
    write_balanced_pairs(tmp / "pairs.csv", [r[0] for r in held], [r[1] for r in held],
                         cfg.pairs_per_fold * 10 // 2, np.random.default_rng(cfg.seed + 1))
    settings = {**dataclasses.asdict(cfg), "scenario_params": params_key(cfg.scenario)}
    (tmp / "config.json").write_text(json.dumps(settings, indent=1))
    if (root / "meta.csv").exists() and (root / "pairs.csv").exists():  # another process rendered it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        return root
    if root.exists():  # a half-written folder from an interrupted run of an older version
        shutil.rmtree(root)
    try:
        os.replace(tmp, root)
    except OSError:  # another process's complete render took the name first
        shutil.rmtree(tmp, ignore_errors=True)
        if not (root / "meta.csv").exists():
            raise
    return root


def write_balanced_pairs(path, paths: list[str], labels: list[str], n_each: int,
                         rng: np.random.Generator) -> None:
    """Write ``path1,path2,same`` with n_each distinct same pairs and as many different pairs
    (fewer of both when the identities do not hold n_each distinct same pairs)."""
    labels_arr = np.asarray(labels)
    by_id: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_id.setdefault(lab, []).append(i)
    multi = [v for v in by_id.values() if len(v) > 1]
    n_each = min(n_each, sum(len(v) * (len(v) - 1) // 2 for v in multi))  # as many as exist
    same, diff = set(), set()
    while len(same) < n_each:
        grp = multi[rng.integers(len(multi))]
        i, j = rng.choice(grp, 2, replace=False)
        same.add((min(i, j), max(i, j)))
    while len(diff) < n_each:
        i, j = rng.integers(len(paths), size=2)
        if labels_arr[i] != labels_arr[j]:
            diff.add((min(i, j), max(i, j)))
    rows = [(paths[i], paths[j], 1) for i, j in sorted(same)] + [(paths[i], paths[j], 0) for i, j in sorted(diff)]
    order = rng.permutation(len(rows))
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path1", "path2", "same"])
        w.writerows(rows[k] for k in order)
