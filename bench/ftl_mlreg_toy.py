"""FTL's m-L2 toy (Yin et al. 2019, Sec. 4.2 / Fig. 5) on SynthFaces instead of MNIST (nothing downloads):
2-D features of 10 identities (100 images each), softmax with and without m-L2 (α_reg = 0.001, as in the paper).

    python bench/ftl_mlreg_toy.py     # bench/results/ftl_mlreg_toy.json and .png

Each model trains a small CNN (32 px) with a 2-D embedding and a plain softmax classifier on 80% of each
identity's images, with the same seed and steps. Reported on the other 20%: classification accuracy, the
mean feature norm, and the spread of the class directions (std of the angular gaps between neighbouring
class centres; 0 = evenly spread, the "more balanced angular distribution" of Fig. 5b).
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import write_list  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.data.pipeline import image_dataset  # noqa: E402
from tfface.data.synthfaces import SynthFacesConfig, build_synthfaces  # noqa: E402
from tfface.methods.standard import restore_workdir  # noqa: E402
from tfface.programs.training import train  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_integer("steps", 1500, "Training steps per model.")
flags.DEFINE_float("alpha_reg", 0.001, "m-L2 weight of the regularised model.")
flags.DEFINE_integer("identities", 10, "SynthFaces identities (classes).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "ftl_mlreg_toy.json"), "Result file (+ .png).")
FLAGS = flags.FLAGS


def angular_gap_std(emb: np.ndarray, labels: np.ndarray) -> float:
    """Std (degrees) of the gaps between the sorted angles of the 2-D class centres."""
    ang = np.sort([np.degrees(np.arctan2(*emb[labels == c].mean(0)[::-1])) for c in np.unique(labels)])
    gaps = np.diff(np.concatenate([ang, [ang[0] + 360.0]]))
    return float(gaps.std())


def main(argv):
    del argv
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mlreg-toy-"))
    synth = SynthFacesConfig(train_identities=FLAGS.identities, heldout_identities=2, min_images=100, max_images=100,
                             image_size=32, seed=0)  # min = max images: balanced classes, as MNIST's
    root = build_synthfaces(synth, None, log=print)
    rows = [r for r in csv.DictReader(open(root / "meta.csv")) if r["split"] == "train"]
    rng = np.random.default_rng(0)
    train_rows, test_rows = [], []
    for ident in sorted({r["identity"] for r in rows}):
        paths = rng.permutation([str(root / r["path"]) for r in rows if r["identity"] == ident]).tolist()
        cut = int(0.8 * len(paths))
        train_rows += [(p, ident) for p in paths[:cut]]
        test_rows += [(p, ident) for p in paths[cut:]]
    train_list = write_list(tmp / "train.csv", train_rows)
    names = sorted({i for _, i in train_rows})
    test_y = np.array([names.index(i) for _, i in test_rows])
    results, feats = {}, {}
    for name, weight in (("softmax", 0.0), ("softmax + m-L2", FLAGS.alpha_reg)):
        work = tmp / name.replace(" ", "").replace("+", "_")
        cfg = RunConfig.of(data="list", list_file=train_list, image_size=32, embedding_size=2, head="softmax",
                        mlreg_weight=weight, steps=FLAGS.steps, batch_size=64, lr=0.05, warmup_steps=100,
                        log_every=500, checkpoint_every=10**9, workdir=str(work), seed=0)
        train(cfg)
        _, backbone, head, _, _ = restore_workdir(str(work))
        emb = np.concatenate([backbone(x, training=False).numpy()
                              for x in image_dataset([p for p, _ in test_rows], 32, 256)])
        pred = np.argmax(head.inference_logits(tf.constant(emb)).numpy(), axis=1)
        feats[name] = emb
        results[name] = {"test_accuracy": float((pred == test_y).mean()),
                         "mean_feature_norm": float(np.linalg.norm(emb, axis=1).mean()),
                         "angular_gap_std_deg": angular_gap_std(emb, test_y)}
        print(name, json.dumps(results[name]), flush=True)
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": FLAGS.steps, "alpha_reg": FLAGS.alpha_reg, "results": results}, indent=1))
    plot(feats, test_y, results, out.with_suffix(".png"))


def plot(feats: dict, labels: np.ndarray, results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, len(feats), figsize=(5 * len(feats), 4.6))
    for a, (name, emb) in zip(ax, feats.items()):
        a.scatter(emb[:, 0], emb[:, 1], c=labels, cmap="tab10", s=6)
        r = results[name]
        a.set_title(f"{name}: acc {r['test_accuracy'] * 100:.1f}%, mean ‖f‖ {r['mean_feature_norm']:.1f}",
                    fontsize=9)
        a.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    app.run(main)
