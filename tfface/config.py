"""The frozen configuration of a run, built from the absl flags (or by hand in tests)."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

from tfface.errors import ConfigError


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


def _coerce(field: dataclasses.Field, value):
    """A JSON value as the field's type: lists as tuples, whole numbers as floats for float fields."""
    if isinstance(value, list):
        return tuple(value)
    if field.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


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
        """Take every field from the flag of the same name (fields without a flag keep defaults); nested
        sections (``metric``) take theirs from their own fields' flags. With ``--config=<file>`` the file's
        settings replace the flags' defaults and the flags given on the command line override them."""
        path = flag_values["config"].value if "config" in flag_values else None
        base = cls.from_file(path) if path else cls()

        def overrides(kind) -> dict:
            out = {}
            for f in dataclasses.fields(kind):
                if f.name not in flag_values or (path and not flag_values[f.name].present):
                    continue  # no flag, or the recipe's value stands
                value = _coerce(f, flag_values[f.name].value)  # list flags → tuples, like a file's lists
                out[f.name] = tuple(int(v) for v in value) if f.name == "lr_boundaries" else value
            return out

        nested = {name: dataclasses.replace(getattr(base, name), **overrides(kind)) for name, kind in _NESTED.items()}
        return dataclasses.replace(base, **overrides(cls), **nested)

    @classmethod
    def from_dict(cls, raw: dict) -> RunConfig:
        """Inverse of ``dataclasses.asdict`` (as saved in a workdir's config.json); unknown keys ignored."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: _coerce(names[k], v) for k, v in raw.items() if k in names}
        for name, kind in _NESTED.items():
            if isinstance(kwargs.get(name), dict):
                section = {f.name: f for f in dataclasses.fields(kind)}
                kwargs[name] = kind(**{k: _coerce(section[k], v) for k, v in kwargs[name].items() if k in section})
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> RunConfig:
        """A recipe (``configs/*.json``) or a run's ``config.json``: settings by flag name, the nested sections
        as objects (``"metric": {"ms_beta": 40}``) or by their fields' flag names; ``description`` is a comment.
        ``workdir`` is not taken (a run's config.json names its own; give --workdir). A name that is not a
        setting is an error naming it and the file."""
        try:
            raw = json.loads(pathlib.Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"--config={path}: file not found.") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"--config={path}: not valid JSON ({err}).") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"--config={path}: must hold a JSON object of settings by flag name.")
        raw = {k: v for k, v in raw.items() if k not in ("description", "num_classes", "workdir")}
        for name, kind in _NESTED.items():
            flat = {f.name: raw.pop(f.name) for f in dataclasses.fields(kind) if f.name in raw}
            if flat:
                raw[name] = {**raw.get(name, {}), **flat}
        unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"--config={path}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
                              "a setting; names are the flags' (python train.py --helpfull).")
        return cls.from_dict(raw)

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def changed(self, names) -> list[str]:
        """Those of ``names`` whose value differs from the default (set by a flag or by the caller)."""
        defaults = RunConfig()
        return [n for n in names if getattr(self, n) != getattr(defaults, n)]
