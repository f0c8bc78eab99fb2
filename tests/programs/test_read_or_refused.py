"""Every setting × every training method: the run reads it, or refuses it before anything is written.

Generated from the declarations: each method trains once, briefly, with the reads of its settings recorded
(:func:`tfface.settings.tracking_reads`). Then every setting is given another valid value in turn: one the run
read passes; any other must be refused with a message naming it — or, given, be read by the run (a path that
selects the data source). A setting declared later is covered without an edit here.
"""

import math
import pathlib

import pytest
from conftest import REPO

from tfface.config import RunConfig
from tfface.errors import TfFaceError
from tfface.programs.training import train
from tfface.registry import METHODS, import_modules, unread_settings
from tfface.settings import Declared, tracking_reads

TOY = str(REPO / "tests" / "toy_method.py")
SMALL = {"synth_identities": 24, "synth_heldout": 8, "synth_max_images": 12, "image_size": 32, "batch_size": 8,
         "log_every": 1, "steps": 2}
HEAD = {"embedding_size": 8, "warmup_steps": 1}
# what each method needs to run at all, small: FTL's three phases in 3 steps, DDL's partitions
NEEDS = {"standard": HEAD,
         "ftl": {"steps": 3, "ftl_pretrain_steps": 1, "ftl_alternate_steps": 1, "ftl_rich_dim": 8,
                 "ftl_ur_max_images": 6},
         "ddl": {**HEAD, "ddl_attribute": "yaw", "ddl_ranges": ("0:30", "30:90"), "ddl_pairs_per_replica": 1,
                 "ddl_pairs_per_identity": 2},
         "toy_label_smoothing": {**HEAD, "imports": (TOY,)}}


def base_config(method: str, cache: pathlib.Path, workdir: pathlib.Path) -> RunConfig:
    return RunConfig.of(method=method, cache_dir=str(cache), workdir=str(workdir), **{**SMALL, **NEEDS[method]})


def another_value(d: Declared, current):
    """A valid value of setting ``d`` other than ``current`` (its choices, its type and range)."""
    if d.kind == "bool":
        return not current
    if d.choices:
        return next(c for c in d.choices if c != current)
    if d.kind in ("str",):
        return "x" if current != "x" else "y"
    if d.kind == "strs":
        return ("x",)
    if d.kind == "ints":
        candidates = [(5,), (7,)]
    elif d.kind == "int":
        candidates = [current + 1, 2, 5]
    else:
        candidates = [0.5 * current if current else 0.3, current + 0.1, 0.3, 0.7, 2.0]
    for value in candidates:
        numbers = value if isinstance(value, tuple) else (value,)
        if value != current and (d.limit is None or all(d.limit.holds(float(x)) for x in numbers)):
            return value
    raise AssertionError(f"no other valid value for {d.flag} (limit {d.limit})")


def traced_run(cfg: RunConfig) -> set[str]:
    """The settings a run with ``cfg`` reads, up to its end or to the error that stops it."""
    with tracking_reads() as reads:
        try:
            train(cfg, printer=lambda s: None)
        except (TfFaceError, FileNotFoundError, OSError):
            pass
    return reads


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("synth_cache")


@pytest.mark.parametrize("method", list(NEEDS))
def test_every_setting_is_read_or_refused(method, cache, tmp_path):
    import_modules([TOY])
    assert set(NEEDS) >= set(METHODS.names()), "a registered method has no entry in NEEDS"
    base = base_config(method, cache, tmp_path / "base")
    with tracking_reads() as reads:
        report = train(base, printer=lambda s: None)
    assert "accuracy" in report  # the base run trained, exported and evaluated
    declared = RunConfig.declarations()
    assert {"steps", "image_size", "seed", "workdir"} <= reads
    unchecked, counts = [], {"read": 0, "refused": 0, "read when given": 0}
    for n, (flag, d) in enumerate(declared.items()):
        if flag in reads:
            counts["read"] += 1
            continue  # read: any value of it reaches the run
        value = another_value(d, base.setting(flag))
        cfg = base.replace(**{flag: value, "workdir": str(tmp_path / f"w{n}")})
        refused = unread_settings(cfg, METHODS.get(method))
        if flag in refused:
            assert "not read" in refused[flag]
            with pytest.raises(TfFaceError, match=f"`{flag}="):
                train(cfg, printer=lambda s: None)
            assert not (tmp_path / f"w{n}").exists()  # refused before anything is written
            counts["refused"] += 1
            continue
        if flag not in traced_run(cfg):
            unchecked.append(f"{flag}={value}")
        counts["read when given"] += 1
    print(f"method={method}: {counts}")
    assert not unchecked, f"method={method}: given, these settings are neither read nor refused: {unchecked}"


def test_the_another_value_helper_moves_every_setting():
    """Each declared setting gets a valid, different value (the table above depends on it)."""
    for flag, d in RunConfig.declarations().items():
        value = another_value(d, d.default)
        assert value != d.default, flag
        d.check(d.coerce(value))
        if d.kind == "float":
            assert math.isfinite(value)
