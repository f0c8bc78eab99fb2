"""DDL's evaluation (Huang et al., ECCV 2020, Sec. 4), ``evaluate.py --protocol=easy_hard``: identification with
an easy gallery and hard probes, per student partition, and the similarity-distribution statistics of Fig. 6."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from tfface.data.ddl_sampling import parse_range
from tfface.errors import ConfigError
from tfface.evaluation import distribution, identification
from tfface.evaluation.protocols import list_protocol


@dataclasses.dataclass(frozen=True)
class EasyHardSplit:
    gallery: np.ndarray  # one easy image per identity
    probes: list[np.ndarray]  # per student partition: its images of gallery identities
    easy: np.ndarray  # all easy images


def easy_hard_split(labels: np.ndarray, values: np.ndarray, ranges: list[tuple[float, float]],
                    use_abs: bool = True) -> EasyHardSplit:
    """Gallery = the first easy (teacher-range) image of each identity; probes = each student range's
    images of identities in the gallery (the SCface protocol: HR gallery, LR probes per distance)."""
    v = np.abs(values) if use_abs else values
    inside = [(v >= lo) & (v <= hi) for lo, hi in ranges]
    easy = np.flatnonzero(inside[0])
    _, first = np.unique(labels[easy], return_index=True)
    gallery = easy[first]
    known = np.isin(labels, labels[gallery])
    probes = [np.flatnonzero(m & known) for m in inside[1:]]
    return EasyHardSplit(gallery, probes, easy)


def easy_hard_report(emb: np.ndarray, labels: np.ndarray, split: EasyHardSplit, bins: int = 100) -> dict:
    """Rank-1 of each student partition's probes against the easy gallery (and of the remaining easy images,
    the easy/hard gap's reference; None when the gallery holds every easy image), and for the easy set and each
    hard set the positive/negative similarity distributions (expectation margin, intersection; Fig. 6)."""
    out = {"gallery": int(len(split.gallery)), "students": [], "easy_rank1": None}
    easy_probes = np.setdiff1d(split.easy, split.gallery)
    if len(easy_probes):
        curve = identification.cmc(emb[split.gallery], labels[split.gallery], emb[easy_probes], labels[easy_probes])
        out["easy_rank1"] = float(curve[0])
    dists = {"easy": distribution.distribution_report(emb[split.easy], labels[split.easy], bins)}
    for k, probes in enumerate(split.probes, 1):
        if len(probes) == 0:
            raise ConfigError(f"student partition {k} has no images of gallery identities in `eval_list`.")
        curve = identification.cmc(emb[split.gallery], labels[split.gallery], emb[probes], labels[probes])
        out["students"].append({"partition": k, "probes": int(len(probes)), "rank1": float(curve[0]),
                                "rank5": float(curve[min(4, len(curve) - 1)])})
        dists[f"student{k}"] = distribution.distribution_report(emb[probes], labels[probes], bins)
    out["distributions"] = {k: {m: d[m] for m in ("expectation_margin", "intersection", "mean_pos", "mean_neg")}
                            for k, d in dists.items()}
    out["histograms"] = {k: {"bin_edges": d["bin_edges"], "hist_pos": d["hist_pos"], "hist_neg": d["hist_neg"]}
                         for k, d in dists.items()}
    return out


def plot_easy_hard(report: dict, path: str) -> None:
    """Positive/negative similarity histograms of the easy and each hard set (cf. Fig. 6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hists = report["histograms"]
    fig, ax = plt.subplots(1, len(hists), figsize=(4.2 * len(hists), 3.4), squeeze=False)
    for a, (name, h) in zip(ax[0], hists.items()):
        edges = np.array(h["bin_edges"])
        mid = (edges[:-1] + edges[1:]) / 2
        a.plot(mid, h["hist_pos"], label="positive")
        a.plot(mid, h["hist_neg"], label="negative")
        d = report["distributions"][name]
        margin = "n/a" if d["expectation_margin"] is None else f"{d['expectation_margin']:.3f}"
        a.set_title(f"{name}: margin {margin}, ∩ {d['intersection']:.3f}", fontsize=9)
        a.set_xlabel("cosine")
    ax[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)



def check_easy_hard(source, options: dict) -> None:
    """--easy_hard_attribute must be a column of the list and --easy_hard_ranges give easy and ≥ 1 hard range."""
    if options.get("attribute") not in source.attributes or len(options.get("ranges", ())) < 2:
        columns = ", ".join(source.attributes) or "none"
        raise ConfigError(f"`protocol=easy_hard` needs `easy_hard_attribute` (a column of "
                          f"{options.get('list_file', 'the list')}; it has {columns}) and "
                          "`easy_hard_ranges=easy,hard[,hard…]`.")


def easy_hard_protocol_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """``--protocol=easy_hard``: easy-gallery / hard-probe identification and distributions, ``easy_hard.png``."""
    ranges = [parse_range(r, "`easy_hard_ranges`") for r in options["ranges"]]
    split = easy_hard_split(labels, np.asarray(source.attributes[options["attribute"]], float), ranges,
                            options.get("use_abs", True))
    report = easy_hard_report(emb, labels, split)
    plot_easy_hard(report, os.path.join(out_dir, "easy_hard.png"))
    return report


list_protocol("easy_hard", easy_hard_protocol_report, check_easy_hard,
              reads=("easy_hard_attribute", "easy_hard_ranges", "easy_hard_abs"))
