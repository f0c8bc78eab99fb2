"""Whether a run's margin head is sharded over the replicas (``--head_shards``, ``--sample_rate``).

``auto`` shards with more than one replica or a sample rate below 1, when nothing stands in the way; a
resumed run keeps the layout its checkpoint has (the optimiser's state differs between the two). ``on``
refuses what stands in the way; ``off`` refuses a sample rate below 1 (sampling needs the sharded head).
"""

from __future__ import annotations

from tfface.errors import ConfigError
from tfface.heads.margins import NORMALIZED
from tfface.settings import Limit, RunConfig, Section, section, setting


@section("sharding")
class ShardingSettings(Section):
    """Partial FC: the margin head's class weights sharded over the replicas, and sampled."""

    head_shards: str = setting("auto", "Shard the margin head's class weights over the replicas (Partial FC): auto = "
                               "on with more than one replica or a --sample_rate below 1, when the loss and optimiser "
                               "allow it.", choices=("auto", "on", "off"))
    sample_rate: float = setting(1.0, "Partial FC: the fraction of each shard's classes in the softmax at each step "
                                 "(the batch's classes are always in); 1 = all.", limit=Limit(0, 1, open_lo=True))


def sharding_obstacle(cfg: RunConfig, method_obstacle: str | None) -> str | None:
    """Why this run's head cannot be sharded (None if it can): the method's own reason, then the settings
    every method shares."""
    if method_obstacle:
        return method_obstacle
    if cfg.head.kind not in NORMALIZED:
        return f"`head={cfg.head.kind}` is not a normalised margin (Partial FC needs {', '.join(NORMALIZED[:-1])} " \
               f"or {NORMALIZED[-1]})"
    if cfg.optim.optimizer != "sgd":
        return f"`optimizer={cfg.optim.optimizer}`: the shards' own update is SGD's"
    if cfg.mixed_precision == "fp16":
        return "`mixed_precision=fp16`: its loss scaling is not applied to the shards' update (use bf16)"
    if cfg.jit_compile:
        return "`jit_compile`: the shards' collectives are not XLA-compiled"
    return None


def head_sharding(cfg: RunConfig, replicas: int, method_obstacle: str | None, previous: bool | None,
                  log) -> bool:
    """True when this run shards its margin head. ``method_obstacle``: why the method cannot (None if it can);
    ``previous``: the layout of the checkpoint the workdir holds (None for a new run); ``log`` says why an
    ``auto`` head is not sharded."""
    mode, rate = cfg.sharding.head_shards, cfg.sharding.sample_rate
    obstacle = sharding_obstacle(cfg, method_obstacle)
    if mode == "off":
        if rate < 1.0:
            raise ConfigError(f"`sample_rate={rate:g}` samples the classes of a sharded head; it needs "
                              "`head_shards=on` or `auto` (or `sample_rate=1`).")
        wanted = False
    elif mode == "on":
        if obstacle:
            raise ConfigError(f"`head_shards=on`: {obstacle}. Change that, or use `head_shards=off`.")
        wanted = True
    elif mode == "auto":
        wanted = previous if previous is not None else (replicas > 1 or rate < 1.0)
        if wanted and obstacle:
            if rate < 1.0:
                raise ConfigError(f"`sample_rate={rate:g}` needs the sharded head, and {obstacle}.")
            log(f"the margin head is not sharded over the {replicas} replicas: {obstacle}.")
            wanted = False
    else:
        raise ConfigError(f"`head_shards={mode!r}`: choose auto, on or off.")
    if previous is not None and wanted != previous:
        raise ConfigError(f"`workdir={cfg.workdir}` holds a checkpoint of a {'sharded' if previous else 'full'} "
                          f"head; this run would train a {'sharded' if wanted else 'full'} one. Use "
                          f"`head_shards={'on' if previous else 'off'}` (or `auto`), or a new `workdir`.")
    return wanted
