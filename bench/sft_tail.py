"""SFT on an unbalanced set of real faces (Zhu et al. Sec. 4.2 / Table 5), and SFT with a metric loss.

    python bench/sft_tail.py                  # faces: 5 methods × 3 seeds → bench/results/sft_tail.json
    python bench/sft_tail.py --part=metric    # MS ± SFT, CelebA retrieval → bench/results/sft_metric.json

Faces (CelebA detected faces, per seed): a third of the identities is never trained on (balanced
verification pairs among them = "open set"). Of the others with ≥ 14 images, alternately a head class
(5 images held out for testing, the rest — 9 to 25 — for training) or a tail class (3–5 images for
training, the rest for testing). Closed-set accuracy = argmax of the trained CosFace classifier on the
held-out images, reported for head and tail classes separately. Every method trains the same small CNN
(64 px, 600 steps, CosFace s = 32, m = 0.35) with the same seed; SFT variants use λ = 0.2, 100 warm-up
steps and, for the unbalanced scheme, a head/tail threshold of 6 training images (between the two groups).

Metric: the seeded half/half identity split of bench/metric_losses.py, MS loss with P×K batches, without
SFT and with it (balanced scheme), its targets drawn per identity (the default with a metric loss) or per
sample (which breaks most positive pairs); Recall@1 and NMI on the test identities.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import detected_rows, retrieval_of, split_lists, write_list  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.data.build import training_source  # noqa: E402
from tfface.data.synthfaces import write_balanced_pairs  # noqa: E402
from tfface.methods.standard import restore_workdir  # noqa: E402
from tfface.models.embed import embed_paths  # noqa: E402
from tfface.programs.training import train  # noqa: E402
from tfface.runtime.verify import verify_saved_model  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
METHODS = {  # name: (feature_transform, scheme)
    "baseline": ("none", "unbalanced"),
    "translation": ("translation", "unbalanced"),
    "sft_d": ("sft_d", "unbalanced"),
    "sft": ("sft", "unbalanced"),
    "sft_balanced": ("sft", "balanced"),
}
flags.DEFINE_enum("part", "faces", ["faces", "metric"], "faces: the unbalanced-classes experiment; metric: MS ± SFT.")
flags.DEFINE_string("celeba", str(REPO.parent / "shared" / "data" / "celeba"), "CelebA subset folder.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (split, weights, sampling).")
flags.DEFINE_list("methods", list(METHODS), "Methods of the faces part.")
flags.DEFINE_integer("steps", 600, "Training steps per run.")
flags.DEFINE_string("out", None, "Result file (default bench/results/sft_tail.json or sft_metric.json).")
FLAGS = flags.FLAGS


def make_split(celeba: pathlib.Path, tmp: pathlib.Path, seed: int) -> dict:
    """Train list, closed-set test images (with head/tail flags) and open-set pairs, as described above."""
    rows = detected_rows(celeba)
    by_id: dict[str, list[str]] = {}
    for r in rows:
        by_id.setdefault(r["identity"], []).append(r["path"])
    rng = np.random.default_rng(seed)
    perm = rng.permutation(sorted(by_id)).tolist()
    unseen = perm[: len(perm) // 3]
    train, test, n = [], [], 0
    for ident in perm[len(perm) // 3:]:
        paths = rng.permutation(by_id[ident]).tolist()
        if len(paths) < 14:
            continue
        head = n % 2 == 0
        n += 1
        keep = len(paths) - 5 if head else 3 + int(rng.integers(3))
        train += [(p, ident) for p in paths[:keep]]
        test += [(p, ident, head) for p in paths[keep:]]
    unseen_paths = [(str(celeba / p), i) for i in unseen for p in by_id[i]]
    pairs = str(tmp / "open_pairs.csv")
    write_balanced_pairs(pairs, [p for p, _ in unseen_paths], [i for _, i in unseen_paths], 1500,
                         np.random.default_rng(seed))
    return {"train": write_list(tmp / "train.csv", train), "test": test, "pairs": pairs}


def closed_set(workdir: str, celeba: pathlib.Path, test: list) -> dict:
    """Top-1 accuracy of the trained classifier on held-out images of training classes, head and tail."""
    cfg, backbone, head, _, _ = restore_workdir(workdir)
    index = {n: k for k, n in enumerate(training_source(cfg, log=lambda s: None)[0].class_names)}
    emb = embed_paths(lambda x: backbone(x, training=False), np.array([str(celeba / p) for p, _, _ in test]),
                      cfg.data.image_size, 256, flip=False)
    pred = np.argmax(head.inference_logits(emb).numpy(), axis=1)
    right = pred == np.array([index[i] for _, i, _ in test])
    is_head = np.array([h for _, _, h in test])
    return {"head_acc": float(right[is_head].mean()), "tail_acc": float(right[~is_head].mean()),
            "head_images": int(is_head.sum()), "tail_images": int((~is_head).sum())}


def faces(celeba: pathlib.Path, tmp: pathlib.Path, save) -> list[dict]:
    runs = []
    for seed in map(int, FLAGS.seeds):
        split = make_split(celeba, (tmp / f"s{seed}"), seed)
        for name in FLAGS.methods:
            kind, scheme = METHODS[name]
            work = tmp / f"s{seed}" / name
            sft = {} if kind == "none" else {"feature_transform": kind, "sft_scheme": scheme, "sft_tail_threshold": 6,
                                             "sft_lambda": 0.2, "sft_warmup_steps": 100}
            cfg = RunConfig.of(data="list", list_file=split["train"], data_root=str(celeba), image_size=64,
                               head="cosface", margin=0.35, steps=FLAGS.steps, batch_size=64, lr=0.1,
                               warmup_steps=100, seed=seed, log_every=200, checkpoint_every=10**9, workdir=str(work),
                               **sft)
            t0 = time.time()
            train(cfg)
            open_set = verify_saved_model(str(work / "export"), split["pairs"], None, str(work / "open"))
            runs.append({"seed": seed, "method": name, "seconds": round(time.time() - t0, 1),
                         **closed_set(str(work), celeba, split["test"]),
                         "open_accuracy": open_set["accuracy"], "open_tar_at_far": open_set["tar_at_far"]})
            print(json.dumps(runs[-1]), flush=True)
            save(runs)
    return runs


METRIC_ARMS = {"ms": ("none", "auto"), "ms+sft": ("sft", "identity"), "ms+sft, per-sample targets": ("sft", "sample")}


def metric(celeba: pathlib.Path, tmp: pathlib.Path, save) -> list[dict]:
    """MS ± SFT; SFT with targets per identity (the default with a metric loss) and per sample (the paper's
    wording, which breaks the P×K batch's positive pairs)."""
    runs = []
    for seed in map(int, FLAGS.seeds):
        train_list, test_list = split_lists(celeba, tmp / f"s{seed}", seed)
        for name, (kind, targets) in METRIC_ARMS.items():
            work = tmp / f"s{seed}" / name.replace(" ", "_").replace(",", "")
            cfg = RunConfig.of(data="list", list_file=train_list, data_root=str(celeba), image_size=64, loss="ms",
                            sampler="pk", pk_k=4, batch_size=64, steps=FLAGS.steps, lr=0.05, warmup_steps=100,
                            seed=seed, log_every=200, checkpoint_every=10**9, workdir=str(work),
                            feature_transform=kind, sft_scheme="balanced", sft_lambda=0.2, sft_warmup_steps=100,
                            sft_targets=targets)
            train(cfg)
            rep = retrieval_of(str(work / "export"), test_list, str(celeba), str(work))
            runs.append({"seed": seed, "method": name, "recall_at_1": rep["recall_at_k"]["1"], "nmi": rep["nmi"]})
            print(json.dumps(runs[-1]), flush=True)
            save(runs)
    return runs


def main(argv):
    del argv
    celeba = pathlib.Path(FLAGS.celeba)
    detected_rows(celeba)  # exits with a clear message when the data is absent
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"sft-{FLAGS.part}-"))
    for seed in FLAGS.seeds:
        (tmp / f"s{seed}").mkdir(exist_ok=True)
    default = "sft_tail.json" if FLAGS.part == "faces" else "sft_metric.json"
    out = pathlib.Path(FLAGS.out or REPO / "bench" / "results" / default)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(runs):  # after every run, so an interrupted bench keeps what it measured
        out.write_text(json.dumps({"part": FLAGS.part, "steps": FLAGS.steps, "runs": runs}, indent=1))

    save(faces(celeba, tmp, save) if FLAGS.part == "faces" else metric(celeba, tmp, save))


if __name__ == "__main__":
    app.run(main)
