"""Rerunning a workdir that holds a checkpoint resumes it; the new settings are compared with the run's own
first. Settings that change the model, its input or what the checkpoint holds are refused (the restore would
fail half-way, or silently continue another model); the others are allowed and said. Nothing is written
before this check."""

from __future__ import annotations

import json
import pathlib

import tensorflow as tf

from tfface.errors import ConfigError
from tfface.runtime.workdir import config_of
from tfface.settings import RunConfig, structural_settings, untracked


def _previous_config(workdir: str) -> dict | None:
    """The config.json of the run a workdir holds, if it has a checkpoint to resume."""
    path = pathlib.Path(workdir)
    if not (path / "config.json").is_file() or not tf.train.latest_checkpoint(str(path / "checkpoints")):
        return None
    return json.loads((path / "config.json").read_text())


def previous_run(workdir: str) -> tuple[RunConfig, int] | None:
    """(settings, number of classes) of the run a workdir holds, if it has a checkpoint to resume."""
    raw = _previous_config(workdir)
    return None if raw is None else (config_of(raw), int(raw.get("num_classes", -1)))


def previous_head_sharded(workdir: str) -> bool | None:
    """Whether the checkpoint a workdir holds has a sharded margin head (None: nothing to resume; runs from
    before sharding existed have a full head)."""
    raw = _previous_config(workdir)
    return None if raw is None else bool(raw.get("head_sharded", False))


def changed_settings(old: RunConfig, cfg: RunConfig) -> list[str]:
    """The flags (but the workdir) whose values differ between a workdir's run ``old`` and ``cfg``."""
    with untracked():
        return [f for f in cfg.declarations() if f != "workdir" and old.setting(f) != cfg.setting(f)]


def check_resume(cfg: RunConfig, num_classes: int, log) -> None:
    """Refuse a rerun of ``cfg.workdir`` whose structural settings (declared so: the checkpoint's variables or
    the model's input depend on them) or number of classes differ from the run it holds; ``log`` the other
    changed settings."""
    previous = previous_run(cfg.workdir)
    if previous is None:
        return
    old, old_classes = previous
    changed = changed_settings(old, cfg)
    structural = structural_settings()
    refused = [f for f in changed if f in structural]
    shown = [f"`{f}` {_value(old.setting(f))} → {_value(cfg.setting(f))}" for f in refused]
    if old_classes not in (-1, num_classes):
        shown.append(f"the training data's identities {old_classes} → {num_classes}")
    if shown:
        raise ConfigError(f"`workdir={cfg.workdir}` holds a checkpoint of another model: {'; '.join(shown)}. Use a "
                          "new `workdir`, or the run's own settings (`config=<workdir>/config.json`).")
    allowed = [f for f in changed if f not in structural]
    if allowed:
        log(f"resuming {cfg.workdir} with changed settings: "
            + ", ".join(f"`{f}` {_value(old.setting(f))} → {_value(cfg.setting(f))}" for f in allowed))


def _value(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)
