"""Controlled reproduction (issue 19): each paper's method against its baseline in a SynthFaces scenario that renders
the mechanism the paper exploits (tfface.data.synth_scenarios).

    python bench/reproduce.py --stage=gaps            # each scenario's baseline and the gap it was built for
    python bench/reproduce.py --stage=gaps --quick    # one seed, short runs, small renders (checks the script)

Per scenario and seed: a SynthFaces render (``--synth_seed`` = the seed) and a baseline trained on its ``train``
split (small CNN, 64 px, batch 64; the weights' seed = the seed too), scored by ``evaluate.py --protocol=scenario``
on the render's meta.csv: probe rank-1 per group (nearest training-class centre) and per-identity FAR of the
held-out identities at one global threshold (FAR 1e-3). The gaps:

- ``ur_pose``: regular minus UR rank-1 of probes at large yaw (baseline: softmax with Adam, FTL's, Sec. 4.3).
- ``longtail``: head minus tail rank-1 of unseen images (baseline: CosFace m = 0.35, DiscFace's and SFT's).
- ``hard_partitions``: easy minus hard rank-1 (baseline: ArcFace m = 0.5, DDL's teacher).
- ``density``: mean FAR of look-alike family identities over isolated ones (baseline: ArcFace m = 0.5).

Margin heads warm their scale up over 500 steps (without it, ArcFace on a few hundred identities can stay on its
early plateau; the real-face recipe sweep, issue 18, measured that). Runs are written one by one to ``--out``; a
rerun skips those done and a killed run resumes from its checkpoint in ``--workdir``. CPU-only times.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

from absl import app, flags  # noqa: E402

from tfface.config import RunConfig  # noqa: E402
from tfface.data.build import synth_config  # noqa: E402
from tfface.data.synthfaces import build_synthfaces  # noqa: E402
from tfface.evaluation.protocols import run_protocol  # noqa: E402
from tfface.export.saved_model import load_embedder  # noqa: E402
from tfface.programs.training import train  # noqa: E402
from tfface.runtime.verify import PRINT  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_enum("stage", "gaps", ["gaps"], "Which part to run.")
flags.DEFINE_list("scenarios", ["ur_pose", "longtail", "hard_partitions", "density"], "Scenarios to run.")
flags.DEFINE_integer("seeds", 1, "Seeds per scenario (render and weights).")
flags.DEFINE_bool("quick", False, "One seed, 60 steps, small renders: checks the script, measures nothing.")
flags.DEFINE_string("workdir", os.path.join(os.environ.get("TFFACE_CACHE", os.path.expanduser("~/.cache/tfface")),
                                            "reproduce"), "Where the runs train (kept to resume).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "scenario_gaps.json"), "Result file.")
FLAGS = flags.FLAGS

# identities per render (training, held out); ours, a size these CPUs train in about 5 minutes per run
RENDERS = {"ur_pose": (300, 100), "longtail": (300, 100), "hard_partitions": (150, 100), "density": (150, 100)}
STEPS = 1000
MARGIN = {"scale_warmup_steps": 500}
BASELINES = {
    "ur_pose": {"head": "softmax", "optimizer": "adam", "lr": 1e-3, "lr_schedule": "constant", "warmup_steps": 0,
                "weight_decay": 0.0, "embedding_size": 320},  # FTL's softmax baseline, as in bench/ftl_ur.py
    "longtail": {"head": "cosface", "margin": 0.35, **MARGIN},
    "hard_partitions": {"head": "arcface", "margin": 0.5, **MARGIN},
    "density": {"head": "arcface", "margin": 0.5, **MARGIN},
}


def render_settings(scenario: str, seed: int) -> dict:
    """RunConfig settings of a scenario's SynthFaces render."""
    ids, held = (24, 20) if FLAGS.quick else RENDERS[scenario]
    return {"data": "synthfaces", "synth_scenario": scenario, "synth_identities": ids, "synth_heldout": held,
            "synth_seed": seed, "image_size": 64}


def train_run(name: str, settings: dict, seed: int) -> tuple[pathlib.Path, float]:
    """Train (or resume, or reuse) one run; (workdir, training seconds)."""
    workdir = pathlib.Path(FLAGS.workdir) / ("quick" if FLAGS.quick else "full") / f"{name}_seed-{seed}"
    timing = workdir / "train_seconds.txt"
    if not (workdir / "export" / "saved_model.pb").exists():
        steps = 60 if FLAGS.quick else STEPS
        cfg = RunConfig.of(**{"batch_size": 64, "steps": steps, "warmup_steps": min(100, steps // 5),
                              "log_every": 250, "checkpoint_every": 250, "seed": seed, "workdir": str(workdir),
                              **settings})
        t0 = time.time()
        train(cfg, PRINT)
        timing.write_text(f"{time.time() - t0:.1f}")
    return workdir, float(timing.read_text()) if timing.exists() else float("nan")


def scenario_scores(workdir: pathlib.Path, settings: dict) -> dict:
    """The scenario protocol on the render's meta.csv, and verification on its held-out pairs (from training)."""
    root = build_synthfaces(synth_config(RunConfig.of(**settings)), None, log=lambda s: None)
    embed, size = load_embedder(str(workdir / "export"))
    report = run_protocol("scenario", embed, size, str(root / "meta.csv"), None, str(workdir / "scenario"))
    verification = json.loads((workdir / "eval.json").read_text())
    return {**{k: report[k] for k in ("probes", "heldout_far") if k in report},
            "verification": {k: verification[k] for k in ("accuracy", "tar_at_far", "auc")}}


def gap_of(scenario: str, scores: dict) -> dict:
    """The gap the scenario was built for: rank-1 points between its two probe groups, or the FAR ratio."""
    if scenario == "density":
        far = scores["heldout_far"]
        return {"measure": "family / isolated FAR at FAR 1e-3", "value": far["family_over_isolated"],
                "lower_bound": far["ratio_is_lower_bound"]}
    gap = scores["probes"]["gap"]
    return {"measure": f"{gap['groups'][0]} − {gap['groups'][1]} rank-1 (points)", "value": gap["points"]}


def main(argv):
    del argv
    out = pathlib.Path(FLAGS.out)
    results = json.loads(out.read_text())["runs"] if out.exists() else []
    for seed in range(1 if FLAGS.quick else FLAGS.seeds):
        for scenario in FLAGS.scenarios:
            key = {"stage": "gaps", "scenario": scenario, "arm": "baseline", "seed": seed}
            if any(all(r.get(k) == v for k, v in key.items()) for r in results):
                continue
            data = render_settings(scenario, seed)
            print(f"[gaps] {scenario} seed {seed}", flush=True)
            workdir, seconds = train_run(f"{scenario}_baseline", {**data, **BASELINES[scenario]}, seed)
            scores = scenario_scores(workdir, data)
            results.append({**key, "settings": {**data, **BASELINES[scenario]}, "train_seconds": round(seconds, 1),
                            "scores": scores, "gap": gap_of(scenario, scores)})
            print(f"  gap {json.dumps(results[-1]['gap'])}", flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"cpu_only": True, "quick": FLAGS.quick, "steps": 60 if FLAGS.quick else STEPS,
                                       "runs": results}, indent=1))


if __name__ == "__main__":
    app.run(main)
