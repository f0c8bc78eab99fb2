"""FTL's controlled experiment (Yin et al. 2019, Sec. 4.3 / Table 1) on real faces.

    python bench/ftl_ur.py                       # CelebA, 3 seeds → bench/results/ftl_ur.json
    python bench/ftl_ur.py --dataset=synthfaces  # → bench/results/ftl_ur_synth.json

CelebA detected faces, per seed: a third of the identities is never trained on (balanced verification
pairs among them). Of the others with ≥ 14 images, alternately a regular class (5 images held out as
probes, the rest — 9 to 25 — for training) or an under-represented (UR) class (3 images for training,
5 held out). SynthFaces: its long-tailed training identities, 5 images of each identity with ≥ 14 held
out as probes and alternately the rest (regular) or 3 (UR) trained on, its smaller identities trained on
as they are (UR when ≤ 8 images); verification on its held-out identities.

Three methods with the same encoder (small CNN, 64 px) and the same number of steps, Adam:
softmax; softmax + m-L2 (Eq. 3); FTL (pre-training with Eq. 4 for --ftl_pretrain_steps, then stage 1 /
stage 2 alternation every --ftl_alternate_steps — 3 cycles by default — with feature transfer to UR classes;
stage 1 in the paper's sequential order unless --ftl_stage1=joint); optionally ftl_no_transfer, the same modules
trained with Eq. 4 for all steps (what the transfer stages add). α_reg of m-L2, in softmax + m-L2 and in
FTL's Eq. 4 alike, is --mlreg_weight (the paper's 0.25 by default). Reported: nearest-centre rank-1 of the
probes for regular and UR classes (FTL on both g and f), and 10-fold verification accuracy on unseen
identities; mean ± std over seeds.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import detected_rows, write_list  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.data.build import training_source  # noqa: E402
from tfface.data.sources import from_list_file  # noqa: E402
from tfface.data.synthfaces import write_balanced_pairs  # noqa: E402
from tfface.evaluation.identification import centre_rank1  # noqa: E402
from tfface.methods.ftl import regular_classes  # noqa: E402
from tfface.methods.ftl_eval import nn_report, restore_ftl_run  # noqa: E402
from tfface.methods.standard import restore_workdir  # noqa: E402
from tfface.models.embed import embed_paths  # noqa: E402
from tfface.programs.training import train  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_enum("dataset", "celeba", ["celeba", "synthfaces"], "Real CelebA faces or SynthFaces.")
flags.DEFINE_string("celeba", str(REPO.parent / "shared" / "data" / "celeba"), "CelebA subset folder.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (split, weights, sampling).")
flags.DEFINE_list("methods", ["softmax", "softmax_mlreg", "ftl"], "Methods to compare: softmax, softmax_mlreg, "
                  "ftl, ftl_no_transfer (FTL's modules trained with Eq. 4 for all steps, no stages).")
flags.DEFINE_integer("steps", 1500, "Training steps per run (every method).")
flags.DEFINE_integer("ftl_pretrain_steps", 600, "FTL: pre-training steps with Eq. 4 (the rest alternates).")
flags.DEFINE_integer("ftl_alternate_steps", 150, "FTL: N_iter; the default 1500 − 600 steps make 3 stage-1 / stage-2 "
                     "cycles.")
flags.DEFINE_float("ftl_alpha_recon", 1.0, "FTL: α_recon of Eq. 4 on Eq. 1's pixel sum (paper: 1; 1/(64·64·3) "
                   "is the old per-pixel-mean balance).")
flags.DEFINE_enum("ftl_stage1", "sequential", ["sequential", "joint"], "FTL stage 1: the paper's three updates per "
                  "step, or one on the summed loss.")
flags.DEFINE_float("lr", 1e-3, "Adam learning rate (FTL pre-training too; its stages use lr / 10).")
flags.DEFINE_float("mlreg_weight", 0.25, "α_reg of the m-L2 term in softmax + m-L2 and in FTL's Eq. 4 (the paper's "
                   "default 0.25; its Fig. 5 toy uses 0.001).")
flags.DEFINE_bool("append", False, "Add the runs to an existing result file (e.g. another --mlreg_weight) "
                  "instead of replacing it.")
flags.DEFINE_string("out", None, "Result file (default bench/results/ftl_ur[_synth].json).")
FLAGS = flags.FLAGS
UR_MAX = 8  # UR classes train on 3 (CelebA) or ≤ 8 (SynthFaces) images


def split_rows(rows: list[tuple[str, str]], seed: int, unseen_share: float) -> dict:
    """(train rows, probe rows, unseen rows) as in the module docstring."""
    by_id: dict[str, list[str]] = {}
    for path, ident in rows:
        by_id.setdefault(ident, []).append(path)
    rng = np.random.default_rng(seed)
    ids = rng.permutation(sorted(by_id)).tolist()
    cut = int(len(ids) * unseen_share)
    train, probes, n = [], [], 0
    for ident in ids[cut:]:
        paths = rng.permutation(by_id[ident]).tolist()
        if len(paths) < 14:
            if unseen_share == 0:  # SynthFaces: its small classes are the natural UR classes
                train += [(p, ident) for p in paths]
            continue
        keep = len(paths) - 5 if n % 2 == 0 else 3
        n += 1
        train += [(p, ident) for p in paths[:keep]]
        probes += [(p, ident) for p in paths[keep:keep + 5]]
    return {"train": train, "probes": probes, "unseen": [(p, i) for i in ids[:cut] for p in by_id[i]]}


def make_split(tmp: pathlib.Path, seed: int) -> dict:
    if FLAGS.dataset == "celeba":
        celeba = pathlib.Path(FLAGS.celeba)
        rows = [(str(celeba / r["path"]), r["identity"]) for r in detected_rows(celeba)]
        parts = split_rows(rows, seed, 1 / 3)
        pairs = str(tmp / "unseen_pairs.csv")
        write_balanced_pairs(pairs, [p for p, _ in parts["unseen"]], [i for _, i in parts["unseen"]], 1500,
                             np.random.default_rng(seed))
    else:
        from tfface.data.build import synth_config
        from tfface.data.synthfaces import build_synthfaces

        root = build_synthfaces(synth_config(RunConfig.of(synth_seed=seed)), None, log=lambda s: None)
        meta = [r for r in csv.DictReader(open(root / "meta.csv")) if r["split"] == "train"]
        parts = split_rows([(str(root / r["path"]), r["identity"]) for r in meta], seed, 0.0)
        pairs = str(root / "pairs.csv")
    return {"train": write_list(tmp / "train.csv", parts["train"]), "probes": write_list(tmp / "probes.csv",
            parts["probes"]), "pairs": pairs}


def config(method: str, split: dict, seed: int, workdir: pathlib.Path) -> RunConfig:
    common = RunConfig.of(data="list", list_file=split["train"], image_size=64, eval_pairs=split["pairs"], seed=seed,
                       steps=FLAGS.steps, batch_size=64, log_every=150, checkpoint_every=10**9, workdir=str(workdir))
    base = common.replace(optimizer="adam", lr=FLAGS.lr, lr_schedule="constant", warmup_steps=0, weight_decay=0.0,
                          head="softmax", embedding_size=320)
    ftl = common.replace(method="ftl", ftl_ur_max_images=UR_MAX, ftl_lr_pretrain=FLAGS.lr,
                         ftl_alpha_reg=FLAGS.mlreg_weight, ftl_stage1=FLAGS.ftl_stage1,
                         ftl_alpha_recon=FLAGS.ftl_alpha_recon)
    if method == "softmax_mlreg":
        return base.replace(mlreg_weight=FLAGS.mlreg_weight)
    if method == "ftl_no_transfer":  # the FTL model trained with Eq. 4 for the whole budget: what transfer adds
        return ftl.replace(ftl_pretrain_steps=FLAGS.steps)
    if method == "ftl":
        return ftl.replace(ftl_pretrain_steps=FLAGS.ftl_pretrain_steps, ftl_alternate_steps=FLAGS.ftl_alternate_steps,
                           ftl_lr_alternate=FLAGS.lr / 10)
    return base


def nn_of_standard(workdir: str, probes_list: str) -> dict:
    """Nearest-centre rank-1 of a standard run's embedding (its f), split regular / UR like FTL's."""
    cfg, backbone, _, _, _ = restore_workdir(workdir)
    source, _ = training_source(cfg, log=lambda s: None)
    probes = from_list_file(probes_list)
    index = {n: i for i, n in enumerate(source.class_names)}
    py = np.array([index[probes.class_names[y]] for y in probes.labels])
    embed = lambda x: backbone(x, training=False)  # noqa: E731
    hit = centre_rank1(embed_paths(embed, source.paths, cfg.data.image_size, flip=True), source.labels,
                       embed_paths(embed, probes.paths, cfg.data.image_size, flip=True), py, source.num_classes)
    reg = regular_classes(source.class_counts, UR_MAX)[py]
    return {"rank1_f": {"regular": float(hit[reg].mean()), "ur": float(hit[~reg].mean())}}


def main(argv):
    del argv
    if FLAGS.dataset == "celeba":
        detected_rows(pathlib.Path(FLAGS.celeba))  # exits with a clear message when the data is absent
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ftl-ur-"))
    default = "ftl_ur.json" if FLAGS.dataset == "celeba" else "ftl_ur_synth.json"
    out = pathlib.Path(FLAGS.out or REPO / "bench" / "results" / default)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"workdirs under {tmp}", flush=True)
    runs = json.loads(out.read_text())["runs"] if FLAGS.append and out.exists() else []
    for seed in map(int, FLAGS.seeds):
        (tmp / f"s{seed}").mkdir()
        split = make_split(tmp / f"s{seed}", seed)
        for method in FLAGS.methods:
            work = tmp / f"s{seed}" / method
            t0 = time.time()
            report = train(config(method, split, seed, work))
            if method.startswith("ftl"):
                cfg, modules, source = restore_ftl_run(str(work))
                nn = nn_report(modules, source, from_list_file(split["probes"]),
                               regular_classes(source.class_counts, UR_MAX), cfg.data.image_size)
            else:
                nn = nn_of_standard(str(work), split["probes"])
            weight = {"mlreg_weight": FLAGS.mlreg_weight} if method != "softmax" else {}
            if method.startswith("ftl"):
                weight.update(ftl_alpha_recon=FLAGS.ftl_alpha_recon, ftl_stage1=FLAGS.ftl_stage1,
                              ftl_alternate_steps=FLAGS.ftl_alternate_steps)
            runs.append({"seed": seed, "method": method, **weight, "seconds": round(time.time() - t0, 1), **nn,
                         "unseen_accuracy": report["accuracy"], "unseen_tar_at_far": report["tar_at_far"]})
            print(json.dumps(runs[-1]), flush=True)
            out.write_text(json.dumps({"dataset": FLAGS.dataset, "steps": FLAGS.steps, "runs": runs}, indent=1))


if __name__ == "__main__":
    app.run(main)
