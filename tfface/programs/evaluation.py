"""evaluate.py's protocols by name: the built-in ones (verification, the labelled-list protocols, LiteRT) are
registered here, the paper methods' in :mod:`tfface.methods`, a user's through ``--imports``."""

from __future__ import annotations

import functools

import tfface.methods  # noqa: F401  (registers the methods' protocols)
from tfface.config import EvaluateConfig
from tfface.errors import ConfigError
from tfface.evaluation.protocols import run_protocol
from tfface.export.saved_model import load_embedder, load_keras_backbone
from tfface.methods.ida import ida_verification, score_density
from tfface.programs.tflite import tflite_report
from tfface.programs.training import checkpoint_to_saved_model
from tfface.registry import LIST_PROTOCOLS, PROTOCOLS, Protocol, import_modules, register_protocol, requires
from tfface.runtime.verify import verify_saved_model


def evaluate(cfg: EvaluateConfig) -> dict:
    """Run ``cfg.protocol`` on ``cfg.model`` or ``cfg.checkpoint`` (exported first when the protocol needs a
    SavedModel) and return its summary."""
    if bool(cfg.model) == bool(cfg.checkpoint):
        raise ConfigError("give exactly one of --model=<SavedModel folder> or --checkpoint=<workdir>.")
    import_modules(cfg.imports)
    protocol = protocol_named(cfg.protocol)
    if protocol.needs == "checkpoint" and not cfg.checkpoint:
        raise ConfigError(f"--protocol={cfg.protocol} needs --checkpoint=<train.py workdir> (it reads more than "
                          "the exported embedder).")
    if protocol.check is not None:
        protocol.check(cfg)
    if protocol.needs == "model" and not cfg.model:
        cfg = cfg.replace(model=checkpoint_to_saved_model(cfg.checkpoint))
    return protocol.run(cfg)


def protocol_named(name: str) -> Protocol:
    """The registered protocol ``name``; a labelled-list protocol is run by :func:`run_list_protocol`."""
    if name in PROTOCOLS:
        return PROTOCOLS.get(name)
    if name in LIST_PROTOCOLS:
        return Protocol(name, functools.partial(run_list_protocol, name), check=requires("eval_list"))
    raise ConfigError(f"--protocol={name}: no such protocol; choose "
                      f"{', '.join(sorted({*PROTOCOLS.names(), *LIST_PROTOCOLS.names()}))}, or register your own "
                      "and load it with --imports=<module or file.py>.")


def verification(cfg: EvaluateConfig) -> dict:
    """Verification on --eval_pairs: eval.json and its ROC plot; scored by cosine or, with --score, IDA."""
    if cfg.score != "cosine":
        return ida_verification(cfg)
    rep = verify_saved_model(cfg.model, cfg.eval.pairs, cfg.eval.root, cfg.out_dir(), cfg.eval.flip, cfg.eval.batch)
    return {"accuracy": rep["accuracy"], "tar_at_far": rep["tar_at_far"], "auc": rep["auc"]}


def run_list_protocol(name: str, cfg: EvaluateConfig) -> dict:
    """A labelled-list protocol on the --eval_list images (its report file holds the curves)."""
    lists, (embed, size) = cfg.lists, load_embedder(cfg.model)
    options = {"gallery_per_id": lists.gallery_per_id, "open_set_fraction": lists.open_set_fraction,
               "attribute": lists.easy_hard_attribute, "ranges": lists.easy_hard_ranges, "use_abs": lists.easy_hard_abs,
               "bootstrap": lists.bootstrap, "score": cfg.score}
    if cfg.score != "cosine":
        if not LIST_PROTOCOLS.get(name).scores:
            raise ConfigError(f"`score={cfg.score}` does not apply to `protocol={name}` (it scores by cosine).")
        options.update(density=score_density(cfg, embed, size), tau=cfg.ida.tau)
    report = run_protocol(name, embed, size, cfg.eval_list, cfg.eval.root, cfg.out_dir(), cfg.eval.flip,
                          cfg.eval.batch, options)
    return {k: v for k, v in report.items() if not isinstance(v, list) and k != "histograms"}


def tflite(cfg: EvaluateConfig) -> dict:
    """LiteRT variants of the model with their size and, given --eval_pairs, agreement and accuracy."""
    report = tflite_report(load_keras_backbone(cfg.model), cfg.model, cfg.out_dir("tflite"), cfg.tflite_quantize,
                           cfg.eval.pairs, cfg.eval.root, cfg.eval.flip)
    keep = ("bytes", "accuracy", "min_cosine_to_saved_model")
    return {name: {k: v for k, v in row.items() if k in keep} for name, row in report["variants"].items()}


register_protocol(Protocol("verification", verification, check=requires("eval_pairs")))
register_protocol(Protocol("tflite", tflite))
