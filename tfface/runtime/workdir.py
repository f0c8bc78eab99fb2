"""A train.py workdir read back: its config, its number of classes and its latest checkpoint."""

from __future__ import annotations

import json
import pathlib

import tfface.messages as messages
from tfface.registry import import_modules, imports_named
from tfface.settings import RunConfig
from tfface.training.checkpoints import newest_readable


def config_of(raw: dict, origin: str | None = None) -> RunConfig:
    """The settings a run's config.json holds, after importing the modules it names (``imports``), whose
    sections it may hold; ``origin`` (the file) when the user has not named them: see
    :func:`tfface.registry.import_modules`."""
    import_modules(imports_named(raw), origin)
    return RunConfig.from_dict({k: v for k, v in raw.items() if k not in RunConfig.RUN_RECORD})


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
    return config_of(raw, str(cfg_file)), num_classes, latest
