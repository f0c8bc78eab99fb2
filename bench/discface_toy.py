"""DiscFace Fig. 4 on a toy problem: 4 classes, 3-D embeddings, CosFace vs Cos-DiscFace (λ = 0.2).

    python bench/discface_toy.py      # writes bench/results/discface_toy.json and discface_toy.png
    python bench/discface_toy.py --steps=20 --out=/tmp/toy   # a quick run elsewhere
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import pathlib  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.methods.discface import ToyConfig, toy_run  # noqa: E402

flags.DEFINE_integer("steps", 1500, "Training steps of each model.")
flags.DEFINE_string("out", str(pathlib.Path(__file__).resolve().parent / "results"), "Folder of the JSON and PNG.")
FLAGS = flags.FLAGS


def main(argv) -> None:
    del argv
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = ToyConfig(steps=FLAGS.steps, eval_every=min(100, FLAGS.steps))
    out = pathlib.Path(FLAGS.out)
    runs = {"CosFace": toy_run(0.0, cfg), "Cos-DiscFace": toy_run(0.2, cfg)}
    fig = plt.figure(figsize=(13, 4), dpi=100)
    ax = fig.add_subplot(1, 3, 1)
    for name, r in runs.items():
        h = np.array(r["history"])
        ax.plot(h[:, 0], h[:, 1], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("intra-class cosine of displacements (1 = aligned)")
    ax.legend()
    for k, (name, r) in enumerate(runs.items()):
        ax3 = fig.add_subplot(1, 3, k + 2, projection="3d")
        e = r["embeddings"] / np.linalg.norm(r["embeddings"], axis=1, keepdims=True)
        w = r["kernel"] / np.linalg.norm(r["kernel"], axis=0, keepdims=True)
        for c in range(4):
            sel = r["labels"] == c
            ax3.scatter(*e[sel].T, s=3, color=f"C{c}")
            ax3.scatter(*w[:, c], s=80, marker="*", color=f"C{c}", edgecolor="k")
        ax3.set_title(name)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "discface_toy.png")
    (out / "discface_toy.json").write_text(json.dumps(
        {name: {"lambda": r["lambda"], "history": r["history"]} for name, r in runs.items()}, indent=1))
    for name, r in runs.items():
        _, cosine, radial = r["history"][-1]
        print(f"{name}: final directional cosine {cosine:.3f}, radial {radial:.3f}")


if __name__ == "__main__":
    app.run(main)
