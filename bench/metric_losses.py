"""Metric losses on real faces: train on half of ../shared/data/celeba's identities, test retrieval
(Recall@K, NMI, F1) on the other half, against the untrained network.

    python bench/metric_losses.py --steps=1000          # writes bench/results/metric_losses.json

Small CNN, 64 px, P×K batches (P=16, K=4), SGD with cosine decay, same steps and seed for every loss.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from absl import app, flags  # noqa: E402
from celeba import retrieval_of, split_lists  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.export.saved_model import export_saved_model  # noqa: E402
from tfface.models.backbones import build_backbone  # noqa: E402
from tfface.programs.training import train  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("celeba", str(REPO.parent / "shared" / "data" / "celeba"), "CelebA subset folder.")
flags.DEFINE_list("losses", ["triplet", "npair", "ms"], "Metric losses to compare.")
flags.DEFINE_integer("steps", 1000, "Training steps per loss.")
flags.DEFINE_integer("batch_size", 64, "Global batch (P×K with K = 4).")
flags.DEFINE_float("lr", 0.05, "SGD learning rate.")
flags.DEFINE_integer("seed", 0, "Seed for the identity split, weights and sampling.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "metric_losses.json"), "Result file.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    celeba = pathlib.Path(FLAGS.celeba)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="metric-bench-"))
    train_list, test_list = split_lists(celeba, tmp, FLAGS.seed)
    base = RunConfig.of(data="list", list_file=train_list, data_root=str(celeba), image_size=64, embedding_size=128,
                     sampler="pk", pk_k=4, batch_size=FLAGS.batch_size, steps=FLAGS.steps, lr=FLAGS.lr,
                     warmup_steps=100, seed=FLAGS.seed, log_every=100, checkpoint_every=10**9)
    results = {}
    untrained = export_saved_model(build_backbone("small_cnn", 64, 128), tmp / "untrained", 64)
    results["untrained"] = retrieval_of(untrained, test_list, str(celeba), str(tmp / "untrained"))
    for loss in FLAGS.losses:
        t0 = time.time()
        cfg = base.replace(loss=loss, workdir=str(tmp / loss))
        train(cfg)
        rep = retrieval_of(str(tmp / loss / "export"), test_list, str(celeba), str(tmp / loss))
        results[loss] = {**rep, "seconds": round(time.time() - t0, 1)}
        print(loss, json.dumps({k: rep[k] for k in ("recall_at_k", "nmi", "f1")}), flush=True)
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": FLAGS.steps, "batch_size": FLAGS.batch_size, "lr": FLAGS.lr,
                               "seed": FLAGS.seed, "results": results}, indent=1))


if __name__ == "__main__":
    app.run(main)
