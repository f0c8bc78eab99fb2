"""A train.py workdir read back: its config, its number of classes and its latest checkpoint."""

from __future__ import annotations

import json
import pathlib

from tfface import messages
from tfface.config import RunConfig
from tfface.training.checkpoints import newest_readable


def read_workdir(workdir: str) -> tuple[RunConfig, int, str]:
    """(cfg, number of classes, latest checkpoint path) of a train.py workdir, or a clear error."""
    cfg_file = pathlib.Path(workdir) / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"`checkpoint={workdir}`: no config.json; point it at a train.py workdir.")
    raw = json.loads(cfg_file.read_text())
    num_classes = raw.pop("num_classes")
    raw.pop("head_sharded", None)
    latest = newest_readable(str(pathlib.Path(workdir) / "checkpoints"), messages.info)
    if not latest:
        raise FileNotFoundError(f"`checkpoint={workdir}`: no readable checkpoint in {workdir}/checkpoints.")
    return RunConfig.from_dict(raw), num_classes, latest
