"""tfface-split: a labelled list → identity-disjoint train / validation / test lists and balanced pairs files.

    tfface-split faces.csv splits/                    # 10 % of the people to val, 10 % to test, the rest train
    tfface-split faces.csv splits/ --val=0.2 --test=0 --pairs=3000 --seed=1
    python -m tfface.programs.split_cli …             # the same, without the installed script

Writes into the output folder: train.csv, val.csv, test.csv (the list's columns, paths relative to the output
folder); val_pairs.csv and test_pairs.csv (path1,path2,same,fold); LFW-format val_pairs.txt / test_pairs.txt
when the images follow LFW's naming (<name>/<name>_0001.jpg); split_summary.json. Then, e.g.:

    python train.py --data=list --list_file=splits/train.csv --eval_pairs=splits/val_pairs.csv
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import re

import numpy as np
from absl import flags

from tfface.cli import run_tool
from tfface.errors import ConfigError, DataError, TfFaceError
from tfface.messages import program_error

flags.DEFINE_float("val", 0.1, "Fraction of the identities held out for validation (0: no validation split).")
flags.DEFINE_float("test", 0.1, "Fraction of the identities held out for test (0: no test split).")
flags.DEFINE_integer("pairs", 6000, "Pairs per held-out split, half genuine and half impostor (fewer when the split's "
                     "people with two or more images cannot give that many genuine pairs; said in the summary).")
flags.DEFINE_integer("folds", 10, "Folds of the pairs files (each holds both kinds equally), as LFW's 10.")
flags.DEFINE_integer("seed", 0, "Seed of the identity shuffle and the pair draws.")
flags.DEFINE_string("list_root", None, "The folder the list's paths are relative to (default: the list's folder).")
FLAGS = flags.FLAGS
SUMMARY = "split_summary.json"
USAGE = "usage: tfface-split <list.csv with path,identity> <output folder> [--val=0.1] [--test=0.1] [--pairs=6000]"
LFW_NAME = re.compile(r"^(?P<name>.+)_(?P<num>\d{4})\.jpg$")


def read_list(list_file: str, root: str | None) -> tuple[list[str], list[dict], np.ndarray]:
    """(columns, rows with absolute paths, identities) of a labelled list; every image must exist."""
    from tfface.data.sources import from_list_file

    source = from_list_file(list_file, root)  # checks the header and that every row has an identity
    source.check_files_exist()
    with open(list_file, newline="") as fh:
        reader = csv.DictReader(fh)
        columns, rows = list(reader.fieldnames or []), list(reader)
    for row, path in zip(rows, source.paths):
        row["path"] = os.path.abspath(path)
    return columns, rows, np.array([r["identity"] for r in rows])


def check_output(out: pathlib.Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / SUMMARY).is_file())):
        raise ConfigError(f"{out} is not empty and was not written by tfface-split; choose a new or empty output "
                          "folder (nothing in it is overwritten or deleted).")


def write_list(path: pathlib.Path, columns: list[str], rows: list[dict], out: pathlib.Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows({**r, "path": os.path.relpath(r["path"], out)} for r in rows)


def write_pairs(out: pathlib.Path, name: str, paths: list[str], draw) -> str | None:
    """``<name>_pairs.csv``, and ``<name>_pairs.txt`` in LFW's format when every image is named as LFW's are;
    return the LFW file's name, or None."""
    rel = [os.path.relpath(p, out) for p in paths]
    with open(out / f"{name}_pairs.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path1", "path2", "same", "fold"])
        for a, b, s, f in zip(draw.first, draw.second, draw.same, draw.fold):
            writer.writerow([rel[a], rel[b], int(s), int(f)])
    named = [LFW_NAME.match(pathlib.Path(p).name) for p in paths]
    if not all(m and m["name"] == pathlib.Path(p).parent.name for m, p in zip(named, paths)):
        return None
    roots = {str(pathlib.Path(p).parent.parent) for p in paths}
    if len(roots) != 1:
        return None
    folds = int(draw.fold.max()) + 1
    lines = [f"{folds} {len(draw.same) // (2 * folds)}"]
    for a, b, s in zip(draw.first, draw.second, draw.same):
        (na, ia), (nb, ib) = ((m["name"], int(m["num"])) for m in (named[a], named[b]))
        lines.append(f"{na} {ia} {ib}" if s else f"{na} {ia} {nb} {ib}")
    (out / f"{name}_pairs.txt").write_text("\n".join(lines) + "\n")
    return f"{name}_pairs.txt (--eval_root={roots.pop()})"


def main(argv):
    from tfface.data.splits import balanced_pairs, genuine_available, split_identities

    if len(argv) != 3:
        raise SystemExit(f"error: give the list and the output folder.\n{USAGE}")
    list_file, out = argv[1], pathlib.Path(argv[2])
    try:
        for name in ("val", "test"):
            if not 0 <= getattr(FLAGS, name) < 1:
                raise ConfigError(f"`{name}={getattr(FLAGS, name)}`: give a fraction of the identities in [0, 1).")
        if FLAGS.pairs < 2 * FLAGS.folds or FLAGS.folds < 1:
            raise ConfigError(f"`pairs={FLAGS.pairs}` with `folds={FLAGS.folds}`: give at least 2 pairs per fold.")
        if not os.path.isfile(list_file):
            raise DataError(f"{list_file}: no such list file.")
        check_output(out)
        columns, rows, identities = read_list(list_file, FLAGS.list_root)
        masks = split_identities(identities, {"val": FLAGS.val, "test": FLAGS.test}, FLAGS.seed)
        draws = {}
        for name in ("val", "test"):
            if name in masks:
                held = identities[masks[name]]
                n = min(FLAGS.pairs, 2 * genuine_available(held))
                draws[name] = balanced_pairs(held, n, FLAGS.seed, FLAGS.folds)
    except TfFaceError as err:
        raise program_error(err, FLAGS) from None
    out.mkdir(parents=True, exist_ok=True)
    summary = {"list": list_file, "seed": FLAGS.seed, "splits": {}}
    for name, mask in [("train", masks["train"])] + [(n, masks[n]) for n in ("val", "test") if n in masks]:
        chosen = [r for r, m in zip(rows, mask) if m]
        write_list(out / f"{name}.csv", columns, chosen, out)
        entry = {"identities": int(len(np.unique(identities[mask]))), "images": len(chosen), "list": f"{name}.csv"}
        if name in draws:
            lfw = write_pairs(out, name, [r["path"] for r in chosen], draws[name])
            entry.update(pairs=int(len(draws[name].same)), genuine=int(draws[name].same.sum()),
                         pairs_file=f"{name}_pairs.csv", lfw_pairs_file=lfw or "not written: the images are not "
                         "named as LFW's (<name>/<name>_0001.jpg)")
            if len(draws[name].same) < FLAGS.pairs:
                entry["fewer_pairs"] = (f"{FLAGS.pairs} asked for; its people with two or more images give "
                                        f"{len(draws[name].same) // 2} genuine pairs in {FLAGS.folds} whole folds")
        summary["splits"][name] = entry
        pairs = f", {entry['pairs']} pairs ({entry['genuine']} genuine) in {entry['pairs_file']}" if name in draws \
            else ""
        print(f"{name}: {entry['identities']} identities, {entry['images']} images in {name}.csv{pairs}")
    (out / SUMMARY).write_text(json.dumps(summary, indent=1))
    print(f"wrote {out}; no identity is in two splits")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
