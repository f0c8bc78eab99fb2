"""Aligning many photos: chips written under an output folder in the photos' relative layout, a list CSV of
the chips (``path,identity``), and a report of every photo that gave no chip and why. Parallel over photos
(one aligner per worker process), with progress."""

from __future__ import annotations

import csv
import dataclasses
import json
import multiprocessing
import os
import pathlib
import time

import tfface.messages as messages
from tfface.errors import ConfigError, DataError

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
REPORT = "align_report.json"
LIST = "list.csv"


@dataclasses.dataclass(frozen=True)
class Photo:
    """One photo to align: its file, the chip's path relative to the output folder, its identity ('' if none)."""

    source: str
    relative: str
    identity: str = ""


def photos_in_folder(folder: str | os.PathLike) -> list[Photo]:
    """Every photo under ``folder`` (recursively, sorted); a photo's identity is its parent folder's name
    below ``folder`` (none for photos directly in it)."""
    root = pathlib.Path(folder)
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_EXTENSIONS)
    if not found:
        raise DataError(f"{folder}: no photos ({', '.join(PHOTO_EXTENSIONS)}) in it or below it.")
    return [Photo(str(p), str(p.relative_to(root)), p.parent.name if p.parent != root else "") for p in found]


def photos_in_list(list_file: str | os.PathLike, root: str | os.PathLike | None = None) -> list[Photo]:
    """The photos of a CSV list (``path`` column, optional ``identity``; paths relative to ``root``, by default
    the list's folder); every file must exist."""
    list_file = pathlib.Path(list_file)
    root = pathlib.Path(root) if root else list_file.parent
    with open(list_file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "path" not in rows[0]:
        raise DataError(f"{list_file}: a photo list needs a header with a `path` column (and optionally `identity`).")
    photos = []
    for i, row in enumerate(rows, start=2):
        rel = pathlib.PurePath(row["path"])
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(f"{list_file} line {i}: {row['path']} must be a path inside {root} (the chips are "
                            "written in the same layout under the output folder).")
        source = root / rel
        if not source.is_file():
            raise DataError(f"{list_file} line {i}: {source} does not exist; fix the list or its root folder.")
        photos.append(Photo(str(source), str(rel), (row.get("identity") or "").strip()))
    return photos


def check_output(out_dir: str | os.PathLike, sources: list[Photo]) -> None:
    """Refuse an output folder that holds files tfface-align did not write, or that lies inside the input."""
    out = pathlib.Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out_dir} exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT).is_file():
        raise ConfigError(f"{out_dir} is not empty and was not written by tfface-align; choose a new or empty "
                          "output folder (nothing in it is overwritten or deleted).")
    inputs = pathlib.Path(os.path.commonpath([os.path.dirname(os.path.abspath(p.source)) for p in sources])).resolve()
    if out == inputs or inputs in out.parents:
        raise ConfigError(f"{out_dir} lies inside the photos' folder; choose an output folder outside it.")


_WORKER = {}


def _start_worker(settings: dict) -> None:
    from tfface.align.aligner import Aligner

    _WORKER["aligner"] = Aligner(**settings)


def _align_one(task: tuple[Photo, str, bool]) -> dict:
    """Align one photo and write its chip(s); return what happened."""
    from PIL import Image

    from tfface.align.aligner import read_photo

    photo, out_dir, every_face = task
    try:
        image = read_photo(photo.source)
    except DataError as err:
        return {"photo": photo.source, "status": "unreadable", "reason": str(err)}
    faces = _WORKER["aligner"].faces(image)
    if not faces:
        return {"photo": photo.source, "status": "no_face"}
    chips = []
    stem, suffix = os.path.splitext(photo.relative)
    for i, face in enumerate(faces if every_face else faces[:1]):
        rel = f"{stem}_{i}{suffix}" if every_face else photo.relative
        target = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        kind = "JPEG" if suffix.lower() in (".jpg", ".jpeg") else "PNG"
        if kind == "PNG" and suffix.lower() != ".png":
            rel, target = rel[: -len(suffix)] + ".png", target[: -len(suffix)] + ".png"
        Image.fromarray(face.chip).save(target, kind, **({"quality": 95} if kind == "JPEG" else {}))
        chips.append({"path": rel, "box": list(face.box), "points": face.points.round(2).tolist()})
    return {"photo": photo.source, "status": "aligned", "faces": len(faces), "chips": chips,
            "identity": photo.identity}


def align_photos(photos: list[Photo], out_dir: str | os.PathLike, layout: str = "dlib", size: int = 112,
                 padding: float = 0.25, every_face: bool = False, workers: int | None = None,
                 detect_side: int = 640, printer=messages.info) -> dict:
    """Align ``photos`` into ``out_dir``: chips, ``list.csv`` (path,identity of each chip) and
    ``align_report.json`` (settings, counts, and every photo with no face found or unreadable)."""
    from tfface.align.aligner import Aligner

    settings = {"layout": layout, "size": size, "padding": padding, "detect_side": detect_side}
    Aligner(**settings)  # validates the settings (and that dlib and its models are there) before writing
    check_output(out_dir, photos)
    os.makedirs(out_dir, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(photos)))
    start, results, last = time.perf_counter(), [], 0.0
    tasks = [(p, str(out_dir), every_face) for p in photos]
    with multiprocessing.get_context("spawn").Pool(workers, _start_worker, (settings,)) as pool:
        for result in pool.imap(_align_one, tasks, chunksize=4):
            results.append(result)
            now = time.perf_counter() - start
            if now - last >= 5 or len(results) == len(photos):
                last = now
                rate = len(results) / max(now, 1e-9)
                printer(f"aligned {len(results)}/{len(photos)} photos, {rate:.1f} photos/s, "
                        f"ETA {messages.format_eta((len(photos) - len(results)) / rate)}")
    return _write_outputs(results, out_dir, settings, every_face, time.perf_counter() - start, printer)


def _write_outputs(results: list[dict], out_dir, settings: dict, every_face: bool, seconds: float, printer) -> dict:
    aligned = [r for r in results if r["status"] == "aligned"]
    with open(os.path.join(out_dir, LIST), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "identity"])
        for r in aligned:
            for chip in r["chips"]:
                writer.writerow([chip["path"], r["identity"]])
    report = {"settings": {**settings, "every_face": every_face}, "photos": len(results), "aligned": len(aligned),
              "no_face": [r["photo"] for r in results if r["status"] == "no_face"],
              "unreadable": {r["photo"]: r["reason"] for r in results if r["status"] == "unreadable"},
              "several_faces": sum(r["faces"] > 1 for r in aligned), "seconds": round(seconds, 1),
              "chips": {r["photo"]: r["chips"] for r in aligned}}
    with open(os.path.join(out_dir, REPORT), "w") as fh:
        json.dump(report, fh, indent=1)
    missed = len(report["no_face"]) + len(report["unreadable"])
    printer(f"{len(aligned)} of {len(results)} photos aligned into {out_dir} ({LIST}); "
            + (f"{len(report['no_face'])} with no face found and {len(report['unreadable'])} unreadable, listed in "
               f"{os.path.join(out_dir, REPORT)}" if missed else "every photo had a face")
            + (f"; {report['several_faces']} had several faces ("
               + ("each written" if every_face else "the largest kept") + ")" if report["several_faces"] else ""))
    return report
