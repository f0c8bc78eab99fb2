"""From a RunConfig to the training source and the default verification pairs."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf

import tfface.messages as messages
from tfface.data import pipeline, sources
from tfface.data.augment import augment_from
from tfface.data.synth_scenarios import SCENARIOS
from tfface.data.synthfaces import SynthFacesConfig, build_synthfaces
from tfface.errors import ConfigError, DataError
from tfface.settings import NON_NEGATIVE, RunConfig, Section, at_least, section, setting


@section("data")
class DataSettings(Section):
    """The training images: where they come from, their size, how batches are drawn."""

    source: str = setting("auto", "Training data: auto (the source the settings below name: --tfrecords, --rec, "
                          "--list_file, or --data_root alone for an image folder; SynthFaces when none is given), "
                          "synthfaces (rendered, no download), folder (--data_root/<identity>/<image>), list (a CSV "
                          "--list_file: path,identity[,attributes]), tfrecord (--tfrecords shards) or mxrec "
                          "(insightface's MXNet RecordIO: --rec).",
                          choices=("auto", "synthfaces", "folder", "list", "tfrecord", "mxrec"), flag="data")
    root: str | None = setting(None, "Image folder tree, or the folder list-file paths are relative to.",
                               flag="data_root")
    list_file: str | None = setting(None, "CSV list file with header path,identity[,attribute columns].")
    tfrecords: str | None = setting(None, "Glob of TFRecord shards written by `tfface-make-tfrecords`.")
    rec: str | None = setting(None, "insightface's train.rec (MS1MV2/3, Glint360K, WebFace, …), with train.idx and "
                              "property beside it; read without MXNet.")
    image_size: int = setting(64, "Model input size in pixels (images are resized to it).", limit=at_least(8),
                              structural=True)
    sampler: str = setting("uniform", "Batch sampler: shuffled epochs, class-balanced, or P identities × K images "
                           "(--pk_k).", choices=("uniform", "balanced", "pk"))
    pk_k: int = setting(4, "K images per identity for --sampler=pk (P = batch_size / K).", limit=at_least(1))
    pk_strict: bool = setting(False, "Refuse classes with fewer than K images instead of repeating images.")
    flip: bool = setting(True, "Random horizontal flips during training.")
    synth_identities: int = setting(1000, "SynthFaces training identities.", limit=at_least(2))
    synth_heldout: int = setting(300, "SynthFaces identities held out for verification.", limit=NON_NEGATIVE)
    synth_max_images: int = setting(120, "SynthFaces: images of the largest classes (long tail).", limit=at_least(2))
    synth_seed: int = setting(0, "SynthFaces rendering seed.", limit=NON_NEGATIVE)
    synth_scenario: str = setting("default", "SynthFaces layout: default (long tail) or the setting of one paper's "
                                  "mechanism: ur_pose (FTL), longtail (DiscFace, SFT), hard_partitions (DDL), density "
                                  "(IDA); tfface/data/synth_scenarios.py says what each renders.",
                                  choices=tuple(SCENARIOS))
    cache_dir: str | None = setting(None, "Where SynthFaces is rendered once (default $TFFACE_CACHE or "
                                    "~/.cache/tfface).")

    @property
    def kind(self) -> str:
        """The source in effect: ``source``, or with ``auto`` the one the paths name (SynthFaces if none)."""
        if self.source != "auto":
            return self.source
        if self.tfrecords:
            return "tfrecord"
        if self.rec:
            return "mxrec"
        if self.list_file:
            return "list"
        return "folder" if self.root else "synthfaces"

    def unread(self, cfg) -> dict[str, str]:
        kind, out = self.kind, {}
        if kind != "synthfaces":
            out.update({f: f"it shapes the SynthFaces render, and the training data is `data={kind}`"
                        for f in ("synth_identities", "synth_heldout", "synth_max_images", "synth_seed",
                                  "synth_scenario", "cache_dir")})
        names = {"list": ("list_file", "data_root"), "folder": ("data_root",), "tfrecord": ("tfrecords",),
                 "mxrec": ("rec",)}
        for flag in ("list_file", "data_root", "tfrecords", "rec"):
            if flag not in names.get(kind, ()):
                out[flag] = f"the training data is `data={kind}`" + (
                    f" (give `data={_source_of(flag)}`, or leave `data` out)" if self.source != "auto" else "")
        if self.sampler != "pk":
            out.update({f: f"it shapes `sampler=pk`, not `sampler={self.sampler}`" for f in ("pk_k", "pk_strict")})
        return out

    def check(self, cfg) -> None:
        named = [flag for flag, value in (("tfrecords", self.tfrecords), ("rec", self.rec),
                                          ("list_file", self.list_file)) if value]
        if self.source == "auto" and len(named) > 1:
            raise ConfigError(f"`{named[0]}` and `{named[1]}` name two training sets; give one (or `data=` to "
                              "choose).")


def _source_of(flag: str) -> str:
    return {"data_root": "folder` or `data=list", "list_file": "list", "tfrecords": "tfrecord", "rec": "mxrec"}[flag]


def synth_config(cfg: RunConfig) -> SynthFacesConfig:
    d = cfg.data
    return SynthFacesConfig(train_identities=d.synth_identities, heldout_identities=d.synth_heldout,
                            max_images=d.synth_max_images, image_size=d.image_size, seed=d.synth_seed,
                            scenario=d.synth_scenario)


def training_source(cfg: RunConfig, log=messages.info) -> tuple[sources.Source, str | None]:
    """The training Source and, for SynthFaces, the held-out pairs file."""
    if cfg.data.kind == "synthfaces":
        root = build_synthfaces(synth_config(cfg), cfg.data.cache_dir, log=log)
        return sources.from_list_file(root / "meta.csv", where={"split": "train"}), str(root / "pairs.csv")
    if cfg.data.kind == "folder":
        if not cfg.data.root:
            raise ConfigError("`data=folder` needs `data_root=<folder of identity folders>`.")
        src = sources.from_image_folder(cfg.data.root)
    elif cfg.data.kind == "list":
        if not cfg.data.list_file:
            raise ConfigError("`data=list` needs `list_file=<csv with path,identity>`.")
        src = sources.from_list_file(cfg.data.list_file, cfg.data.root)
    else:
        raise ConfigError(f"`data={cfg.data.kind!r}` is unknown.")
    src.check_files_exist()
    return src, None


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """What the trainer needs to know about its data, whatever the source kind."""

    num_images: int
    num_classes: int
    dataset_fn: Callable[[int, tf.distribute.InputContext | None], tf.data.Dataset]
    default_pairs: str | None = None
    source: sources.Source | None = None
    class_counts: np.ndarray | None = None  # images per class (every source; TFRecords through their index)
    class_names: tuple[str, ...] = ()  # the identity of each label (TFRecords: from their -meta.json)


def train_input(cfg: RunConfig) -> pipeline.TrainInput:
    """The input-pipeline settings of a RunConfig (batch, size, sampler, flip, seed, augmentation)."""
    d = cfg.data
    return pipeline.TrainInput(cfg.loop.batch_size, d.image_size, d.sampler, d.pk_k, d.pk_strict, d.flip, cfg.seed,
                               augment_from(cfg.augment))


def training_data(cfg: RunConfig, log=messages.info) -> TrainingData:
    """The training data a RunConfig names, with its per-replica dataset function."""
    input_cfg = train_input(cfg)
    if cfg.data.kind == "tfrecord":
        return tfrecord_data(cfg, input_cfg, log)
    if cfg.data.kind == "mxrec":
        return rec_data(cfg, input_cfg, log)
    source, pairs = training_source(cfg, log)
    _at_least_two_identities(source.num_classes, f"`{cfg.data.kind}` training data"
                             + (f" (`list_file={cfg.data.list_file}`)" if cfg.data.list_file else ""))
    return TrainingData(len(source), source.num_classes,
                        lambda start, ctx: pipeline.train_dataset(source, input_cfg, start, ctx), pairs, source,
                        source.class_counts, source.class_names)


def tfrecord_data(cfg: RunConfig, input_cfg: pipeline.TrainInput, log=messages.info) -> TrainingData:
    """TFRecord shards: streamed for ``sampler=uniform``, read at random through their index otherwise."""
    from tfface.data.record_index import load_or_build_index
    from tfface.data.tfrecords import indexed_record_dataset, read_meta, tfrecord_train_dataset

    if not cfg.data.tfrecords:
        raise ConfigError("`data=tfrecord` needs `tfrecords=<glob of shards>`.")
    meta = read_meta(cfg.data.tfrecords)
    classes = meta["num_classes"]
    _at_least_two_identities(classes, f"`tfrecords={cfg.data.tfrecords}`")
    index = load_or_build_index(meta["files"], log)
    if len(index) and (index.labels.min() < 0 or index.labels.max() >= classes):
        raise DataError(f"`tfrecords={cfg.data.tfrecords}`: a record's label is outside [0, {classes}) of its "
                        "-meta.json; rewrite the shards with `tfface-make-tfrecords`.")
    if cfg.data.sampler == "uniform":
        dataset_fn = lambda start, ctx: tfrecord_train_dataset(cfg.data.tfrecords, classes, input_cfg, start, ctx)  # noqa: E731
    else:
        dataset_fn = lambda start, ctx: indexed_record_dataset(index, classes, input_cfg, start, ctx)  # noqa: E731
    return TrainingData(len(index), classes, dataset_fn, class_counts=index.class_counts(classes),
                        class_names=tuple(meta.get("class_names", ())))


def rec_data(cfg: RunConfig, input_cfg: pipeline.TrainInput, log=messages.info) -> TrainingData:
    """insightface's RecordIO set, read at random through an index of its records."""
    from tfface.data.mxrec import index_rec, rec_train_dataset

    if not cfg.data.rec:
        raise ConfigError("`data=mxrec` needs `rec=<insightface train.rec>`.")
    index = index_rec(cfg.data.rec, log)
    _at_least_two_identities(int((index.class_counts() > 0).sum()), f"`rec={cfg.data.rec}`")
    return TrainingData(len(index.labels), index.num_classes,
                        lambda start, ctx: rec_train_dataset(index, input_cfg, start, ctx),
                        class_counts=index.class_counts())


def _at_least_two_identities(count: int, what: str) -> None:
    """A classifier over fewer than two identities has nothing to tell apart (loss 0, accuracy 1 at once)."""
    if count < 2:
        raise DataError(f"{what} has {count} identit{'y' if count == 1 else 'ies'}; training needs at least 2.")


def default_workdir() -> str:
    import time

    base = pathlib.Path("runs")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = base / stamp
    n = 1
    while path.exists():
        path = base / f"{stamp}-{n}"
        n += 1
    return str(path)
