"""The frozen configuration of a run, built from the absl flags (or by hand in tests)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class MetricLossParams:
    """Hyper-parameters of the metric losses (defaults from the papers / their reference code);
    each field is also the name of its flag."""

    contrastive_margin: float = 1.0
    triplet_margin: float = 0.2
    triplet_mining: str = "batch_hard"
    npair_l2: float = 0.002
    ms_alpha: float = 2.0
    ms_beta: float = 50.0
    ms_lambda: float = 0.5
    ms_eps: float = 0.1
    rll_alpha: float = 1.2
    rll_margin: float = 0.4
    rll_tn: float = 10.0
    rll_tp: float = 0.0
    hist_bins: int = 101


_NESTED = {"metric": MetricLossParams}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every setting of a training run. Field names equal the flag names."""

    # data
    data: str = "synthfaces"
    data_root: str | None = None
    list_file: str | None = None
    tfrecords: str | None = None
    image_size: int = 64
    sampler: str = "uniform"
    pk_k: int = 4
    pk_strict: bool = False
    flip: bool = True
    synth_identities: int = 1000
    synth_heldout: int = 300
    synth_max_images: int = 120
    synth_seed: int = 0
    cache_dir: str | None = None
    # model and head
    backbone: str = "small_cnn"
    embedding_size: int = 128
    dropout: float = 0.0
    sync_bn: bool = True
    head: str = "arcface"
    scale: float = 32.0
    margin: float = 0.5
    m1: float = 1.0
    m3: float = 0.0
    mlreg_weight: float = 0.0
    scale_warmup_steps: int = 0
    # losses
    loss: str = "softmax"
    aux_loss: str = ""
    metric: MetricLossParams = dataclasses.field(default_factory=lambda: MetricLossParams())
    center_alpha: float = 0.5
    # methods
    method: str = "standard"
    imports: tuple[str, ...] = ()
    discface_lambda: float = 0.0
    discface_basis_max_norm: float = 0.05
    discface_num_bases: int = 1
    feature_transform: str = "none"
    sft_lambda: float = 0.2
    sft_scheme: str = "balanced"
    sft_tail_threshold: int = 15
    sft_warmup_steps: int = 100
    sft_targets: str = "auto"
    ftl_head: str = "softmax"
    ftl_stage1: str = "sequential"
    ftl_rich_dim: int = 320
    ftl_ur_max_images: int = 20
    ftl_pretrain_steps: int = 1000
    ftl_alternate_steps: int = 5000
    ftl_lr_pretrain: float = 2e-4
    ftl_lr_alternate: float = 1e-5
    ftl_alpha_softmax: float = 1.0
    ftl_alpha_recon: float = 1.0
    ftl_alpha_reg: float = 0.25
    ftl_pca_energy: float = 0.95
    ftl_pca_components: int = 0
    ftl_pose_attribute: str = ""
    ftl_pose_threshold: float = 0.0
    init_checkpoint: str | None = None
    ddl_attribute: str = ""
    ddl_abs: bool = True
    ddl_ranges: tuple[str, ...] = ()
    ddl_partition_lists: tuple[str, ...] = ()
    ddl_pairs_per_replica: int = 8
    ddl_pairs_per_identity: int = 20
    ddl_weight: float = 1.0
    ddl_bins: int = 101
    ddl_gamma: float = 50.0
    ddl_lambda_pos: float = 0.1
    ddl_lambda_neg: float = 0.02
    ddl_lambda_order: float = 0.5
    ddl_outlier: float = 0.0
    ddl_distance: str = "kl"
    ddl_terms: str = "both"
    ddl_negatives: str = "hard"
    ddl_detach_teacher: bool = False
    # optimisation
    workdir: str | None = None
    steps: int = 1500
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_schedule: str = "cosine"
    lr_boundaries: tuple[int, ...] = ()
    lr_factor: float = 0.1
    warmup_steps: int = 200
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1000
    # distribution
    cpu_replicas: int = 0
    mixed_precision: str = "none"
    jit_compile: bool = False
    # evaluation
    eval_pairs: str | None = None
    eval_root: str | None = None
    eval_flip: bool = True
    eval_batch: int = 256
    eval_every: int = 0

    @classmethod
    def from_flags(cls, flag_values) -> RunConfig:
        """Take every field from the flag of the same name (fields without a flag keep defaults);
        nested sections (``metric``) take theirs from their own fields' flags."""

        def pick(kind):
            return {f.name: flag_values[f.name].value for f in dataclasses.fields(kind) if f.name in flag_values}

        kwargs = pick(cls)
        kwargs.update({name: kind(**pick(kind)) for name, kind in _NESTED.items()})
        if "lr_boundaries" in kwargs:
            kwargs["lr_boundaries"] = tuple(int(v) for v in kwargs["lr_boundaries"])
        for name in ("ddl_ranges", "ddl_partition_lists", "imports"):
            if name in kwargs:
                kwargs[name] = tuple(kwargs[name] or ())
        return cls(**kwargs)

    @classmethod
    def from_dict(cls, raw: dict) -> RunConfig:
        """Inverse of ``dataclasses.asdict`` (as saved in a workdir's config.json); unknown keys ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in names}
        for name, kind in _NESTED.items():
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = kind(**kwargs[name])
        return cls(**kwargs)

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def changed(self, names) -> list[str]:
        """Those of ``names`` whose value differs from the default (set by a flag or by the caller)."""
        defaults = RunConfig()
        return [n for n in names if getattr(self, n) != getattr(defaults, n)]
