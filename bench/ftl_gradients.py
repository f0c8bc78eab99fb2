"""FTL's Eq. 4 terms by their gradients: a check of the FTL arm of the controlled reproduction (issue 19).

    python bench/ftl_gradients.py   # → bench/results/ftl_gradients.json

For each FTL workdir (default: bench/reproduce.py's ur_pose seed-0 runs at the arm's Eq. 4 weights and at the
paper's), at initialisation and after training: the norm of each weighted term's gradient — α_sfmx·L_sfmx (Eq. 2),
α_recon·L_recon (Eq. 1) and α_reg·L_reg (Eq. 3) — on the encoder and on R + FC, over 4 batches of 64 training
images, and the cosine between the softmax and m-L2 gradients on R + FC (−1: the regulariser undoes the softmax).
A term whose gradient is zero would be a broken term; one that dwarfs the softmax's starves the classifier.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.data.build import training_source  # noqa: E402
from tfface.data.pipeline import image_dataset  # noqa: E402
from tfface.methods.ftl import build_modules, restore_ftl  # noqa: E402
from tfface.methods.ftl_gradients import eq4_term_gradients  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("TFFACE_CACHE", os.path.expanduser("~/.cache/tfface"))) / "reproduce" / "full"
flags.DEFINE_list("workdirs", [str(CACHE / "ur_pose_ftl_seed-0"), str(CACHE / "ur_pose_ftl_paper_weights_seed-0")],
                  "FTL workdirs (from bench/reproduce.py --stage=methods and --stage=checks).")
flags.DEFINE_integer("batches", 4, "Batches of 64 training images.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "ftl_gradients.json"), "Result file.")
FLAGS = flags.FLAGS


def mean_of(reports: list[dict]) -> dict:
    """The element-wise mean of nested dicts of floats."""
    first = reports[0]
    return {k: mean_of([r[k] for r in reports]) if isinstance(v, dict) else float(np.mean([r[k] for r in reports]))
            for k, v in first.items()}


def gradients_of(workdir: str) -> list[dict]:
    cfg, trained, latest = restore_ftl(workdir)
    source, _ = training_source(cfg, log=lambda s: None)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(source), FLAGS.batches * 64, replace=False)
    batches = list(zip(image_dataset(source.paths[pick], cfg.data.image_size, 64),
                       np.split(source.labels[pick], FLAGS.batches)))
    keras.utils.set_random_seed(cfg.seed)
    fresh = build_modules(cfg, source.num_classes)
    rows = []
    for state, modules in (("initialisation", fresh), ("trained", trained)):
        report = mean_of([eq4_term_gradients(modules, x, tf.constant(y), cfg.ftl.alpha_softmax, cfg.ftl.alpha_recon)
                          for x, y in batches])
        rows.append({"run": pathlib.Path(workdir).name, "state": state,
                     "checkpoint": pathlib.Path(latest).name if state == "trained" else None,
                     "alpha_recon": cfg.ftl.alpha_recon, "alpha_reg": cfg.ftl.alpha_reg, **report})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv):
    del argv
    missing = [w for w in FLAGS.workdirs if not (pathlib.Path(w) / "config.json").exists()]
    if missing:
        raise SystemExit(f"error: no FTL run in {', '.join(missing)}; run `python bench/reproduce.py "
                         "--stage=methods --methods=ftl` and `--stage=checks --methods=ftl` first, or give --workdirs.")
    rows = [row for w in FLAGS.workdirs for row in gradients_of(w)]
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu_only": True, "batches": FLAGS.batches, "rows": rows}, indent=1))


if __name__ == "__main__":
    app.run(main)
