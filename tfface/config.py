"""The frozen configuration of a run: sections per concern and per method, addressed by flag name.

``RunConfig`` nests one frozen dataclass per concern (``data``, ``model``, ``optim``, ``eval``, ``metric``) and
per method (``discface``, ``sft``, ``ftl``, ``ddl``); the few settings of the run itself stay at the top. The
code reads ``cfg.ddl.bins``; the user speaks flag names (``--ddl_bins``), and so do recipes, a run's
``config.json`` of older versions, :meth:`RunConfig.of`, :meth:`RunConfig.replace` and
:meth:`RunConfig.setting`. A field's flag is its section's prefix plus its name (``ddl_`` + ``bins``) unless
the field says otherwise (``flag=`` in its metadata). Each default lives once, here; a test checks that every
train.py flag has the same default and maps to exactly one field and back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any, ClassVar

from tfface.errors import ConfigError


def _flag(default: Any, flag: str) -> Any:
    """A field whose flag is not its section's prefix + its name."""
    return dataclasses.field(default=default, metadata={"flag": flag})


def _section(kind: type) -> Any:
    return dataclasses.field(default_factory=kind)


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """The training images (``--data`` and its sources' settings)."""

    FLAG_PREFIX: ClassVar[str] = ""
    source: str = _flag("synthfaces", "data")
    root: str | None = _flag(None, "data_root")
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
    synth_scenario: str = "default"
    cache_dir: str | None = None


@dataclasses.dataclass(frozen=True)
class Augment:
    """The strength of each augmentation family of :mod:`tfface.data.augment` (its docstring gives the units);
    all 0 = no augmentation."""

    FLAG_PREFIX: ClassVar[str] = "aug_"
    crop: float = 0.0
    rotate: float = 0.0
    color: float = 0.0
    gray: float = 0.0
    lowres: float = 0.0
    blur: float = 0.0
    jpeg: float = 0.0
    erase: float = 0.0

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(Augment))


@dataclasses.dataclass(frozen=True)
class AugmentSettings(Augment):
    """Training-image augmentation: a preset, and per family a strength that replaces the preset's when above 0."""

    preset: str = _flag("none", "augment")


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """Backbone, margin head and where their weights start."""

    FLAG_PREFIX: ClassVar[str] = ""
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
    head_shards: str = "auto"
    sample_rate: float = 1.0
    init_checkpoint: str | None = None


@dataclasses.dataclass(frozen=True)
class OptimSettings:
    """Steps, batch, optimiser and learning-rate schedule."""

    FLAG_PREFIX: ClassVar[str] = ""
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


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """Verification on a pairs file (during and after training, and in evaluate.py)."""

    FLAG_PREFIX: ClassVar[str] = "eval_"
    pairs: str | None = None
    root: str | None = None
    flip: bool = True
    batch: int = 256
    every: int = 0


@dataclasses.dataclass(frozen=True)
class MetricLossParams:
    """Hyper-parameters of the metric losses (defaults from the papers / their reference code)."""

    FLAG_PREFIX: ClassVar[str] = ""
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


@dataclasses.dataclass(frozen=True)
class DiscFaceSettings:
    """DiscFace (Kim et al. 2020) on the margin head."""

    FLAG_PREFIX: ClassVar[str] = "discface_"
    weight: float = _flag(0.0, "discface_lambda")
    basis_max_norm: float = 0.05
    num_bases: int = 1


@dataclasses.dataclass(frozen=True)
class SFTSettings:
    """SFT (Zhu et al. 2020) feature augmentation."""

    FLAG_PREFIX: ClassVar[str] = "sft_"
    transform: str = _flag("none", "feature_transform")
    weight: float = _flag(0.2, "sft_lambda")
    scheme: str = "balanced"
    tail_threshold: int = 15
    warmup_steps: int = 100
    targets: str = "auto"


@dataclasses.dataclass(frozen=True)
class FTLSettings:
    """FTL (Yin et al. 2019): the method's modules, stages and Eq. 4 weights."""

    FLAG_PREFIX: ClassVar[str] = "ftl_"
    head: str = "softmax"
    stage1: str = "sequential"
    filter: str = "paper"
    rich_dim: int = 320
    ur_max_images: int = 20
    pretrain_steps: int = 1000
    alternate_steps: int = 5000
    lr_pretrain: float = 2e-4
    lr_alternate: float = 1e-5
    alpha_softmax: float = 1.0
    alpha_recon: float = 1.0
    alpha_reg: float = 0.25
    pca_energy: float = 0.95
    pca_components: int = 0
    pose_attribute: str = ""
    pose_threshold: float = 0.0


@dataclasses.dataclass(frozen=True)
class DDLSettings:
    """DDL (Huang et al. 2020): partitions, pair sampling and the loss of Eqs. 3–8."""

    FLAG_PREFIX: ClassVar[str] = "ddl_"
    attribute: str = ""
    use_abs: bool = _flag(True, "ddl_abs")
    ranges: tuple[str, ...] = ()
    partition_lists: tuple[str, ...] = ()
    pairs_per_replica: int = 8
    pairs_per_identity: int = 20
    weight: float = 1.0
    bins: int = 101
    gamma: float = 50.0
    lambda_pos: float = 0.1
    lambda_neg: float = 0.02
    lambda_order: float = 0.5
    outlier: float = 0.0
    distance: str = "kl"
    terms: str = "both"
    negatives: str = "hard"
    detach_teacher: bool = False


def _coerce(field: dataclasses.Field, value: Any, flag: str) -> Any:
    """A JSON or flag value as the field's type: lists as tuples (of ints for int tuples), whole numbers as
    floats for float fields."""
    if isinstance(value, list | tuple):
        if "int" not in str(field.type):
            return tuple(value)
        try:
            return tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f"`{flag}={','.join(map(str, value))}` must be whole numbers separated "
                              "by commas.") from None
    if field.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _flag_name(kind: type, f: dataclasses.Field) -> str:
    return f.metadata.get("flag", getattr(kind, "FLAG_PREFIX", "") + f.name)


class _Sectioned:
    """Settings addressed by flag name over a dataclass whose fields are settings or sections of settings."""

    # --- flag names -------------------------------------------------------------------------------------------

    @classmethod
    def sections(cls) -> dict[str, type]:
        """Section name → its dataclass."""
        return {f.name: f.default_factory for f in dataclasses.fields(cls)
                if f.default_factory is not dataclasses.MISSING}

    @classmethod
    def flag_paths(cls) -> dict[str, tuple[str | None, dataclasses.Field]]:
        """Flag name → (section name or None for the top level, field)."""
        out: dict[str, tuple[str | None, dataclasses.Field]] = {}
        sections = cls.sections()
        for f in dataclasses.fields(cls):
            if f.name in sections:
                for sf in dataclasses.fields(sections[f.name]):
                    out[_flag_name(sections[f.name], sf)] = (f.name, sf)
            else:
                out[f.name] = (None, f)
        return out

    def setting(self, flag: str) -> Any:
        """The value of the setting that flag ``flag`` sets (``cfg.setting("ddl_bins") == cfg.ddl.bins``)."""
        section, f = self._path(flag)
        return getattr(getattr(self, section) if section else self, f.name)

    @classmethod
    def _path(cls, flag: str) -> tuple[str | None, dataclasses.Field]:
        paths = cls.flag_paths()
        if flag not in paths:
            raise ConfigError(f"`{flag}` is not a setting; names are the flags' (python train.py --helpfull).")
        return paths[flag]

    def replace(self, **changes: Any) -> Any:
        """A copy with settings changed by flag name (``steps=20, ddl_bins=5``) or whole sections by section
        name (``ddl=DDLSettings(...)``)."""
        sections, top, by_section = self.sections(), {}, {}
        for name, value in changes.items():
            if name in sections and isinstance(value, sections[name]):
                top[name] = value
                continue
            section, f = self._path(name)
            if section is None:
                top[f.name] = value
            else:
                by_section.setdefault(section, {})[f.name] = value
        for section, values in by_section.items():
            top[section] = dataclasses.replace(top.get(section, getattr(self, section)), **values)
        return dataclasses.replace(self, **top)

    @classmethod
    def of(cls, **settings: Any) -> Any:
        """The defaults with ``settings`` (by flag name) changed: ``RunConfig.of(steps=20, head="cosface")``."""
        return cls().replace(**settings)

    def changed(self, flags: Any) -> list[str]:
        """Those of ``flags`` whose setting differs from the default (set by a flag or by the caller)."""
        defaults = type(self)()
        return [n for n in flags if self.setting(n) != defaults.setting(n)]

    def section_flags(self, section: str) -> list[str]:
        """The flag names of a section's settings (``section_flags("ddl")`` → ``["ddl_attribute", …]``)."""
        return [flag for flag, (s, _) in self.flag_paths().items() if s == section]

    # --- sources: flags, files, dicts ----------------------------------------------------------------------------

    @classmethod
    def from_flags(cls, flag_values: Any) -> Any:
        """Every setting from the flag of its name (settings without a flag keep their defaults). With
        ``--config=<file>`` the file's settings replace the flags' defaults and the flags given on the command
        line override them."""
        path = flag_values["config"].value if "config" in flag_values and hasattr(cls, "from_file") else None
        base = cls.from_file(path) if path else cls()
        changes = {}
        for flag, (_, f) in cls.flag_paths().items():
            if flag not in flag_values or (path and not flag_values[flag].present):
                continue  # no flag, or the recipe's value stands
            changes[flag] = _coerce(f, flag_values[flag].value, flag)  # list flags → tuples, like a file's lists
        return base.replace(**changes)



@dataclasses.dataclass(frozen=True)
class RunConfig(_Sectioned):
    """Every setting of a training run: the run's own settings and one section per concern and method."""

    method: str = "standard"
    imports: tuple[str, ...] = ()
    workdir: str | None = None
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1000
    cpu_replicas: int = 0
    mixed_precision: str = "none"
    jit_compile: bool = False
    steps_per_loop: int = 1
    loss: str = "softmax"
    aux_loss: str = ""
    center_alpha: float = 0.5
    data: DataSettings = _section(DataSettings)
    augment: AugmentSettings = _section(AugmentSettings)
    model: ModelSettings = _section(ModelSettings)
    optim: OptimSettings = _section(OptimSettings)
    eval: EvalSettings = _section(EvalSettings)
    metric: MetricLossParams = _section(MetricLossParams)
    discface: DiscFaceSettings = _section(DiscFaceSettings)
    sft: SFTSettings = _section(SFTSettings)
    ftl: FTLSettings = _section(FTLSettings)
    ddl: DDLSettings = _section(DDLSettings)

    @classmethod
    def from_dict(cls, raw: dict, source: str | None = None) -> RunConfig:
        """Settings by flag name (a recipe; the config.json of runs before sections existed) and/or sections as
        objects of their field names (``"ddl": {"bins": 51}``, as ``dataclasses.asdict`` writes config.json).
        Keys that are not settings are an error naming ``source`` when it is given, else ignored."""
        sections, paths = cls.sections(), cls.flag_paths()
        changes, unknown = {}, []
        for key, value in raw.items():
            if key in sections and isinstance(value, dict):
                fields = {f.name: f for f in dataclasses.fields(sections[key])}
                for name, v in value.items():
                    if name in fields:
                        flag = _flag_name(sections[key], fields[name])
                        changes[flag] = _coerce(fields[name], v, flag)
                    elif name in paths and paths[name][0] == key:  # a section written with flag names
                        changes[name] = _coerce(paths[name][1], v, name)
                    else:
                        unknown.append(f"{key}.{name}")
            elif key in paths:
                changes[key] = _coerce(paths[key][1], value, key)
            else:
                unknown.append(key)
        if unknown and source is not None:
            raise ConfigError(f"`config={source}`: {', '.join(sorted(unknown))} "
                              f"{'is' if len(unknown) == 1 else 'are'} not a setting; names are the flags' "
                              "(python train.py --helpfull), or a section's fields inside it.")
        return cls().replace(**changes)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> RunConfig:
        """A recipe (``configs/*.json``) or a run's ``config.json``: settings by flag name and/or sections as
        objects (``"ddl": {"bins": 51}``); ``description`` is a comment. ``workdir`` is not taken (a run's
        config.json names its own; give --workdir). A name that is not a setting is an error naming it and the
        file."""
        try:
            raw = json.loads(pathlib.Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"`config={path}`: file not found.") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"`config={path}`: not valid JSON ({err}).") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"`config={path}`: must hold a JSON object of settings by flag name.")
        raw = {k: v for k, v in raw.items() if k not in ("description", "num_classes", "head_sharded", "workdir")}
        return cls.from_dict(raw, source=str(path))

    def to_dict(self) -> dict:
        """The nested form written to a workdir's config.json (read back by :meth:`from_dict`)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class IDASettings:
    """IDA (Liu et al. 2021) test-time scoring: the anchor set, DAO's k and τ, and the SSR of IDA-L."""

    FLAG_PREFIX: ClassVar[str] = "ida_"
    anchors: str = ""
    anchors_per_identity: int = 1
    k: int = 10
    tau: float = 1.0
    ssr: str = ""
    ssr_steps: int = 30000
    ssr_lr: float = 1e-3


@dataclasses.dataclass(frozen=True)
class ListProtocolSettings:
    """The protocols over a labelled image list (identification, easy/hard)."""

    FLAG_PREFIX: ClassVar[str] = ""
    gallery_per_id: int = 1
    open_set_fraction: float = 0.1
    easy_hard_attribute: str = ""
    easy_hard_ranges: tuple[str, ...] = ()
    easy_hard_abs: bool = True
    bootstrap: int = 200
    distractors: str | None = None
    distractor_sizes: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class TemplateSettings:
    """The IJB-style template protocols: metadata CSVs (TEMPLATE_ID, SUBJECT_ID, FILENAME, MEDIA_ID) and pairs."""

    FLAG_PREFIX: ClassVar[str] = ""
    templates: str | None = None
    template_pairs: str | None = None
    gallery_templates: str | None = None
    probe_templates: str | None = None
    template_weights: str = ""


@dataclasses.dataclass(frozen=True)
class EvaluateConfig(_Sectioned):
    """Every setting of an evaluate.py run: what to evaluate, the protocol and its sections."""

    protocol: str = "verification"
    model: str | None = None
    checkpoint: str | None = None
    out: str | None = None
    imports: tuple[str, ...] = ()
    eval_list: str | None = None
    score: str = "cosine"
    tflite_quantize: tuple[str, ...] = ("none", "float16", "int8")
    eval: EvalSettings = _section(EvalSettings)
    lists: ListProtocolSettings = _section(ListProtocolSettings)
    templates: TemplateSettings = _section(TemplateSettings)
    ida: IDASettings = _section(IDASettings)

    def out_dir(self, subfolder: str = "") -> str:
        """--out, else the checkpoint's workdir or the model's parent folder (+ ``subfolder``)."""
        if self.out:
            return self.out
        base = self.checkpoint or str(pathlib.Path(self.model).parent)
        return os.path.join(base, subfolder) if subfolder else base
