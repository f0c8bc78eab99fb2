"""Rerunning a workdir that holds a checkpoint resumes it; the new settings are compared with the run's own
first. Settings that change the model, its input or what the checkpoint holds are refused (the restore would
fail half-way, or silently continue another model), and so is other training data (a fingerprint of the
identity names in label order: the class weights belong to those people); the other settings are allowed and
said. A workdir whose run left results but no checkpoint that reads back is not trained over unless asked
(``restart``). Nothing is written before these checks."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time

import tensorflow as tf

from tfface.errors import ConfigError
from tfface.runtime.workdir import config_of
from tfface.settings import RunConfig, untracked
from tfface.training.checkpoints import candidates, latest_step


def identities_fingerprint(class_names) -> str | None:
    """A short hash of the identity names in label order (None when the data names no identities)."""
    if not class_names:
        return None
    return hashlib.sha256("\n".join(map(str, class_names)).encode()).hexdigest()[:16]


def _previous_config(workdir: str) -> dict | None:
    """The config.json of the run a workdir holds, if it has a checkpoint to resume."""
    path = pathlib.Path(workdir)
    if not (path / "config.json").is_file() or not tf.train.latest_checkpoint(str(path / "checkpoints")):
        return None
    return json.loads((path / "config.json").read_text())


def previous_run(workdir: str) -> tuple[RunConfig, int] | None:
    """(settings, number of classes) of the run a workdir holds, if it has a checkpoint to resume."""
    raw = _previous_config(workdir)
    origin = str(pathlib.Path(workdir) / "config.json")
    return None if raw is None else (config_of(raw, origin), int(raw.get("num_classes", -1)))


def previous_head_sharded(workdir: str) -> bool | None:
    """Whether the checkpoint a workdir holds has a sharded margin head (None: nothing to resume; runs from
    before sharding existed have a full head)."""
    raw = _previous_config(workdir)
    return None if raw is None else bool(raw.get("head_sharded", False))


def changed_settings(old: RunConfig, cfg: RunConfig) -> list[str]:
    """The flags (but the workdir and ``restart``) whose values differ between a workdir's run ``old`` and
    ``cfg``."""
    with untracked():
        return [f for f in cfg.declarations() if f not in ("workdir", "restart") and old.setting(f) != cfg.setting(f)]


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    """What a rerun of a workdir does: the step it resumes from and whether anything is left to train."""

    step: int = 0
    finished: bool = False  # the run reached its steps and holds its results: nothing to train or write


def plan_resume(cfg: RunConfig, num_classes: int, identities: str | None, pairs_file: str | None, log,
                chief: bool = True) -> ResumePlan:
    """Check a (re)run of ``cfg.workdir`` against the run it holds and say what the rerun will do.

    Refused, naming the setting: another model (a structural setting), other training data (the number or the
    fingerprint of the identities), fewer ``steps`` than the checkpoint reached, and a workdir with results but
    no readable checkpoint unless ``restart`` (whose damaged checkpoints are then moved aside, not deleted).
    Changed settings of a resumed run are ``log``-ged; a finished run is left as it is. Only the ``chief`` moves
    anything."""
    step = latest_step(cfg.workdir)
    if not step:
        _check_restart(cfg, log, chief)
        return ResumePlan()
    if cfg.restart:
        raise ConfigError(f"`restart`: `workdir={cfg.workdir}` holds a readable checkpoint at step {step}, which a "
                          "rerun resumes. `restart` is for a workdir whose checkpoints are all damaged; to train "
                          "from the start, use a new `workdir`.")
    previous = previous_run(cfg.workdir)
    if previous is None:  # a checkpoint without config.json: nothing to compare with
        raise ConfigError(f"`workdir={cfg.workdir}` holds a checkpoint but no config.json, so the model it holds "
                          "is unknown. Use a new `workdir`.")
    old, old_classes = previous
    raw = _previous_config(cfg.workdir) or {}
    changed, declared = changed_settings(old, cfg), cfg.declarations()
    refused = [f for f in changed if not declared[f].keeps_structure(old.setting(f), cfg.setting(f))]
    shown = [f"`{f}` {_value(old.setting(f))} → {_value(cfg.setting(f))}" for f in refused]
    if old_classes not in (-1, num_classes):
        shown.append(f"the training data's identities {old_classes} → {num_classes}")
    elif raw.get("identities") and identities and raw["identities"] != identities:
        shown.append(f"the training data's identities (the same number, {num_classes}, but other names or another "
                     "order)")
    if shown:
        raise ConfigError(f"`workdir={cfg.workdir}` holds a checkpoint of another model: {'; '.join(shown)}. Use a "
                          "new `workdir`, or the run's own settings (`config=<workdir>/config.json`).")
    if step > cfg.loop.steps:
        raise ConfigError(f"`steps={cfg.loop.steps}`: the run in `workdir={cfg.workdir}` is already at step {step}, "
                          f"and a run does not go back. Give `steps` ≥ {step} to resume it, or use a new `workdir`.")
    allowed = [f for f in changed if f not in refused]
    said = ", ".join(f"`{f}` {_value(old.setting(f))} → {_value(cfg.setting(f))}" for f in allowed)
    if step == cfg.loop.steps and _has_results(cfg.workdir, pairs_file):
        log(f"nothing to do: the run in {cfg.workdir} finished its {step} steps; its checkpoint, export and "
            f"config.json are kept as they are" + (f" (the changed settings {said} are not used)" if said else "")
            + ". evaluate.py evaluates it on other data.")
        return ResumePlan(step, finished=True)
    if allowed:
        log(f"resuming {cfg.workdir} with changed settings: {said}")
    return ResumePlan(step)


def _has_results(workdir: str, pairs_file: str | None) -> bool:
    """The run's export is complete (its tfface.json is written last) and, with a pairs file, its eval.json."""
    path = pathlib.Path(workdir)
    return (path / "export" / "tfface.json").is_file() and (not pairs_file or (path / "eval.json").is_file())


def _check_restart(cfg: RunConfig, log, chief: bool) -> None:
    """No readable checkpoint: refuse to train over a run's results unless ``restart``; with it, move the
    damaged checkpoints aside."""
    path = pathlib.Path(cfg.workdir)
    left = [name for name in ("export", "eval.json") if (path / name).exists()]
    damaged = candidates(str(path / "checkpoints"))
    if damaged:
        left.insert(0, f"checkpoints ({len(damaged)}, none readable)")
    if not left:
        if cfg.restart:
            raise ConfigError(f"`restart`: `workdir={cfg.workdir}` holds no run to start over; leave `restart` out.")
        return
    if not cfg.restart:
        raise ConfigError(f"`workdir={cfg.workdir}` holds a run's results ({', '.join(left)}) but no checkpoint that "
                          "reads back, so it cannot resume. Add `restart` to train it again from step 0 (the "
                          "results are replaced), or use a new `workdir`.")
    if damaged and chief:
        aside = path / f"checkpoints.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(path / "checkpoints", aside)
        log(f"restarting {cfg.workdir} from step 0; its unreadable checkpoints are kept in {aside}")
    else:
        log(f"restarting {cfg.workdir} from step 0")


def _value(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)
