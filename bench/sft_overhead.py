"""Cost of SFT per training step: the same trainer step with and without --feature_transform.

    python bench/sft_overhead.py          # writes bench/results/sft_overhead.json

One device, one in-memory batch (the step, not the input), CosFace head, 1000 classes, centres warmed
up (generation from the first timed step). Timings alternate between the variants for several rounds
and report the median, as this shared machine's speed drifts.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402

from absl import app, flags  # noqa: E402
from timing import step_timer  # noqa: E402

from tfface.methods.sft import FeatureAugmenter, GeneratedLoss  # noqa: E402
from tfface.training.tasks import EmbeddingTask  # noqa: E402
from tfface.training.terms import HeadTerm  # noqa: E402

flags.DEFINE_list("configs", ["small_cnn:64:64:512", "iresnet18:64:32:512"],
                  "backbone:image_size:batch_size:embedding_size.")
flags.DEFINE_list("transforms", ["sft", "sft_d", "translation"], "Variants timed against none.")
flags.DEFINE_integer("steps", 8, "Timed steps per round.")
flags.DEFINE_integer("rounds", 5, "Alternating rounds (median reported).")
flags.DEFINE_integer("classes", 1000, "Number of classes.")
flags.DEFINE_string("out", "bench/results/sft_overhead.json", "Result file.")
FLAGS = flags.FLAGS


def task_for(kind: str, classes: int, dim: int):
    def build(backbone, head, batch):
        terms = [HeadTerm(head)]
        if kind != "none":
            aug = FeatureAugmenter(kind, classes, dim, warmup_steps=0)
            aug.centres.seen.assign(aug.centres.seen + 1.0)  # every class "seen": all features generated
            terms.append(GeneratedLoss(aug, 0.2, terms[0]))
        return EmbeddingTask(backbone, batch, terms)

    return build


def main(argv):
    del argv
    rows = []
    for item in FLAGS.configs:
        name, size, batch, dim = item.split(":")
        size, batch, dim = int(size), int(batch), int(dim)
        runners = {k: step_timer(name, size, batch, FLAGS.classes, task_for(k, FLAGS.classes, dim), dim)
                   for k in ["none", *FLAGS.transforms]}
        times = {k: [] for k in runners}
        for run in runners.values():
            run(2)  # trace
        for _ in range(FLAGS.rounds):
            for k, run in runners.items():
                times[k].append(run(FLAGS.steps))
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {"backbone": name, "image_size": size, "batch_size": batch, "embedding_size": dim,
               "step_ms": {k: round(v * 1000, 2) for k, v in med.items()},
               "overhead_pct": {k: round((med[k] / med["none"] - 1) * 100, 2) for k in FLAGS.transforms}}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    app.run(main)
