"""DiscFace's diagnostics of a trained workdir (``evaluate.py --protocol=discface``)."""

from __future__ import annotations

import json
import os

import numpy as np

from tfface.data.build import training_data
from tfface.methods.discface import discface_term, discrepancy_report
from tfface.models.embed import embed_paths
from tfface.registry import Protocol, register_protocol
from tfface.runtime.model import restore_model
from tfface.runtime.run import random_access_source


def discface_diagnostics(workdir: str, out_dir: str, max_images: int = 2000, batch: int = 256) -> dict:
    """DiscFace Sec. 3.2 diagnostics of a trained workdir on (up to ``max_images`` of) its training data:
    directional and radial displacement discrepancy and ‖ξ_eff‖; writes ``discface.json``."""
    cfg, backbone, head, extra, latest = restore_model(workdir, lambda cfg: {"discface": discface_term(cfg)})
    discface = extra["discface"]
    source = random_access_source(training_data(cfg, log=lambda s: None), "`protocol=discface`")
    pick = np.random.default_rng(0).permutation(len(source))[:max_images]
    emb = embed_paths(lambda x: backbone(x, training=False), source.paths[pick], cfg.data.image_size, batch)
    report = {"checkpoint": latest, "images": int(len(pick)),
              **discrepancy_report(emb, head.kernel.numpy(), source.labels[pick], discface)}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "discface.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report


register_protocol(Protocol("discface", lambda cfg, score: discface_diagnostics(cfg.checkpoint, cfg.out_dir()),
                           needs="checkpoint"))
