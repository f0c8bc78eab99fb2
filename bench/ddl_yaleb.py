"""DDL on real faces with hard lighting (Huang et al. 2020, Sec. 4) — Extended Yale B — and on SynthFaces
with low resolution as the hard attribute.

    python bench/ddl_yaleb.py                         # bench/results/ddl_yaleb.json (+ .png)
    python bench/ddl_yaleb.py --dataset=synthfaces    # bench/results/ddl_synth.json

Yale B, per seed: 26 identities for training, the other 12 held out. The light angle is the angle between
the light and the camera axis, arccos(cos azimuth · cos elevation) (the data README's derived attribute):
easy = [0°, 25°] (teacher), hard = [50°, 77°] (student 1) and [77°, 130°] (student 2). An ArcFace model is
pre-trained on all training images; then, from that checkpoint and for the same number of steps, it is
fine-tuned with ArcFace alone, with ArcFace + DDL (teacher and both students) and with each DDL ablation
of --arms. Fine-tuning runs at SGD 0.01 halved halfway; an arm suffixed ``@lr1e-3`` runs at the paper's
fine-tuning schedule instead (1e-3, ÷10 halfway) and is compared with ``arcface@lr1e-3``. Reported on the
held-out identities: rank-1 identification of each hard partition's images
(and, as the gap's reference, of the easy images outside the gallery) against a gallery of one easy image
per identity, and the expectation margin / histogram intersection of the positive and negative
similarity distributions of the easy and hard sets (Fig. 6), before and after fine-tuning.

SynthFaces: its training identities, easy = rendered at 64 px, hard = rendered at 32 px and at 16 px (its
``resolution`` attribute; every image is then resized to 64 px); evaluation on its held-out identities.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.evaluation.protocols import run_protocol  # noqa: E402
from tfface.export.saved_model import load_embedder  # noqa: E402
from tfface.programs.training import train  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_enum("dataset", "yaleb", ["yaleb", "synthfaces"], "Extended Yale B (lighting) or SynthFaces "
                  "(resolution).")
flags.DEFINE_string("yaleb", str(REPO.parent / "shared" / "data" / "yaleb"), "Yale B folder.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (split, weights, sampling).")
flags.DEFINE_integer("pretrain_steps", 600, "ArcFace pre-training steps.")
flags.DEFINE_integer("finetune_steps", 300, "Fine-tuning steps (every arm).")
flags.DEFINE_list("arms", ["arcface", "ddl", "ddl_detach", "kl_only", "order_only", "random_neg",
                           "arcface@lr1e-3", "ddl@lr1e-3"],
                  "Fine-tuning arms: arcface (plain), ddl (paper defaults) and the ablations of Table 2 / Sec. 3.3: "
                  "ddl_detach (no gradient through the teacher), kl_only, order_only, random_neg (random instead of "
                  "hard-mined negatives), js, emd (other distribution distances). A suffix @lr1e-3 runs the arm at "
                  "the paper's fine-tuning schedule (lr 1e-3, ÷10 halfway) instead of 0.01 halved halfway.")
flags.DEFINE_string("out", None, "Result file (default bench/results/ddl_yaleb.json or ddl_synth.json).")
FLAGS = flags.FLAGS
SETTINGS = {  # attribute column, |value|, ranges (teacher first)
    "yaleb": ("light", False, ["0:25", "50:77", "77:130"]),
    "synthfaces": ("resolution", False, ["64:64", "32:32", "16:16"]),
}


def yaleb_lists(root: pathlib.Path, tmp: pathlib.Path, seed: int) -> tuple[str, str]:
    """Train / held-out list files with a derived ``light`` column (light-to-camera angle in degrees)."""
    if not (root / "meta.csv").exists():
        raise SystemExit(f"error: {root}/meta.csv not found (research data kept beside the clone).")
    rows = list(csv.DictReader(open(root / "meta.csv")))
    ids = sorted({r["identity"] for r in rows})
    train_ids = set(np.random.default_rng(seed).permutation(ids)[:26].tolist())
    out = {}
    for name, keep in (("train", lambda i: i in train_ids), ("test", lambda i: i not in train_ids)):
        path = tmp / f"{name}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "identity", "light"])
            for r in rows:
                if keep(r["identity"]):
                    az, el = np.radians(float(r["azimuth"])), np.radians(float(r["elevation"]))
                    w.writerow([str(root / r["path"]), r["identity"],
                                f"{np.degrees(np.arccos(np.cos(az) * np.cos(el))):.2f}"])
        out[name] = str(path)
    return out["train"], out["test"]


def synth_lists(tmp: pathlib.Path, seed: int) -> tuple[str, str]:
    from tfface.data.build import synth_config
    from tfface.data.synthfaces import build_synthfaces

    root = build_synthfaces(synth_config(RunConfig.of(synth_seed=seed)), None, log=lambda s: None)
    rows = list(csv.DictReader(open(root / "meta.csv")))
    lists = []
    for split in ("train", "heldout"):
        keep = [(str(root / r["path"]), r["identity"], r["resolution"]) for r in rows if r["split"] == split]
        path = tmp / f"{split}.csv"
        with open(path, "w", newline="") as fh:
            csv.writer(fh).writerows([("path", "identity", "resolution"), *keep])
        lists.append(str(path))
    return lists[0], lists[1]


ABLATIONS = {"ddl": {}, "ddl_detach": {"ddl_detach_teacher": True}, "kl_only": {"ddl_terms": "kl_only"},
             "order_only": {"ddl_terms": "order_only"}, "random_neg": {"ddl_negatives": "random"},
             "js": {"ddl_distance": "js"}, "emd": {"ddl_distance": "emd"}}


SCHEDULES = {"": (0.01, 0.5), "lr1e-3": (1e-3, 0.1)}  # suffix → (fine-tuning lr, factor at half the steps)


def arm_config(arm: str, attribute: str, use_abs: bool, ranges: list[str]) -> dict:
    """RunConfig overrides of one fine-tuning arm (``name`` or ``name@schedule``)."""
    name, _, schedule = arm.partition("@")
    if schedule not in SCHEDULES:
        raise SystemExit(f"error: --arms: unknown schedule suffix @{schedule} in {arm!r}; use @lr1e-3 or none.")
    lr, factor = SCHEDULES[schedule]
    tune = {"lr": lr, "lr_factor": factor}
    if name == "arcface":
        return tune
    if name not in ABLATIONS:
        raise SystemExit(f"error: --arms: unknown arm {arm!r}; choose from arcface, {', '.join(ABLATIONS)} "
                         "(optionally with @lr1e-3).")
    return {**tune, "method": "ddl", "ddl_attribute": attribute, "ddl_abs": use_abs, "ddl_ranges": tuple(ranges),
            "ddl_pairs_per_replica": 8, **ABLATIONS[name]}


def easy_hard(model: str, test_list: str, out: str) -> dict:
    attribute, use_abs, ranges = SETTINGS[FLAGS.dataset]
    embed, size = load_embedder(model)
    rep = run_protocol("easy_hard", embed, size, test_list, None, out, flip=True,
                       options={"attribute": attribute, "ranges": ranges, "use_abs": use_abs})
    return {"rank1": [s["rank1"] for s in rep["students"]], "easy_rank1": rep["easy_rank1"],
            "distributions": rep["distributions"]}


def main(argv):
    del argv
    attribute, use_abs, ranges = SETTINGS[FLAGS.dataset]
    for arm in FLAGS.arms:
        arm_config(arm, attribute, use_abs, ranges)  # unknown arms fail before any training
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ddl-bench-"))
    default = "ddl_yaleb.json" if FLAGS.dataset == "yaleb" else "ddl_synth.json"
    out = pathlib.Path(FLAGS.out or REPO / "bench" / "results" / default)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"workdirs under {tmp}", flush=True)
    runs = []
    for seed in map(int, FLAGS.seeds):
        (tmp / f"s{seed}").mkdir()
        if FLAGS.dataset == "yaleb":
            train_list, test_list = yaleb_lists(pathlib.Path(FLAGS.yaleb), tmp / f"s{seed}", seed)
        else:
            train_list, test_list = synth_lists(tmp / f"s{seed}", seed)
        base = RunConfig.of(data="list", list_file=train_list, image_size=64, head="arcface", scale=32.0, margin=0.5,
                         batch_size=64, seed=seed, log_every=100, checkpoint_every=10**9, warmup_steps=50)
        pre = tmp / f"s{seed}" / "pretrain"
        train(base.replace(steps=FLAGS.pretrain_steps, lr=0.1, workdir=str(pre)))
        run = {"seed": seed, "pretrained": easy_hard(str(pre / "export"), test_list, str(pre / "eh"))}
        tune = base.replace(steps=FLAGS.finetune_steps, warmup_steps=0, lr_schedule="piecewise",
                            lr_boundaries=(FLAGS.finetune_steps // 2,), init_checkpoint=str(pre))
        runs.append(run)
        for arm in FLAGS.arms:
            work = tmp / f"s{seed}" / arm.replace("@", "_")
            train(tune.replace(workdir=str(work), **arm_config(arm, attribute, use_abs, ranges)))
            run[arm] = easy_hard(str(work / "export"), test_list, str(work / "eh"))
            print(json.dumps({"seed": seed, arm: run[arm]}), flush=True)
            out.write_text(json.dumps({"dataset": FLAGS.dataset, "ranges": ranges, "arms": FLAGS.arms,
                                       "pretrain_steps": FLAGS.pretrain_steps, "finetune_steps": FLAGS.finetune_steps,
                                       "runs": runs}, indent=1))


if __name__ == "__main__":
    app.run(main)
