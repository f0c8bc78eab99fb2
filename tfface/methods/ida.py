"""IDA (Liu et al. 2021) in evaluate.py: IDA-scored verification (``--score=ida_r|ida_l``) and the
``ida_ssr`` / ``ida_sweep`` / ``ida_export`` protocols, over the scoring kit in :mod:`tfface.scoring`."""

from __future__ import annotations

from tfface.evaluation.calibration import calibrate, people
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import evaluate_pairs
from tfface.export.saved_model import export_ida, load_embedder, read_metadata, write_metadata
from tfface.registry import Protocol, register_protocol, requires
from tfface.runtime.model import head_anchors
from tfface.scoring import protocols as scoring
from tfface.scoring.score import COSINE, Score
from tfface.settings import NON_NEGATIVE, POSITIVE, EvaluateConfig, Section, at_least, section, setting


@section("ida", prefix="ida_", programs=("evaluate",))
class IDASettings(Section):
    """IDA (Liu et al. 2021) test-time scoring: the anchor set, DAO's k and τ, and the SSR of IDA-L."""

    anchors: str = setting("", "IDA anchor set: an embeddings .npy/.npz, a CSV image list (embedded with the model) "
                           "or 'head' (the --checkpoint's class weights).")
    anchors_per_identity: int = setting(1, "IDA: images per identity when --ida_anchors is a list (0 = all).",
                                        limit=NON_NEGATIVE)
    k: int = setting(10, "IDA: support-set size k.", limit=at_least(1))
    tau: float = setting(1.0, "IDA: τ of DAO (Eq. 4).", limit=POSITIVE)
    ssr: str = setting("", "IDA-L: the ssr.keras written by --protocol=ida_ssr.")
    ssr_steps: int = setting(30000, "IDA-L: SSR training steps (paper 30k, lr ×0.1 at 50/67/83%).", limit=at_least(1))
    ssr_lr: float = setting(1e-3, "IDA-L: SSR learning rate (paper 1e-3).", limit=POSITIVE)


def _anchors(cfg: EvaluateConfig, embed, size: int):
    """The anchor set of --ida_anchors (a 'head' needs --checkpoint)."""
    head = (lambda: head_anchors(cfg.checkpoint)) if cfg.checkpoint else None
    return scoring.anchor_set(cfg.ida.anchors, embed, size, cfg.eval.root, cfg.ida.anchors_per_identity, head)


def score_of(cfg: EvaluateConfig, embed, size: int) -> Score:
    """The :class:`Score` of ``--score``, built once: cosine; IDA-R from the anchor set (``--ida_anchors``,
    ``--ida_k``); IDA-L from the SSR (``--ida_ssr``); DAO's ``--ida_tau``."""
    if cfg.score == "cosine":
        return COSINE
    anchors = _anchors(cfg, embed, size)[0] if cfg.score == "ida_r" else None
    ssr = scoring.load_ssr(cfg.ida.ssr) if cfg.score == "ida_l" else None
    return scoring.build_score(cfg.score, anchors, cfg.ida.k, cfg.ida.tau, ssr)


def train_ssr(cfg: EvaluateConfig, score: Score) -> dict:
    """Fit IDA-L's SSR on the --eval_list embeddings (Sec. 3.3), writing ssr.keras to the out folder."""
    embed, size = load_embedder(cfg.model)
    anchors, labels = _anchors(cfg, embed, size)
    return scoring.train_ssr_protocol(embed, size, cfg.eval_list, cfg.eval.root, anchors, labels, cfg.ida.k,
                                      cfg.ida.tau, cfg.ida.ssr_steps, cfg.ida.ssr_lr, cfg.out_dir(), cfg.eval.flip)


def sweep(cfg: EvaluateConfig, score: Score) -> dict:
    """IDA-R verification over k and τ."""
    embed, size = load_embedder(cfg.model)
    rep = scoring.sweep(embed, size, cfg.eval.pairs, cfg.eval.root, _anchors(cfg, embed, size)[0], cfg.out_dir(),
                        flip=cfg.eval.flip)
    return {k: v for k, v in rep.items() if k not in ("over_k", "over_tau")}


def export(cfg: EvaluateConfig, score: Score) -> dict:
    """The SavedModel with the score_ida (and density) signatures; with --eval_pairs, the thresholds of its IDA
    scores calibrated on them (``calibration_by_score`` in its tfface.json, read by :func:`tfface.load`)."""
    embed, size = load_embedder(cfg.model)
    anchors = _anchors(cfg, embed, size)[0]
    ssr = scoring.load_ssr(cfg.ida.ssr) if cfg.ida.ssr else None
    path = export_ida(cfg.model, f"{cfg.out_dir()}/export_ida", anchors, cfg.ida.k, cfg.ida.tau, ssr, cfg.eval.flip)
    calibrated = {}
    if cfg.eval.pairs:
        pairs = read_pairs(cfg.eval.pairs, cfg.eval.root)
        persons = people(pairs.path1, pairs.path2, pairs.same)
        for name in ("ida_r", "ida_l") if ssr is not None else ("ida_r",):
            ida_score = scoring.build_score(name, anchors, cfg.ida.k, cfg.ida.tau, ssr)
            _, scores = evaluate_pairs(embed, pairs, size, cfg.eval.batch, cfg.eval.flip, ida_score)
            calibrated[name] = calibrate(scores, pairs.same, name, cfg.eval.flip, cfg.eval.pairs, persons=persons)
        write_metadata(path, {**read_metadata(path), "calibration_by_score": calibrated})
    return {"protocol": "ida_export", "export": path, "anchors": int(len(anchors)),
            "calibrated_scores": sorted(calibrated)}


register_protocol(Protocol("ida_ssr", train_ssr, check=requires("eval_list"), uses_ida=True))
register_protocol(Protocol("ida_sweep", sweep, check=requires("eval_pairs"), uses_ida=True))
register_protocol(Protocol("ida_export", export, uses_ida=True, reads=("eval_pairs",)))
