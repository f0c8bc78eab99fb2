"""IJB-style templates: the metadata layout, the official pooling, and 1:1 / 1:N evaluation of templates.

A template is a set of images (from one or several media — a video's frames share a media id) of one
subject. Pooling, as the IJB-B/C evaluation of insightface does it: average the image features within a
media, sum the media averages, normalise — so a 200-frame video counts as much as one still. With
``weights`` (e.g. the raw feature norms, a detector's score) each image's feature is weighted before the
media average.

Metadata: a CSV with a header naming (in any case, among other columns) TEMPLATE_ID, SUBJECT_ID, FILENAME and
MEDIA_ID, FILENAME relative to ``root`` (default: the CSV's folder). Template pairs: a CSV with
ENROLL_TEMPLATE_ID and VERIF_TEMPLATE_ID (IJB's match files; the label comes from the subjects), or
whitespace-separated ``t1 t2 label`` lines (insightface's ``*_template_pair_label.txt``).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib

import numpy as np

from tfface.errors import DataError
from tfface.evaluation import all_pairs, identification
from tfface.scoring.ida import pair_scores
from tfface.settings import Section, section, setting

COLUMNS = ("TEMPLATE_ID", "SUBJECT_ID", "FILENAME", "MEDIA_ID")


@section("templates", programs=("evaluate",))
class TemplateSettings(Section):
    """The IJB-style template protocols: metadata CSVs (TEMPLATE_ID, SUBJECT_ID, FILENAME, MEDIA_ID) and pairs."""

    templates: str | None = setting(None, "ijb_1to1 protocol: IJB-style metadata CSV (TEMPLATE_ID, SUBJECT_ID, "
                                    "FILENAME, MEDIA_ID; FILENAME relative to --eval_root, default the CSV's folder).")
    template_pairs: str | None = setting(None, "ijb_1to1 protocol: template pairs, an IJB match file "
                                         "(ENROLL_TEMPLATE_ID, VERIF_TEMPLATE_ID) or 't1 t2 label' lines.")
    gallery_templates: str | None = setting(None, "ijb_1toN protocol: the gallery's metadata CSV (same columns as "
                                            "--templates).")
    probe_templates: str | None = setting(None, "ijb_1toN protocol: the probes' metadata CSV; probes of subjects "
                                          "without a gallery template are the non-mated ones.")
    template_weights: str = setting("", "ijb protocols: weight each image before its media's average — '' (none, the "
                                    "default), 'norm' (its raw feature norm, from the model's backbone.keras; "
                                    "insightface's use_norm_score) or the name of a metadata column (e.g. a "
                                    "detector's face score).")


@dataclasses.dataclass(frozen=True)
class TemplateImages:
    """One row per image: its path and the template, subject and media it belongs to."""

    paths: np.ndarray
    templates: np.ndarray
    subjects: np.ndarray
    media: np.ndarray
    origin: str = ""
    weights: np.ndarray | None = None  # per image, from a metadata column (e.g. a detector's face score)


def read_template_images(path: str | os.PathLike, root: str | None = None,
                         weight_column: str | None = None) -> TemplateImages:
    """The images of an IJB-style metadata CSV (see the module docstring), with each image's pooling weight from
    ``weight_column`` if named, or an error naming the file."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = {name.strip().upper(): name for name in (reader.fieldnames or [])}
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise DataError(f"{path}: the header needs {', '.join(COLUMNS)} (missing {', '.join(missing)}).")
        columns = (*COLUMNS, weight_column.strip().upper()) if weight_column else COLUMNS
        if weight_column and columns[-1] not in header:
            raise DataError(f"{path}: no column {columns[-1]} for the template weights (columns: "
                            f"{', '.join(header)}).")
        rows = [[row[header[c]].strip() for c in columns] for row in reader]
    if not rows:
        raise DataError(f"{path}: no images listed.")
    t, s, f, m, *w = (np.array(col) for col in zip(*rows))
    weights = None
    if w:
        try:
            weights = w[0].astype(np.float64)
        except ValueError as err:
            raise DataError(f"{path}: column {columns[-1]} must hold numbers ({err}).") from None
        if not (np.isfinite(weights).all() and (weights >= 0).all()):
            raise DataError(f"{path}: column {columns[-1]}: weights must be finite and ≥ 0.")
    base = pathlib.Path(root) if root else path.parent
    return TemplateImages(np.array([str(base / p) for p in f]), t, s, m, str(path), weights)


def pool_templates(emb: np.ndarray, templates: np.ndarray, media: np.ndarray,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(template ids sorted, [T, d] normalised template features): per template, the mean of each media's
    (weighted) image features, summed over its media and L2-normalised."""
    emb = np.asarray(emb, np.float64)
    if weights is not None:
        emb = emb * np.asarray(weights, np.float64)[:, None]
    tids, t_index = np.unique(np.asarray(templates, str), return_inverse=True)
    keys = np.char.add(np.char.add(t_index.astype(str), "\x00"), np.asarray(media, str))
    _, tm_index = np.unique(keys, return_inverse=True)
    n_groups = int(tm_index.max()) + 1
    sums = np.zeros((n_groups, emb.shape[1]))
    np.add.at(sums, tm_index, emb)
    media_mean = sums / np.bincount(tm_index, minlength=n_groups)[:, None]
    group_template = np.zeros(n_groups, np.int64)
    group_template[tm_index] = t_index
    pooled = np.zeros((len(tids), emb.shape[1]))
    np.add.at(pooled, group_template, media_mean)
    return tids, pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def template_subjects(images: TemplateImages) -> dict[str, str]:
    """Template id → subject id (a template naming two subjects is an error)."""
    out: dict[str, str] = {}
    for t, s in zip(images.templates, images.subjects):
        if out.setdefault(t, s) != s:
            raise DataError(f"{images.origin}: template {t} lists two subjects ({out[t]} and {s}).")
    return out


def read_template_pairs(path: str | os.PathLike, subject_of: dict[str, str]) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray]:
    """(enroll ids, verify ids, same subject) of a template-pair file; templates not in the metadata are an
    error naming the first."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    text = path.read_text().splitlines()
    first = text[0].upper() if text else ""
    if "ENROLL_TEMPLATE_ID" in first:
        reader = csv.DictReader(text)
        header = {n.strip().upper(): n for n in reader.fieldnames}
        if "VERIF_TEMPLATE_ID" not in header:
            raise DataError(f"{path}: a match file needs ENROLL_TEMPLATE_ID and VERIF_TEMPLATE_ID columns.")
        pairs = [(r[header["ENROLL_TEMPLATE_ID"]].strip(), r[header["VERIF_TEMPLATE_ID"]].strip()) for r in reader]
        labels = None
    else:
        rows = [line.split() for line in text if line.strip()]
        if any(len(r) != 3 for r in rows):
            raise DataError(f"{path}: expected 't1 t2 label' lines or an ENROLL_TEMPLATE_ID,VERIF_TEMPLATE_ID CSV.")
        pairs, labels = [(a, b) for a, b, _ in rows], np.array([int(r[2]) for r in rows], bool)
    unknown = [t for pair in pairs for t in pair if t not in subject_of]
    if unknown:
        raise DataError(f"{path}: template {unknown[0]} is not in the template metadata ({len(unknown)} unknown).")
    t1, t2 = (np.array(col) for col in zip(*pairs))
    same = np.array([subject_of[a] == subject_of[b] for a, b in pairs])
    if labels is not None and not np.array_equal(labels, same):
        raise DataError(f"{path}: {int(np.sum(labels != same))} labels disagree with the templates' subjects.")
    if same.all() or not same.any():
        raise DataError(f"{path}: {int(same.sum())} genuine and {int((~same).sum())} impostor template pairs; "
                        "verification needs both kinds.")
    return t1, t2, same


def verification_report(tids: np.ndarray, feats: np.ndarray, t1: np.ndarray, t2: np.ndarray, same: np.ndarray,
                        subjects: np.ndarray, replicates: int = 200, log_density: np.ndarray | None = None,
                        tau: float = 1.0) -> dict:
    """1:1 template verification over the listed template pairs: TAR@FAR (where supported) with intervals from
    a bootstrap over subjects (``subjects`` per row of ``tids``), AUC, EER and the ROC rows for the plot.
    Scored by cosine, or with ``log_density`` (per template) by IDA's log DAO (Liu et al. 2021, Eq. 4) of
    the pooled features — the template feature stands in for the image, which the paper does not spell
    out (ours)."""
    i1, i2 = np.searchsorted(tids, t1), np.searchsorted(tids, t2)
    lf = None if log_density is None else np.asarray(log_density)
    scores = pair_scores(feats[i1], feats[i2], None if lf is None else lf[i1], None if lf is None else lf[i2], tau)
    pairs = all_pairs.listed_pairs(scores, same, subjects[i1], subjects[i2])
    return all_pairs.summary(pairs, replicates)


def identification_report(gallery: np.ndarray, gallery_subjects: np.ndarray, probes: np.ndarray,
                          probe_subjects: np.ndarray, log_density: identification.LogDensities = None,
                          tau: float = 1.0) -> dict:
    """1:N: closed-set rank-1/5/10 and CMC of the mated probe templates, open-set TPIR@FPIR 1e-1 / 1e-2 with
    the probes whose subject has no gallery template as the non-mated ones; cosine, or IDA's log DAO with
    ``log_density`` (of the gallery templates, of the probe templates)."""
    curve = identification.cmc(gallery, gallery_subjects, probes, probe_subjects, log_density=log_density, tau=tau)
    mated = np.isin(probe_subjects, gallery_subjects)
    return {"gallery_templates": int(len(gallery)), "probe_templates": int(len(probes)),
            "mated_probes": int(mated.sum()), "non_mated_probes": int((~mated).sum()),
            **{f"rank{r}": float(curve[r - 1]) for r in (1, 5, 10) if r <= len(curve)},
            "cmc": curve.tolist(),
            "tpir_at_fpir": identification.tpir_at_fpir(gallery, gallery_subjects, probes, probe_subjects,
                                                        fpirs=(0.1, 0.01), log_density=log_density, tau=tau)}


def make_template_set(paths: np.ndarray, labels: np.ndarray, images_per_template: int = 3,
                      media_per_template: int = 2, impostors_per_template: int = 10, enrolled_fraction: float = 0.9,
                      seed: int = 0) -> dict[str, list[list]]:
    """An IJB-format set from any labelled image list, for users without IJB (ours, not IJB's sampling):

    - ``templates``: each identity's shuffled images cut into templates of ``images_per_template`` (a
      shorter rest joins the last one; identities with fewer images make one template), each image put in
      one of ``media_per_template`` random media of its template;
    - ``matches``: every pair of templates of one subject and ``impostors_per_template`` random other-subject
      templates per template (ENROLL_TEMPLATE_ID, VERIF_TEMPLATE_ID);
    - ``gallery`` / ``probes``: the first template of a seeded ``enrolled_fraction`` of subjects is enrolled;
      every other template is a probe (those of the rest of the subjects are the non-mated ones).

    Returns rows (header first) for templates.csv, matches.csv, gallery.csv and probes.csv.
    """
    rng = np.random.default_rng(seed)
    labels, paths = np.asarray(labels), np.asarray(paths)
    header = list(COLUMNS)
    rows, first_of, subject_templates = [], {}, {}
    t_next = m_next = 0
    for subject in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == subject))
        n_t = max(1, len(idx) // images_per_template)
        for chunk in np.array_split(idx, n_t):
            media = rng.integers(0, media_per_template, len(chunk))
            for i, m in zip(chunk, media):
                rows.append([t_next, str(subject), str(paths[i]), m_next + int(m)])
            first_of.setdefault(str(subject), t_next)
            subject_templates.setdefault(str(subject), []).append(t_next)
            t_next, m_next = t_next + 1, m_next + media_per_template
    subject_of = {t: s for s, ts in subject_templates.items() for t in ts}
    matches = [[a, b] for ts in subject_templates.values() for k, a in enumerate(ts) for b in ts[k + 1:]]
    for t in range(t_next):
        others = rng.integers(0, t_next, 4 * impostors_per_template)
        others = [int(o) for o in others if subject_of[int(o)] != subject_of[t]][:impostors_per_template]
        matches += [[t, o] for o in others]
    subjects = sorted(subject_templates)
    enrolled = set(rng.choice(subjects, int(round(enrolled_fraction * len(subjects))), replace=False).tolist())
    gallery_t = {first_of[s] for s in enrolled}
    return {"templates": [header, *rows], "matches": [["ENROLL_TEMPLATE_ID", "VERIF_TEMPLATE_ID"], *matches],
            "gallery": [header, *[r for r in rows if r[0] in gallery_t]],
            "probes": [header, *[r for r in rows if r[0] not in gallery_t]]}
