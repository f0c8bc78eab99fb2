"""Data sources: where the images and identity labels come from.

A :class:`Source` is an in-memory table of image paths, integer labels (0..C-1), class names and
optional per-image attributes, sorted by label so a class is one contiguous run (the samplers rely
on that). Image bytes are read and decoded later, in the tf.data graph.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib

import numpy as np

from tfface.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


@dataclasses.dataclass(frozen=True)
class Source:
    """Image paths with identity labels, sorted by label."""

    paths: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    attributes: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    origin: str = ""

    def __post_init__(self):
        if len(self.paths) != len(self.labels):
            raise DataError(f"{self.origin}: {len(self.paths)} paths but {len(self.labels)} labels.")
        if len(self.paths) == 0:
            raise DataError(f"{self.origin}: no images found. Check the path and the image extensions "
                            f"({', '.join(IMAGE_EXTENSIONS)}).")
        bad = (self.labels < 0) | (self.labels >= len(self.class_names))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{self.origin}: label {int(self.labels[i])} of {self.paths[i]} is out of range "
                            f"[0, {len(self.class_names)}); labels must index the class list.")
        if np.any(np.diff(self.labels) < 0):
            raise DataError(f"{self.origin}: internal error, source not sorted by label")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices) -> Source:
        """The images at ``indices`` (kept in label order), with the same class list and label ids."""
        idx = np.sort(np.asarray(indices, np.int64))
        return dataclasses.replace(self, paths=self.paths[idx], labels=self.labels[idx],
                                   attributes={k: v[idx] for k, v in self.attributes.items()})

    def check_files_exist(self) -> None:
        """Raise DataError naming the first missing image file (and how many are missing)."""
        require_files(self.paths, self.origin, "data_root")


def require_files(paths, origin: str, root_setting: str) -> None:
    """Raise DataError naming the first of ``paths`` that is not a file, how many are missing, and the
    setting (``root_setting``) the paths are relative to."""
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise DataError(f"{origin}: image file not found: {missing[0]} ({len(missing)} of {len(paths)} "
                        f"missing). Fix the paths or the `{root_setting}` they are relative to.")


def from_rows(paths: list[str], identities: list[str], attributes: dict[str, list] | None = None,
              origin: str = "") -> Source:
    """Build a Source from parallel lists; identities are names, sorted to give label ids. Two names that
    differ only in letter case or surrounding spaces are refused (they would train as two people)."""
    names = sorted(set(identities))
    refuse_near_duplicate_names(names, origin)
    index = {n: i for i, n in enumerate(names)}
    labels = np.array([index[n] for n in identities], np.int32)
    order = np.argsort(labels, kind="stable")
    attrs = {k: _as_array(v)[order] for k, v in (attributes or {}).items()}
    return Source(np.asarray(paths, dtype=object)[order].astype(str), labels[order], tuple(names), attrs,
                  origin)


def refuse_near_duplicate_names(names, origin: str) -> None:
    """A DataError naming the first identities whose names are equal but for case and surrounding spaces."""
    seen: dict[str, str] = {}
    twins = []
    for name in names:
        key = name.strip().casefold()
        if key in seen:
            twins.append((seen[key], name))
        seen.setdefault(key, name)
    if twins:
        a, b = twins[0]
        raise DataError(f"{origin}: identities {a!r} and {b!r} differ only in letter case or surrounding spaces, so "
                        f"they would train as two people ({len(twins)} such pair(s)). Write one name per person.")


def _as_array(values: list) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float32)
    except ValueError:
        return np.asarray(values, dtype=str)


def from_image_folder(root: str | os.PathLike) -> Source:
    """``root/<identity>/<image>``: every image file under an identity folder."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise DataError(f"`data_root={root}`: not a folder. Expected root/<identity>/<image> files.")
    paths, ids = [], []
    for ident in sorted(d for d in os.listdir(root) if (root / d).is_dir()):
        for name in sorted(os.listdir(root / ident)):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                paths.append(str(root / ident / name))
                ids.append(ident)
    return from_rows(paths, ids, origin=str(root))


def from_list_file(list_file: str | os.PathLike, root: str | os.PathLike | None = None,
                   where: dict[str, str] | None = None) -> Source:
    """CSV with a header ``path,identity[,attribute…]``; paths relative to ``root`` (default: the
    list file's folder). ``where`` keeps rows whose column equals a value (e.g. ``{"split": "train"}``).
    """
    list_file = pathlib.Path(list_file)
    if not list_file.is_file():
        raise DataError(f"`list_file={list_file}`: file not found.")
    base = pathlib.Path(root) if root else list_file.parent
    with open(list_file, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "path" not in cols or "identity" not in cols:
            raise DataError(f"{list_file}: the header must start with 'path,identity' (got {cols}).")
        numbered = [(reader.line_num, r) for r in reader]
    check_rows(list_file, cols, numbered)
    if root:
        check_inside_root(list_file, base, numbered)
    rows = [r for _, r in numbered if all(r.get(k) == v for k, v in (where or {}).items())]
    attrs = {c: [r[c] for r in rows] for c in cols if c not in ("path", "identity")}
    return from_rows([str(base / r["path"]) for r in rows], [r["identity"] for r in rows], attrs,
                     origin=str(list_file))


def check_rows(list_file, cols: list[str], numbered: list[tuple[int, dict]]) -> None:
    """Each row has the header's fields and an identity, and names an image no earlier row names."""
    first: dict[str, int] = {}
    repeats = []
    for line, r in numbered:
        if not (r.get("identity") or "").strip():
            raise DataError(f"{list_file} line {line}: no identity (each row is path,identity[,…]).")
        if None in r or any(r.get(c) is None for c in cols):
            count = len(cols) + len(r.get(None) or []) - sum(r.get(c) is None for c in cols)
            raise DataError(f"{list_file} line {line}: {count} fields, but the header has {len(cols)} "
                            f"({','.join(cols)}). Quote fields that hold commas.")
        key = os.path.normpath(r["path"])
        if key in first:
            repeats.append((line, first[key], r["path"]))
        first.setdefault(key, line)
    if repeats:
        line, earlier, path = repeats[0]
        raise DataError(f"{list_file}: {len(repeats)} row(s) name an image an earlier row names, e.g. line {line} "
                        f"repeats line {earlier} ({path}); a repeated image weighs more in training and counts twice "
                        "in evaluation. List each image once (the balanced samplers even out classes).")


def check_inside_root(list_file, root: pathlib.Path, numbered: list[tuple[int, dict]]) -> None:
    """With a root folder given, every path lies inside it: an absolute path, or one that climbs out with
    ``..``, would silently not use it."""
    for line, r in numbered:
        path = r["path"]
        if os.path.isabs(path) or os.path.normpath(path).split(os.sep)[0] == os.pardir:
            raise DataError(f"{list_file} line {line}: {path} is {'absolute' if os.path.isabs(path) else 'outside'} "
                            f"the root folder {root} given for the list's paths, which it would not use. Write "
                            "paths relative to that folder, or leave the root out (paths are then relative to the "
                            "list file's folder, or absolute).")


def open_source(list_file: str | None = None, data_root: str | None = None) -> Source:
    """A list file (paths relative to ``data_root`` if given) or else an image-folder tree."""
    if list_file:
        return from_list_file(list_file, data_root)
    if data_root:
        return from_image_folder(data_root)
    raise DataError("give `list_file=<csv with path,identity>` or `data_root=<folder of identity folders>`.")
