"""Train with the method a RunConfig names, and export any method's checkpoint."""

from __future__ import annotations

import pathlib

import tfface.methods  # noqa: F401  (registers the built-in methods)
from tfface.export.saved_model import export_saved_model
from tfface.registry import METHODS, import_modules, refuse_unread, trust_imports
from tfface.runtime.run import PRINT
from tfface.runtime.workdir import read_workdir
from tfface.settings import RunConfig


def train(cfg: RunConfig, printer=PRINT) -> dict:
    """Train, export a SavedModel and evaluate verification with ``cfg.method`` (after importing
    ``cfg.imports``, where user methods register); return the evaluation report. Settings outside their range,
    and settings given that the method would not read, stop it before anything is written."""
    trust_imports(cfg.imports, files=cfg.trust_imports)
    import_modules(cfg.imports)
    cfg.validate()
    method = METHODS.get(cfg.method)
    refuse_unread(cfg, method)
    return method.train(cfg, printer)


def checkpoint_to_saved_model(workdir: str, out: str | None = None) -> str:
    """Rebuild the embedding model of a training workdir (its method's), restore its latest checkpoint and
    export it."""
    cfg, _, _ = read_workdir(workdir)
    import_modules(cfg.imports)
    embedder, info = METHODS.get(cfg.method).restore_embedder(workdir)
    out = out or str(pathlib.Path(workdir) / "export_from_checkpoint")
    return export_saved_model(embedder, out, cfg.data.image_size, info, flip=cfg.eval.flip)
