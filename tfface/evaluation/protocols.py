"""Protocols over a labelled image list (retrieval, identification, distribution, sft): embed, report, plot."""

from __future__ import annotations

import json
import os

import numpy as np

from tfface.data.sources import from_list_file
from tfface.errors import ConfigError
from tfface.evaluation import distribution, identification, retrieval
from tfface.evaluation.verification import EmbedFn, embed_paths


def split_gallery(labels: np.ndarray, per_id: int = 1, open_fraction: float = 0.1, seed: int = 0):
    """(gallery mask, probe mask): the first ``per_id`` images of each identity go to the gallery, except
    for a seeded ``open_fraction`` of identities kept out entirely (their images are non-mated probes)."""
    ids = np.unique(labels)
    rng = np.random.default_rng(seed)
    out = set(rng.choice(ids, int(round(open_fraction * len(ids))), replace=False).tolist())
    gallery = np.zeros(len(labels), bool)
    seen: dict[int, int] = {}
    for i, y in enumerate(labels):
        if y not in out and seen.get(y, 0) < per_id:
            gallery[i] = True
            seen[y] = seen.get(y, 0) + 1
    return gallery, ~gallery


def run_protocol(protocol: str, embed: EmbedFn, image_size: int, list_file: str, root: str | None,
                 out_dir: str, flip: bool = True, batch: int = 256, gallery_per_id: int = 1,
                 open_fraction: float = 0.1, easy_hard: tuple[str, list[str], bool] | None = None) -> dict:
    """Embed the list's images and write ``<protocol>.json`` (+ a PNG where there is a curve).
    ``easy_hard`` = (attribute, ranges, use |value|) for the easy_hard protocol."""
    src = from_list_file(list_file, root)
    if protocol == "easy_hard":
        attribute, ranges, use_abs = easy_hard or ("", [], True)
        if attribute not in src.attributes or len(ranges) < 2:
            raise ConfigError(f"--protocol=easy_hard needs --easy_hard_attribute (a column of {list_file}; it has "
                              f"{', '.join(src.attributes) or 'none'}) and --easy_hard_ranges=easy,hard[,hard…].")
    src.check_files_exist()
    emb = embed_paths(embed, src.paths, image_size, batch, flip)
    labels = src.labels
    os.makedirs(out_dir, exist_ok=True)
    if protocol == "retrieval":
        report = retrieval.retrieval_report(emb, labels)
    elif protocol == "distribution":
        report = distribution.distribution_report(emb, labels)
        distribution.plot_distribution(report, os.path.join(out_dir, "distribution.png"))
    elif protocol == "sft":
        from tfface.methods.sft import plot_sft_report, sft_report

        report = sft_report(emb, labels)
        plot_sft_report(report, os.path.join(out_dir, "sft.png"))
    elif protocol == "easy_hard":
        from tfface.data.ddl_sampling import parse_range
        from tfface.methods.ddl import easy_hard_report, easy_hard_split, plot_easy_hard

        split = easy_hard_split(labels, np.asarray(src.attributes[attribute], float),
                                [parse_range(r, "--easy_hard_ranges") for r in ranges], use_abs)
        report = easy_hard_report(emb, labels, split)
        plot_easy_hard(report, os.path.join(out_dir, "easy_hard.png"))
    elif protocol == "identification":
        g, p = split_gallery(labels, gallery_per_id, open_fraction)
        curve = identification.cmc(emb[g], labels[g], emb[p], labels[p])
        report = {"rank1": float(curve[0]), "cmc": curve.tolist(),
                  "tpir_at_fpir": identification.tpir_at_fpir(emb[g], labels[g], emb[p], labels[p]),
                  "gallery": int(g.sum()), "probes": int(p.sum())}
        identification.plot_cmc(curve, os.path.join(out_dir, "identification_cmc.png"))
    else:
        raise ValueError(f"--protocol={protocol!r} is not a list protocol")
    report = {"protocol": protocol, "list_file": str(list_file), **report}
    with open(os.path.join(out_dir, f"{protocol}.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report
