"""From a RunConfig to the training source and the default verification pairs."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfface import messages
from tfface.config import RunConfig
from tfface.data import pipeline, sources
from tfface.data.augment import augment_from
from tfface.data.synthfaces import SynthFacesConfig, build_synthfaces
from tfface.errors import ConfigError, DataError


def synth_config(cfg: RunConfig) -> SynthFacesConfig:
    d = cfg.data
    return SynthFacesConfig(train_identities=d.synth_identities, heldout_identities=d.synth_heldout,
                            max_images=d.synth_max_images, image_size=d.image_size, seed=d.synth_seed,
                            scenario=d.synth_scenario)


def training_source(cfg: RunConfig, log=messages.info) -> tuple[sources.Source, str | None]:
    """The training Source and, for SynthFaces, the held-out pairs file."""
    if cfg.data.source == "synthfaces":
        root = build_synthfaces(synth_config(cfg), cfg.data.cache_dir, log=log)
        return sources.from_list_file(root / "meta.csv", where={"split": "train"}), str(root / "pairs.csv")
    if cfg.data.source == "folder":
        if not cfg.data.root:
            raise ConfigError("`data=folder` needs `data_root=<folder of identity folders>`.")
        src = sources.from_image_folder(cfg.data.root)
    elif cfg.data.source == "list":
        if not cfg.data.list_file:
            raise ConfigError("`data=list` needs `list_file=<csv with path,identity>`.")
        src = sources.from_list_file(cfg.data.list_file, cfg.data.root)
    else:
        raise ConfigError(f"`data={cfg.data.source!r}` is unknown.")
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


def train_input(cfg: RunConfig) -> pipeline.TrainInput:
    """The input-pipeline settings of a RunConfig (batch, size, sampler, flip, seed, augmentation)."""
    d = cfg.data
    return pipeline.TrainInput(cfg.optim.batch_size, d.image_size, d.sampler, d.pk_k, d.pk_strict, d.flip, cfg.seed,
                               augment_from(cfg.augment))


def training_data(cfg: RunConfig, log=messages.info) -> TrainingData:
    """The training data a RunConfig names, with its per-replica dataset function."""
    input_cfg = train_input(cfg)
    if cfg.data.source == "tfrecord":
        return tfrecord_data(cfg, input_cfg, log)
    source, pairs = training_source(cfg, log)
    _at_least_two_identities(source.num_classes, f"`{cfg.data.source}` training data"
                             + (f" (`list_file={cfg.data.list_file}`)" if cfg.data.list_file else ""))
    return TrainingData(len(source), source.num_classes,
                        lambda start, ctx: pipeline.train_dataset(source, input_cfg, start, ctx), pairs, source,
                        source.class_counts)


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
    return TrainingData(len(index), classes, dataset_fn, class_counts=index.class_counts(classes))


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
