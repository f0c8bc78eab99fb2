"""Time the README's main job (``python train.py`` with no flags) and record its result.

    python bench/main_job.py            # writes bench/results/main_job.json
    python bench/main_job.py --train_args=--steps=2,--synth_identities=20 --out=/tmp/m.json   # a quick run

Uses a fresh SynthFaces cache folder, so rendering is part of the measured time, as on a fresh clone.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_list("train_args", [], "Flags added to `python train.py` (none: the README's main job).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "main_job.json"), "Result file.")
FLAGS = flags.FLAGS


def main(argv) -> None:
    del argv
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp) / "run"
        env = {**os.environ, "TFFACE_CACHE": str(pathlib.Path(tmp) / "cache")}
        t0 = time.time()
        subprocess.run([sys.executable, str(REPO / "train.py"), f"--workdir={work}", *FLAGS.train_args], env=env,
                       check=True)
        seconds = time.time() - t0
        report = json.loads((work / "eval.json").read_text())
    result = {"seconds": round(seconds, 1), "accuracy": report["accuracy"], "accuracy_std": report["accuracy_std"],
              "tar_at_far": report["tar_at_far"], "auc": report["auc"], "eer": report["eer"],
              "cpus": os.cpu_count(), **({"train_args": FLAGS.train_args} if FLAGS.train_args else {})}
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
