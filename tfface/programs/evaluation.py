"""evaluate.py's protocols by name: the built-in ones (verification, the labelled-list protocols, LiteRT) are
registered here, the paper methods' in :mod:`tfface.methods`, a user's through ``--imports``."""

from __future__ import annotations

import json
import os
import pathlib
import time

import numpy as np

import tfface.messages as messages
import tfface.methods  # noqa: F401  (registers the methods' protocols)
from tfface.data.sources import from_list_file, require_files
from tfface.errors import ConfigError, DataError
from tfface.evaluation import all_pairs, identification, templates
from tfface.evaluation import distractors as distractor_search
from tfface.evaluation.results import require_numbers
from tfface.export.saved_model import load_embedder, load_keras_backbone, load_raw_embedder
from tfface.methods.ida import score_of
from tfface.models.embed import embed_paths
from tfface.programs.tflite import tflite_report
from tfface.programs.training import checkpoint_to_saved_model
from tfface.registry import (
    PROTOCOLS,
    Protocol,
    import_modules,
    refuse_unread_by_protocol,
    register_protocol,
    requires,
    trust_imports,
)
from tfface.runtime.verify import verify_saved_model
from tfface.scoring.score import COSINE, Score
from tfface.settings import EvaluateConfig, Section, section, setting

PROTOCOL_HELP = ("evaluate.py, by registered name: verification on --eval_pairs "
                 "(scored by --score); distractors: rank-1 of --eval_list probes against one gallery image per "
                 "identity as --distractors join the gallery (MegaFace-style); ijb_1to1 / ijb_1toN: IJB-style "
                 "template verification over --template_pairs / identification of --probe_templates against "
                 "--gallery_templates (write a set with tfface-make-templates); all_pairs: every pair of the "
                 "--eval_list images, TAR@FAR down to 1e-6 with bootstrap intervals (--bootstrap) and ROC / DET "
                 "plots (scored by --score); retrieval / identification / distribution statistics of the labelled "
                 "images of --eval_list; sft: SFT's analysis of --eval_list (r_w, ‖Aσ − σ‖, divergence); easy_hard: "
                 "DDL's easy-gallery / hard-probe identification and distributions (--easy_hard_attribute, "
                 "--easy_hard_ranges); discface: DiscFace's displacement discrepancies of a --checkpoint; ftl_nn: "
                 "FTL's nearest-centre rank-1 (regular / UR, g and f) and one-shot coverage for held-out "
                 "--eval_list images of the training classes; ftl_visualize: FTL's decoded centres, transfers and "
                 "interpolations (PNG); scenario: the gap a SynthFaces scenario render was built for (probe "
                 "rank-1 per group against the training images' class centres, per-identity FAR of the held-out "
                 "identities at one threshold), with the render's meta.csv as --eval_list; ida_ssr: train IDA-L's "
                 "SSR on --eval_list embeddings; ida_sweep: IDA-R over "
                 "k and τ on --eval_pairs; ida_export: the SavedModel with score_ida (and density) signatures; "
                 "tflite: LiteRT files of the model (--tflite_quantize) with their agreement and, given "
                 "--eval_pairs, verification accuracy beside the SavedModel's; or one of yours, registered by a "
                 "module named in --imports.")


@section("evaluate", programs=("evaluate",), flat=True)
class EvaluateSettings(Section):
    """What evaluate.py evaluates, by which protocol and score, and where it writes."""

    protocol: str = setting("verification", PROTOCOL_HELP)
    model: str | None = setting(None, "SavedModel folder written by train.py (<workdir>/export).")
    checkpoint: str | None = setting(None, "A train.py workdir: its latest checkpoint is exported first.")
    out: str | None = setting(None, "Where the protocol's JSON and plots go (default: a new folder "
                              "eval-<protocol>-<time> in the --checkpoint workdir or the --model's parent folder).")
    overwrite: bool = setting(False, "Without --out: write into the --checkpoint workdir or the --model's parent "
                              "folder itself, replacing the files of an earlier evaluation there (e.g. the eval.json "
                              "train.py wrote).")
    eval_list: str | None = setting(None, "CSV path,identity of test images (classes disjoint from training) for the "
                                    "retrieval, identification, distribution and sft protocols.")
    score: str = setting("cosine", "Score of the verification, all_pairs, identification, distractors and ijb "
                         "protocols: cosine, IDA with reference-based support sets (--ida_anchors) or with the "
                         "learned density (--ida_ssr); a template's density is that of its pooled feature.",
                         choices=("cosine", "ida_r", "ida_l"))
    calibrate: bool = setting(False, "verification protocol: write the score thresholds calibrated on --eval_pairs "
                              "(FAR 1e-1 … 1e-4 and the EER) into the --model's tfface.json, where tfface.load() "
                              "and verify() read them; use pairs like the ones the model will meet.")
    tflite_quantize: tuple[str, ...] = setting(("none", "float16", "int8"), "tflite protocol: variants to write — none "
                                               "(float32), float16 (float16 weights), int8 (dynamic range: int8 "
                                               "weights, float activations).")

    def unread(self, cfg) -> dict[str, str]:
        return {"overwrite": "`out` names the folder to write in"} if self.out else {}


def evaluate(cfg: EvaluateConfig) -> dict:
    """Run ``cfg.protocol`` on ``cfg.model`` or ``cfg.checkpoint`` (exported first when the protocol needs a
    SavedModel) and return its summary."""
    if bool(cfg.model) == bool(cfg.checkpoint):
        raise ConfigError("give exactly one of --model=<SavedModel folder> or --checkpoint=<workdir>.")
    cfg.validate()
    trust_imports(cfg.imports, files=cfg.trust_imports)
    import_modules(cfg.imports)
    protocol = PROTOCOLS.get(cfg.protocol)
    if cfg.score != "cosine" and not protocol.scores:
        raise ConfigError(f"`score={cfg.score}` does not apply to `protocol={cfg.protocol}` (it scores by cosine).")
    unused = [] if cfg.score != "cosine" or protocol.uses_ida else cfg.changed(cfg.section_flags("ida"))
    if unused:
        raise ConfigError(f"`{unused[0]}={cfg.setting(unused[0])}` applies with `score=ida_r|ida_l` or an ida_* "
                          f"protocol; `protocol={cfg.protocol}` with `score=cosine` would ignore it.")
    refuse_unread_by_protocol(cfg, protocol)
    if protocol.needs == "checkpoint" and not cfg.checkpoint:
        raise ConfigError(f"--protocol={cfg.protocol} needs --checkpoint=<train.py workdir> (it reads more than "
                          "the exported embedder).")
    if protocol.check is not None:
        protocol.check(cfg)
    if protocol.needs == "model" and not cfg.model:
        cfg = cfg.replace(model=checkpoint_to_saved_model(cfg.checkpoint))
    cfg = cfg.replace(out=output_folder(cfg))
    messages.info(f"writing the {cfg.protocol} results to {cfg.out}")
    score = score_of(cfg, *load_embedder(cfg.model)) if protocol.scores and cfg.score != "cosine" else COSINE
    return protocol.run(cfg, score)


def output_folder(cfg: EvaluateConfig) -> str:
    """Where an evaluation writes: ``out``; else the workdir or the model's parent folder itself with
    ``overwrite``; else a new folder ``eval-<protocol>-<time>`` in it, so no earlier result is replaced."""
    if cfg.out:
        return cfg.out
    base = pathlib.Path(cfg.checkpoint or pathlib.Path(cfg.model).parent)
    if cfg.overwrite:
        return str(base)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = base / f"eval-{cfg.protocol}-{stamp}", 1
    while path.exists():
        path, n = base / f"eval-{cfg.protocol}-{stamp}-{n}", n + 1
    return str(path)


def verification(cfg: EvaluateConfig, score: Score) -> dict:
    """Verification on --eval_pairs: eval.json (eval_<score>.json) and its ROC plot, scored by ``score``."""
    rep = verify_saved_model(cfg.model, cfg.eval.pairs, cfg.eval.root, cfg.out_dir(), cfg.eval.flip, cfg.eval.batch,
                             score=score, write_calibration=cfg.calibrate)
    summary = {"accuracy": rep["accuracy"], "tar_at_far": rep["tar_at_far"], "auc": rep["auc"],
               "thresholds": {far: entry["threshold"] for far, entry in rep["calibration"]["far"].items()}}
    return summary if score.is_cosine else {"score": score.name, **summary}


def _template_features(cfg: EvaluateConfig, embed, size: int, metadata: str):
    """(template ids, pooled features, subject per template) of an IJB-style metadata CSV's images, each image
    weighted by --template_weights before its media's average."""
    weighting = cfg.templates.template_weights
    images = templates.read_template_images(metadata, cfg.eval.root, None if weighting in ("", "norm") else weighting)
    require_files(images.paths, images.origin, "eval_root")
    if weighting == "norm":
        raw, raw_size = load_raw_embedder(cfg.model)
        emb = embed_paths(raw, images.paths, raw_size, cfg.eval.batch, cfg.eval.flip, normalize=False)
        weights = np.linalg.norm(emb, axis=1)
        emb = emb / np.maximum(weights, 1e-12)[:, None]
    else:
        emb, weights = embed_paths(embed, images.paths, size, cfg.eval.batch, cfg.eval.flip), images.weights
    tids, feats = templates.pool_templates(emb, images.templates, images.media, weights)
    subject_of = templates.template_subjects(images)
    return tids, feats, np.array([subject_of[t] for t in tids])


def _write(cfg: EvaluateConfig, name: str, report: dict, score: Score) -> dict:
    report = {"protocol": name, "score": score.name, **report}
    require_numbers(report, f"`protocol={name}`")
    os.makedirs(cfg.out_dir(), exist_ok=True)
    with open(os.path.join(cfg.out_dir(), f"{name}.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return {k: v for k, v in report.items() if not isinstance(v, list)}


def ijb_1to1(cfg: EvaluateConfig, score: Score) -> dict:
    """1:1 verification of IJB-style templates (pooled image features) over --template_pairs, with intervals
    from a bootstrap over subjects (--bootstrap) and the ROC / DET plot; scored by --score."""
    embed, size = load_embedder(cfg.model)
    tids, feats, subjects = _template_features(cfg, embed, size, cfg.templates.templates)
    t1, t2, same = templates.read_template_pairs(cfg.templates.template_pairs, dict(zip(tids, subjects)))
    report = templates.verification_report(tids, feats, t1, t2, same, subjects, cfg.lists.bootstrap,
                                           score.log_density(feats), score.tau)
    summary = _write(cfg, "ijb_1to1", {"template_weights": cfg.templates.template_weights, **report}, score)
    all_pairs.plot_all_pairs(report, os.path.join(cfg.out_dir(), "ijb_1to1.png"), score.name)
    return summary


def ijb_1ton(cfg: EvaluateConfig, score: Score) -> dict:
    """1:N identification of probe templates against gallery templates: rank-k, CMC, TPIR@FPIR; scored by
    --score."""
    embed, size = load_embedder(cfg.model)
    _, g_feats, g_subjects = _template_features(cfg, embed, size, cfg.templates.gallery_templates)
    _, p_feats, p_subjects = _template_features(cfg, embed, size, cfg.templates.probe_templates)
    log_density = None if score.is_cosine else (score.log_density(g_feats), score.log_density(p_feats))
    report = templates.identification_report(g_feats, g_subjects, p_feats, p_subjects, log_density, score.tau)
    summary = _write(cfg, "ijb_1toN", {"template_weights": cfg.templates.template_weights, **report}, score)
    identification.plot_cmc(np.array(report["cmc"]), os.path.join(cfg.out_dir(), "ijb_1toN_cmc.png"))
    return summary


def distractors(cfg: EvaluateConfig, score: Score) -> dict:
    """MegaFace-style 1:N: the first image of each --eval_list identity is its gallery image, the rest are
    probes; rank-1 as the first D of the shuffled --distractors join the gallery; scored by --score."""
    embed, size = load_embedder(cfg.model)
    src, dis = from_list_file(cfg.eval_list, cfg.eval.root), from_list_file(cfg.lists.distractors, cfg.eval.root)
    shared = set(src.class_names) & set(dis.class_names)
    if shared:
        raise DataError(f"{cfg.lists.distractors}: {len(shared)} of its identities are also in {cfg.eval_list} "
                        f"(e.g. {sorted(shared)[0]!r}); distractors must be other people.")
    too_many = [n for n in cfg.lists.distractor_sizes if n > len(dis)]
    if too_many:
        raise ConfigError(f"`distractor_sizes={','.join(map(str, cfg.lists.distractor_sizes))}`: {too_many[0]} is "
                          f"more than the {len(dis)} images of `distractors={cfg.lists.distractors}`.")
    for s in (src, dis):
        s.check_files_exist()
    emb = embed_paths(embed, src.paths, size, cfg.eval.batch, cfg.eval.flip)
    d_emb = embed_paths(embed, dis.paths, size, cfg.eval.batch, cfg.eval.flip)
    _, first = np.unique(src.labels, return_index=True)
    gallery = np.zeros(len(src.labels), bool)
    gallery[first] = True
    log_density = None
    if not score.is_cosine:
        lf = score.log_density(emb)
        log_density = (lf[gallery], lf[~gallery], score.log_density(d_emb))
    sizes = cfg.lists.distractor_sizes or tuple(distractor_search.decades(len(d_emb)))
    curve = distractor_search.rank1_with_distractors(emb[gallery], src.labels[gallery], emb[~gallery],
                                                     src.labels[~gallery], d_emb, sizes, log_density=log_density,
                                                     tau=score.tau)
    summary = _write(cfg, "distractors", {"gallery": int(gallery.sum()), "probes": int((~gallery).sum()),
                                          "distractors": int(len(d_emb)),
                                          "rank1": {str(k): v for k, v in curve.items()}}, score)
    distractor_search.plot_rank1(curve, os.path.join(cfg.out_dir(), "distractors.png"), f"1:N with distractors "
                                 f"({score.name})")
    return summary


def tflite(cfg: EvaluateConfig, score: Score) -> dict:
    """LiteRT variants of the model with their size and, given --eval_pairs, agreement and accuracy."""
    report = tflite_report(load_keras_backbone(cfg.model), cfg.model, cfg.out_dir("tflite"), cfg.tflite_quantize,
                           cfg.eval.pairs, cfg.eval.root, cfg.eval.flip)
    keep = ("bytes", "accuracy", "min_cosine_to_saved_model")
    return {name: {k: v for k, v in row.items() if k in keep} for name, row in report["variants"].items()}


register_protocol(Protocol("verification", verification, check=requires("eval_pairs"), scores=True,
                           reads=("calibrate",)))
register_protocol(Protocol("tflite", tflite, reads=("tflite_quantize", "eval_pairs")))
register_protocol(Protocol("distractors", distractors, check=requires("eval_list", "distractors"), scores=True,
                           reads=("distractor_sizes",)))
register_protocol(Protocol("ijb_1to1", ijb_1to1, check=requires("templates", "template_pairs"), scores=True,
                           reads=("template_weights", "bootstrap")))
register_protocol(Protocol("ijb_1toN", ijb_1ton, check=requires("gallery_templates", "probe_templates"),
                           scores=True, reads=("template_weights",)))
