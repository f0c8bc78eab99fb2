"""Protocols over a labelled image list: embed, report, plot. :func:`list_protocol` registers one in the one
protocol registry; retrieval, identification, distribution, all pairs and scenario are registered here,
methods register their own (sft, easy_hard)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable

import numpy as np

import tfface.messages as messages
from tfface.data.sources import from_list_file
from tfface.errors import ConfigError, DataError
from tfface.evaluation import all_pairs, distribution, identification, retrieval, scenario_gaps
from tfface.evaluation.results import require_numbers
from tfface.models.embed import EmbedFn, embed_paths
from tfface.registry import PROTOCOLS, Protocol, register_protocol, requires
from tfface.scoring.score import COSINE, Score
from tfface.settings import NON_NEGATIVE, Limit, Section, at_least, section, setting


@section("lists", programs=("evaluate",))
class ListProtocolSettings(Section):
    """The protocols over a labelled image list (identification, easy/hard, all pairs, distractors)."""

    gallery_per_id: int = setting(1, "Identification: gallery images per identity (the rest are probes).",
                                  limit=at_least(1))
    open_set_fraction: float = setting(0.1, "Identification: share of identities left out of the gallery (their "
                                       "probes are non-mated, for TPIR@FPIR).", limit=Limit(0, 1, open_hi=True))
    easy_hard_attribute: str = setting("", "easy_hard protocol: attribute column of --eval_list splitting easy and "
                                       "hard images (e.g. light_azimuth, resolution).")
    easy_hard_ranges: tuple[str, ...] = setting((), "easy_hard protocol: lo:hi ranges of |attribute|, easy first, "
                                                "then one per hard partition (e.g. 0:25,60:90,90:130).")
    easy_hard_abs: bool = setting(True, "easy_hard protocol: compare |attribute| with the ranges.")
    bootstrap: int = setting(200, "all_pairs and ijb_1to1 protocols: identity (subject) bootstrap replicates for the "
                             "95% intervals of TAR@FAR (0 = none).", limit=NON_NEGATIVE)
    distractors: str | None = setting(None, "distractors protocol: CSV path,identity of images of people not in "
                                      "--eval_list, added to the gallery.")
    distractor_sizes: tuple[int, ...] = setting((), "distractors protocol: the numbers of distractors to report "
                                                "rank-1 at (default 0, 10, 100, … and all).", limit=NON_NEGATIVE)


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


def identification_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """Closed-set CMC and open-set TPIR@FPIR with ``gallery_per_id`` images of each identity as the gallery and
    an ``open_set_fraction`` of identities kept out of it; IDA's log DAO when ``options["density"]`` is given."""
    g, p = split_gallery(labels, options.get("gallery_per_id", 1), options.get("open_set_fraction", 0.1))
    score: Score = options.get("score", COSINE)
    lf = score.log_density(emb)
    scored = {"log_density": None if lf is None else (lf[g], lf[p]), "tau": score.tau}
    curve = identification.cmc(emb[g], labels[g], emb[p], labels[p], **scored)
    identification.plot_cmc(curve, os.path.join(out_dir, "identification_cmc.png"))
    return {"score": score.name, "rank1": float(curve[0]), "cmc": curve.tolist(),
            "tpir_at_fpir": identification.tpir_at_fpir(emb[g], labels[g], emb[p], labels[p], **scored),
            "gallery": int(g.sum()), "probes": int(p.sum())}


def check_identification_list(source, options: dict) -> None:
    """Before embedding: the gallery split leaves probes whose identity is in the gallery."""
    per_id = options.get("gallery_per_id", 1)
    g, p = split_gallery(source.labels, per_id, options.get("open_set_fraction", 0.1))
    if not np.isin(source.labels[p], source.labels[g]).any():
        raise DataError(f"`eval_list={options['list_file']}`: no identity has more than `gallery_per_id={per_id}` "
                        f"image(s), so every image goes to the gallery and no probe has a mate there; identification "
                        "needs identities with more images (or a lower `gallery_per_id`).")


def check_all_pairs_list(source, options: dict) -> None:
    """Before embedding: the list makes genuine and impostor pairs."""
    counts = source.class_counts
    if source.num_classes < 2 or counts.max() < 2:
        raise DataError(f"`eval_list={options['list_file']}`: {source.num_classes} identit"
                        f"{'y' if source.num_classes == 1 else 'ies'} with at most {counts.max()} image(s) each gives "
                        f"{'no impostor' if source.num_classes < 2 else 'no genuine'} pairs; all-pairs verification "
                        "needs two or more identities and some with two or more images.")


def distribution_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    report = distribution.distribution_report(emb, labels)
    distribution.plot_distribution(report, os.path.join(out_dir, "distribution.png"))
    return report


def all_pairs_protocol_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """Every pair of the list's images: TAR@FAR down to the impostor count's support, with identity-bootstrap
    intervals, and the ROC / DET plot (``all_pairs.png``); IDA's log DAO when ``options["density"]`` is given."""
    score: Score = options.get("score", COSINE)
    blocks, score_range = None, (-1.0, 1.0)
    if not score.is_cosine:
        lf = score.log_density(emb)
        blocks = all_pairs.ida_blocks(emb, lf, score.tau)
        score_range = all_pairs.ida_score_range(lf, score.tau)
    step = max(1, len(labels) // 10)

    def progress(done: int, total: int) -> None:
        if done % step < options.get("block", 1024) or done == total:
            messages.info(f"all pairs: {done}/{total} rows scored")

    report = all_pairs.all_pairs_report(emb, labels, options.get("bootstrap", 200), options.get("block", 1024),
                                        blocks, score_range, progress=progress)
    all_pairs.plot_all_pairs(report, os.path.join(out_dir, "all_pairs.png"), score.name)
    if report.get("identical_impostor_pairs"):
        messages.info(f"warning: {report['identical_impostor_pairs']} impostor pairs of {options['list_file']} score "
                      f"cosine ≥ {all_pairs.IDENTICAL_COSINE} — the same image under two identities (label noise); "
                      "they set the thresholds at the lowest FARs. Remove the duplicates from the list.")
    return {"score": score.name, **report}


def scenario_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """The gap a SynthFaces scenario was built for, from its ``meta.csv`` (columns split and group): probe rank-1
    per group against the training images' class centres, and per-identity FAR of the held-out identities at the
    threshold of global FAR ``options["far"]`` (1e-3), by cosine or, given ``options["density"]``, IDA's log
    DAO."""
    split, group = source.attributes["split"], source.attributes["group"]
    report: dict = {}
    train, probe, held = split == "train", split == "probe", split == "heldout"
    if probe.any():
        report["probes"] = scenario_gaps.probe_rank1_by_group(emb[train], labels[train], emb[probe], labels[probe],
                                                              group[probe])
    if held.any():
        score: Score = options.get("score", COSINE)
        scores = scenario_gaps.pair_scores(emb[held], score.log_density(emb[held]), score.tau)
        report["heldout_far"] = {"score": score.name, **scenario_gaps.far_spread(
            scores, labels[held], group[held], float(options.get("far", 1e-3)))}
    return report


def check_scenario_list(source, options: dict) -> None:
    missing = [c for c in ("split", "group") if c not in source.attributes]
    if missing:
        raise ConfigError(f"`--protocol=scenario` needs the meta.csv of a SynthFaces scenario render (columns split "
                          f"and group); {options['list_file']} has no {', '.join(missing)}. Render one with "
                          f"`python train.py --synth_scenario=<name>` and point --eval_list at its meta.csv.")


@dataclasses.dataclass(frozen=True)
class ListReport:
    """What a labelled-list protocol computes: ``report(emb, labels, source, out_dir, options) -> dict`` on the
    list's embeddings (plots to ``out_dir``), after ``check(source, options)`` (None: nothing to check) refused
    settings the list cannot serve, before any image is embedded."""

    report: Callable[..., dict]
    check: Callable[..., None] | None = None


def list_protocol(name: str, report: Callable[..., dict], check: Callable[..., None] | None = None,
                  scores: bool = False, reads: tuple[str, ...] = ()) -> Protocol:
    """Register protocol ``name`` over the images of ``--eval_list``: embedded by the model, reported by
    ``report`` (reading the settings ``reads`` of the lists section), scored by ``--score`` when ``scores``."""
    return register_protocol(Protocol(name, functools.partial(_run_list_protocol, name), check=requires("eval_list"),
                                      scores=scores, report=ListReport(report, check), reads=reads))


def _run_list_protocol(name: str, cfg, score: Score) -> dict:
    """A labelled-list protocol run by evaluate.py on the --eval_list images (its report file holds the curves)."""
    from tfface.export.saved_model import load_embedder

    lists, (embed, size) = cfg.lists, load_embedder(cfg.model)
    options = {"gallery_per_id": lists.gallery_per_id, "open_set_fraction": lists.open_set_fraction,
               "attribute": lists.easy_hard_attribute, "ranges": lists.easy_hard_ranges, "use_abs": lists.easy_hard_abs,
               "bootstrap": lists.bootstrap, "score": score}
    report = run_protocol(name, embed, size, cfg.eval_list, cfg.eval.root, cfg.out_dir(), cfg.eval.flip,
                          cfg.eval.batch, options)
    return {k: v for k, v in report.items() if not isinstance(v, list) and k != "histograms"}


list_protocol("scenario", scenario_report, check=check_scenario_list, scores=True)
list_protocol("all_pairs", all_pairs_protocol_report, check=check_all_pairs_list, scores=True, reads=("bootstrap",))
list_protocol("retrieval", lambda emb, labels, *_: retrieval.retrieval_report(emb, labels))
list_protocol("identification", identification_report, check=check_identification_list, scores=True,
              reads=("gallery_per_id", "open_set_fraction"))
list_protocol("distribution", distribution_report)


def run_protocol(protocol: str, embed: EmbedFn, image_size: int, list_file: str, root: str | None,
                 out_dir: str, flip: bool = True, batch: int = 256, options: dict | None = None) -> dict:
    """Embed the list's images and write ``<protocol>.json`` (+ a PNG where there is a curve), by the
    registered list protocol of that name; ``options`` are its settings (e.g. ``gallery_per_id``, and the
    ``score``, a :class:`~tfface.scoring.score.Score`)."""
    spec = PROTOCOLS.get(protocol).report
    if spec is None:
        raise ConfigError(f"`protocol={protocol}` is not a protocol over a labelled image list.")
    options = {"list_file": str(list_file), **(options or {})}
    src = from_list_file(list_file, root)
    if spec.check is not None:
        spec.check(src, options)
    src.check_files_exist()
    emb = embed_paths(embed, src.paths, image_size, batch, flip)
    os.makedirs(out_dir, exist_ok=True)
    report = {"protocol": protocol, "list_file": str(list_file), **spec.report(emb, src.labels, src, out_dir, options)}
    require_numbers(report, f"`protocol={protocol}` on {list_file}")
    with open(os.path.join(out_dir, f"{protocol}.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report
