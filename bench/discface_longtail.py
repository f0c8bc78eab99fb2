"""DiscFace on class-imbalanced data (Kim et al. Sec. 4.2 / Table 4) with real faces.

    python bench/discface_longtail.py --seeds=0,1,2     # writes bench/results/discface_longtail.json
    python bench/discface_longtail.py --heads=cosface                      # adds CosFace runs to the same file
    python bench/discface_longtail.py --lambdas=0,0.2,0.4,0.6,0.8,1.0     # the λ ablation (Table 5)
    python bench/discface_longtail.py --dataset=synthfaces --out=bench/results/discface_longtail_synth.json

CelebA subset of ../shared/data (detected faces): a seeded third of the identities is never trained on
(balanced verification pairs among them = "unseen"); the images of the shipped pairs.csv are held out
("celeba pairs"); of the remaining identities half keep all their images and half keep 2–3 (long tail).
ArcFace and Arc-DiscFace (and optionally CosFace / Cos-DiscFace) train with the same backbone, steps
and seed; the table reports mean ± std over seeds of 10-fold accuracy and TAR@FAR=1e-2.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import detected_rows, write_list  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.data.build import training_source  # noqa: E402
from tfface.data.synthfaces import write_balanced_pairs  # noqa: E402
from tfface.programs.training import train  # noqa: E402
from tfface.runtime.verify import verify_saved_model  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_enum("dataset", "celeba", ["celeba", "synthfaces"], "celeba (split as above) or SynthFaces (its "
                  "long-tailed training identities; verification on its held-out identities).")
flags.DEFINE_string("celeba", str(REPO.parent / "shared" / "data" / "celeba"), "CelebA subset folder.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (split, weights, sampling).")
flags.DEFINE_list("heads", ["arcface"], "Margin heads; each runs without and with DiscFace.")
flags.DEFINE_list("lambdas", ["0", "0.2"], "DiscFace λ values per head (0 = the plain head); "
                  "0,0.2,0.4,0.6,0.8,1.0 is the ablation of the paper's Table 5.")
flags.DEFINE_integer("steps", 600, "Training steps per run.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "discface_longtail.json"), "Result file.")
flags.DEFINE_string("reevaluate", None, "Instead of training, re-score the exported models of an earlier run of this "
                    "bench (its discface-lt-* temp folder) with the current evaluation code, for --seeds, --heads "
                    "and --lambdas (e.g. after an evaluation fix; training is unaffected by it).")
FLAGS = flags.FLAGS


def make_split(celeba: pathlib.Path, tmp: pathlib.Path, seed: int) -> dict[str, str]:
    rows = detected_rows(celeba)
    held = {p for r in csv.DictReader(open(celeba / "pairs.csv")) for p in (r["path1"], r["path2"])}
    rng = np.random.default_rng(seed)
    ids = sorted({r["identity"] for r in rows})
    perm = rng.permutation(ids)
    unseen = set(perm[: len(ids) // 3].tolist())
    tail = perm[len(ids) // 3:][::2].tolist()  # half of the training identities become tail classes
    limit = {i: 2 + int(rng.integers(2)) for i in tail}  # a tail class keeps 2 or 3 images
    train_rows, kept = [], {}
    for r in rows:
        i = r["identity"]
        if i in unseen or r["path"] in held:
            continue
        if kept.get(i, 0) < limit.get(i, 10**9):
            kept[i] = kept.get(i, 0) + 1
            train_rows.append((r["path"], i))
    out = {"train": str(tmp / "train.csv"), "unseen_pairs": str(tmp / "unseen_pairs.csv")}
    write_list(pathlib.Path(out["train"]), train_rows)
    test = [r for r in rows if r["identity"] in unseen]
    write_balanced_pairs(out["unseen_pairs"], [str(celeba / r["path"]) for r in test],
                         [r["identity"] for r in test], 1500, np.random.default_rng(seed))
    return out


def main(argv):
    del argv
    celeba = pathlib.Path(FLAGS.celeba)
    if FLAGS.dataset == "celeba":
        detected_rows(celeba)  # exits with a clear message when the data is absent
    tmp = pathlib.Path(FLAGS.reevaluate or tempfile.mkdtemp(prefix="discface-lt-"))
    runs = []
    for seed in map(int, FLAGS.seeds):
        (tmp / f"s{seed}").mkdir(exist_ok=bool(FLAGS.reevaluate))
        if FLAGS.dataset == "celeba":
            split = make_split(celeba, tmp / f"s{seed}", seed)
            data = {"data": "list", "list_file": split["train"], "data_root": str(celeba),
                    "eval_pairs": str(celeba / "pairs.csv")}
        else:  # SynthFaces: long-tailed training classes, pairs over held-out identities
            data = {"data": "synthfaces", "synth_seed": seed}
        for head in FLAGS.heads:
            for lam in map(float, FLAGS.lambdas):
                name = f"{head}+discface" if lam else head
                work = tmp / f"s{seed}" / f"{name}-lambda{lam:g}"  # one workdir per run (no resuming another λ)
                cfg = RunConfig.of(image_size=64, head=head, discface_lambda=lam, steps=FLAGS.steps, batch_size=64,
                                lr=0.1, warmup_steps=100, seed=seed, log_every=200, checkpoint_every=10**9,
                                workdir=str(work), **data)
                if FLAGS.reevaluate:  # earlier runs used <name>/ as workdir, later ones <name>-lambda<λ>/
                    work = work if work.exists() else tmp / f"s{seed}" / name
                    pairs = cfg.eval.pairs or training_source(cfg, log=lambda m: None)[1]  # SynthFaces' own pairs
                    first = verify_saved_model(str(work / "export"), pairs, None, str(work))
                else:
                    first = train(cfg)
                keep = ("accuracy", "tar_at_far", "auc")
                run = {"seed": seed, "method": name, "head": head, "lambda": lam}
                if FLAGS.dataset == "celeba":
                    unseen = verify_saved_model(str(work / "export"), split["unseen_pairs"], None, str(work / "unseen"))
                    run.update(celeba_pairs={k: first[k] for k in keep}, unseen={k: unseen[k] for k in keep})
                else:
                    run.update(unseen={k: first[k] for k in keep})
                runs.append(run)
                print(json.dumps(runs[-1]), flush=True)
                write_merged(pathlib.Path(FLAGS.out), [run])  # saved run by run: an interrupted bench keeps its runs


def write_merged(out: pathlib.Path, runs: list[dict]) -> None:
    """Add `runs` to the result file, replacing earlier runs of the same (seed, head, λ) and settings."""
    old = json.loads(out.read_text()) if out.exists() else {}
    if old and (old.get("dataset"), old.get("steps")) != (FLAGS.dataset, FLAGS.steps):
        raise SystemExit(f"error: {out} holds {old.get('dataset')} runs of {old.get('steps')} steps; "
                         "pass another --out for different settings.")
    key = lambda r: (r["seed"], r.get("head", r["method"].split("+")[0]), r["lambda"])  # noqa: E731
    merged = {key(r): r for r in old.get("runs", [])} | {key(r): r for r in runs}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"dataset": FLAGS.dataset, "steps": FLAGS.steps,
                               "runs": sorted(merged.values(), key=key)}, indent=1))


if __name__ == "__main__":
    app.run(main)
