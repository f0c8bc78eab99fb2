"""LiteRT variants of the README's main job, with their verification beside the SavedModel's.

    python bench/tflite_export.py --workdir=runs/default   # trains `python train.py` there first if needed

Runs ``evaluate.py --checkpoint=<workdir> --protocol=tflite`` on the held-out SynthFaces pairs the job
evaluated on and copies its ``tflite.json`` to ``bench/results/tflite.json``.
"""

import json
import pathlib
import shutil
import subprocess
import sys

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("workdir", "runs/default", "The main job's workdir (trained here when it has no export).")
flags.DEFINE_list("train_args", [], "Flags added to `python train.py` when it trains the workdir (none: the main job).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "tflite.json"), "Where tflite.json is copied.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    work = pathlib.Path(FLAGS.workdir)
    if not (work / "eval.json").is_file():
        subprocess.run([sys.executable, str(REPO / "train.py"), f"--workdir={work}", *FLAGS.train_args], check=True)
    pairs = json.loads((work / "eval.json").read_text())["pairs_file"]
    subprocess.run([sys.executable, str(REPO / "evaluate.py"), f"--checkpoint={work}", "--protocol=tflite",
                    f"--eval_pairs={pairs}", f"--out={work / 'tflite'}"], check=True)
    shutil.copy(work / "tflite" / "tflite.json", FLAGS.out)


if __name__ == "__main__":
    app.run(main)
