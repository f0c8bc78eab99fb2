"""Finding a checkpoint that restores: the newest whose index and data read back in full, with a warning for
every newer one that does not (truncated or missing data, empty index); and the ``ckpt-N_temp`` folders an
interrupted or disk-full save leaves behind, removed before a run writes new ones — only those of the save a
marker says tfface started (``.saving``, written before each save and removed after it), never a folder
matched by its name alone."""

from __future__ import annotations

import os
import re
import shutil

import tensorflow as tf

SAVING = ".saving"  # the marker of a save in progress: the prefix being written


def candidates(directory: str) -> list[str]:
    """Checkpoint prefixes of ``directory``, newest first (the CheckpointManager's list, then any other
    ``*.index`` files)."""
    state = tf.train.get_checkpoint_state(directory) if os.path.isdir(directory) else None
    listed = list(state.all_model_checkpoint_paths) if state else []
    found = [os.path.join(directory, f[:-len(".index")]) for f in os.listdir(directory)
             if f.endswith(".index")] if os.path.isdir(directory) else []
    paths = {os.path.normpath(p if os.path.isabs(p) else os.path.join(directory, p)) for p in [*listed, *found]}
    return sorted(paths, key=_number, reverse=True)


def _number(path: str) -> int:
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else -1


def readable(path: str) -> str | None:
    """None if every tensor of the checkpoint reads back, else the first error line."""
    try:
        reader = tf.train.load_checkpoint(path)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except Exception as err:  # noqa: BLE001 - damage surfaces as OpError, IndexError, ValueError, OSError …
        return str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
    return None


def newest_readable(directory: str, log) -> str | None:
    """The newest checkpoint of ``directory`` that reads back in full (None if there is none), with a
    ``log`` warning naming each damaged newer one."""
    for path in candidates(directory):
        problem = readable(path)
        if problem is None:
            return path
        log(f"warning: checkpoint {path} is damaged ({problem}); trying an older one.")
    return None


def mark_saving(directory: str, prefix: str) -> None:
    """Record that the save of ``prefix`` (e.g. ``ckpt-30``) into ``directory`` starts now."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, SAVING), "w") as fh:
        fh.write(prefix)


def saved(directory: str) -> None:
    """The save recorded by :func:`mark_saving` completed."""
    marker = os.path.join(directory, SAVING)
    if os.path.exists(marker):
        os.remove(marker)


def remove_temp_folders(directory: str, log) -> None:
    """Remove the ``<prefix>_temp`` folders of the save the marker says was interrupted in ``directory``; any
    other folder is left as it is."""
    marker = os.path.join(directory, SAVING)
    if not os.path.isfile(marker):
        return
    prefix = open(marker).read().strip()
    temp = re.compile(rf"^{re.escape(prefix)}_temp(_[0-9a-f]+)?$")
    for name in os.listdir(directory):
        if prefix and temp.match(name) and os.path.isdir(os.path.join(directory, name)):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
            log(f"removed {os.path.join(directory, name)} (left by an interrupted checkpoint save)")
    os.remove(marker)


def latest_step(workdir: str) -> int:
    """The training step of the newest readable checkpoint of a workdir (0 if none); quiet, the trainers warn
    about damaged ones when they restore."""
    latest = newest_readable(os.path.join(workdir, "checkpoints"), lambda s: None)
    return int(tf.train.load_variable(latest, "step/.ATTRIBUTES/VARIABLE_VALUE")) if latest else 0
