"""Alignment from photos, measured on the unaligned CelebA originals (../shared/data/celeba_raw).

    python bench/align_celeba_raw.py                   # the recipe's 1,000 steps; ~3 min of training here
    python bench/align_celeba_raw.py --quick --out=/tmp/a.json   # a few steps (checks the script)

1. Fidelity: tfface-align's chips (dlib layout, padding 0.25) of the 146 photos against the reference chips dlib
   made of them: which photos have a face, the landmarks' error and the chips' mean absolute pixel difference.
2. Use: a model trained with the real-face recipe on the aligned CelebA set (celeba/), without the 30 people of
   celeba_raw, scores every pair of their 143 detected photos twice: from the reference chips, and from the raw
   photos aligned on the fly (``tfface.load(…, align=True)``). The two verifications should agree.

Writes ``--out`` (JSON) and a scatter plot of the two scores beside it. CPU-only times.
"""

from tfface.env import require_tensorflow

require_tensorflow()

import csv  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("data", str(REPO.parent / "shared" / "data"), "The shared data folder.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "align_celeba_raw.json"), "The JSON to write.")
flags.DEFINE_string("workdir", None, "Where the model trains (default: a temporary folder).")
flags.DEFINE_integer("steps", 1000, "Training steps (the recipe's).")
flags.DEFINE_bool("quick", False, "30 steps: checks the script, measures nothing worth reporting.")
FLAGS = flags.FLAGS


def fidelity(raw: pathlib.Path) -> tuple[dict, list[dict]]:
    """Chips against the reference chips; the rows of the photos dlib found a face in."""
    from tfface.align.aligner import Aligner, read_photo

    rows = list(csv.DictReader(open(raw / "meta.csv")))
    aligner = Aligner()
    pixel, landmark, agree, start = [], [], 0, time.perf_counter()
    for row in rows:
        face = aligner.largest(read_photo(raw / row["path"]))
        agree += (face is not None) == bool(row["reference"])
        if face is not None and row["reference"]:
            reference = np.asarray(read_photo(raw / row["reference"]), np.float64)
            pixel.append(float(np.abs(face.chip.astype(np.float64) - reference).mean()))
            landmark.append(float(np.abs(face.points - np.array(row["landmarks"].split(), float).reshape(5, 2)).max()))
    seconds = time.perf_counter() - start
    return {"photos": len(rows), "faces_found_as_reference": agree, "compared": len(pixel),
            "pixel_mean_abs_diff": {"mean": float(np.mean(pixel)), "max": float(np.max(pixel))},
            "landmark_max_error_px": float(np.max(landmark)), "seconds_per_photo": seconds / len(rows)}, \
        [r for r in rows if r["reference"]]


def train_on_celeba(data: pathlib.Path, held_out: set[str], workdir: str, steps: int) -> str:
    """The recipe on celeba/'s detected faces minus the held-out people; the export's path."""
    rows = [r for r in csv.DictReader(open(data / "celeba" / "meta.csv"))
            if r["detected"] == "1" and r["identity"] not in held_out]
    listed = pathlib.Path(workdir) / "train.csv"
    listed.parent.mkdir(parents=True, exist_ok=True)
    with open(listed, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "identity"])
        writer.writerows([str(data / "celeba" / r["path"]), r["identity"]] for r in rows)
    command = [sys.executable, str(REPO / "train.py"), f"--config={REPO / 'configs' / 'small_real_faces.json'}",
               f"--list_file={listed}", f"--workdir={workdir}/run", f"--steps={steps}"]
    if steps < 250:
        command += [f"--checkpoint_every={steps}", f"--log_every={steps}", "--scale_warmup_steps=0"]
    subprocess.run(command, check=True)
    return f"{workdir}/run/export"


def verification(raw: pathlib.Path, rows: list[dict], export: str) -> dict:
    """Every pair of the photos, scored from the reference chips and from the raw photos aligned on the fly."""
    import tfface
    from tfface.evaluation.metrics import verification_report

    identities = np.array([r["identity"] for r in rows])
    chips = tfface.load(export).embed([str(raw / r["reference"]) for r in rows])
    start = time.perf_counter()
    photos = tfface.load(export, align=True).embed([str(raw / r["path"]) for r in rows])
    align_seconds = time.perf_counter() - start
    i, j = np.triu_indices(len(rows), 1)
    same = identities[i] == identities[j]
    folds = np.arange(len(i)) % 10
    scores = {"reference_chips": np.sum(chips[i] * chips[j], 1), "raw_photos": np.sum(photos[i] * photos[j], 1)}
    reports = {k: verification_report(s, same, folds) for k, s in scores.items()}
    keep = ("auc", "eer", "tar_at_far")  # not accuracy: 3 % of these pairs are genuine
    return {"pairs": int(len(same)), "genuine": int(same.sum()),
            **{k: {m: r[m] for m in keep} for k, r in reports.items()},
            "score_correlation": float(np.corrcoef(scores["reference_chips"], scores["raw_photos"])[0, 1]),
            "score_mean_abs_diff": float(np.mean(np.abs(scores["reference_chips"] - scores["raw_photos"]))),
            "embed_seconds_per_raw_photo": align_seconds / len(rows)}, scores, same


def plot(scores: dict, same: np.ndarray, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    for kind, colour, label in ((False, "tab:red", "different people"), (True, "tab:green", "same person")):
        ax.scatter(scores["reference_chips"][same == kind], scores["raw_photos"][same == kind], s=3, alpha=0.4,
                   c=colour, label=label)
    ax.plot([-1, 1], [-1, 1], "k--", lw=0.8)
    ax.set_xlabel("score from dlib's reference chips")
    ax.set_ylabel("score from the raw photos, aligned by tfface")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv):
    del argv
    data = pathlib.Path(FLAGS.data)
    raw = data / "celeba_raw"
    steps = 30 if FLAGS.quick else FLAGS.steps
    report, rows = fidelity(raw)
    print(f"fidelity: {json.dumps(report)}")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        export = train_on_celeba(data, {r["identity"] for r in csv.DictReader(open(raw / "meta.csv"))},
                                 FLAGS.workdir or tmp, steps)
        train_seconds = time.perf_counter() - start
        verified, scores, same = verification(raw, rows, export)
    print(f"verification: {json.dumps(verified)}")
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu_only": True, "steps": steps, "train_seconds": round(train_seconds, 1),
                               "fidelity": report, "verification": verified}, indent=1))
    plot(scores, same, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    app.run(main)
