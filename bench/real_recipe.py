"""The real-face recipe sweep (issue 18): which backbone, input size, head and margin, augmentation and
number of steps get the most out of the 6,064 detected CelebA faces on this CPU.

    python bench/real_recipe.py --stage=head_aug      # small CNN, 64 px: head/margin × augmentation preset
    python bench/real_recipe.py --stage=backbone      # backbone × size × augmentation off/on (best head)
    python bench/real_recipe.py --stage=families      # each family of the best preset alone (stage-1 model)
    python bench/real_recipe.py --stage=schedule      # learning rate × schedule on the stage-1 model
    python bench/real_recipe.py --stage=escape        # ArcFace's early plateau: 3 seeds × augmentation × scale
                                                      # warm-up on the stage-1 model
    python bench/real_recipe.py --stage=steps         # the best configuration at more steps
    python bench/real_recipe.py --stage=final         # recipe vs today's default, --seeds seeds each
    python bench/real_recipe.py --stage=cross         # once, at the end: AT&T and Extended Yale B
    python bench/real_recipe.py --quick --out=/tmp/r.json   # a few steps of each stage (checks the script)

Every choice is made on CelebA identities held out from training (``--heldout_ids`` of them, a fixed seeded
split; balanced genuine / impostor pairs among them, 10 folds): 10-fold accuracy and TAR@FAR=1e-2. AT&T and
Extended Yale B (never trained on) are scored only by the ``cross`` stage, for the chosen recipe and the
baseline. The baseline is today's best documented setting: small CNN, 64 px, ArcFace (s = 32, m = 0.5),
random flips only, 1,000 steps of batch 64. CelebA's pixel-identical images filed under two identities are
dropped.

Budget: a recipe for this CPU must train in about ``--budget_minutes`` (60). IResNet-18 at 112 px takes about two
hours per 1,000 steps here (9 img/s, bench/results/throughput.json), so the backbone stage runs it only with
``--include_slow``, as a reference point outside the choice; the steps stage tries 2× and 4× the steps only where
the 1× run's time says they fit the budget. The schedule (learning rate × cosine / step decay) is chosen on the
cheap stage-1 model and carried over. Runs are written one by one to ``--out`` (a rerun skips those done; a
killed run resumes from its last checkpoint in ``--workdir``). CPU-only times.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import cross_identity_duplicates, detected_rows, write_list  # noqa: E402
from paired import paired_difference  # noqa: E402
from readme_tables import augment_label, schedule_label  # noqa: E402  (the table's labels, also on the plot)

from tfface.data.augment import FAMILIES, PRESETS  # noqa: E402
from tfface.evaluation.pairs import read_csv_pairs  # noqa: E402
from tfface.evaluation.verification import evaluate_pairs  # noqa: E402
from tfface.export.saved_model import load_embedder  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("data", str(REPO.parent / "shared" / "data"), "The shared data folder.")
flags.DEFINE_enum("stage", "head_aug", ["head_aug", "backbone", "families", "schedule", "escape", "steps", "final",
                                       "cross"],
                  "Which part to run.")
flags.DEFINE_float("budget_minutes", 60.0, "Training time per run (this CPU) a recipe may take.")
flags.DEFINE_float("tie_points", 1.0, "Accuracy points within which a stage keeps its default / cheaper option "
                   "(ours: about one standard error of the 10-fold accuracy here).")
flags.DEFINE_bool("include_slow", False, "Also run the backbone configurations over the budget (reference points).")
flags.DEFINE_integer("seeds", 3, "Seeds per contender in the final comparison.")
flags.DEFINE_integer("heldout_ids", 60, "CelebA identities held out from training, for the choices.")
flags.DEFINE_integer("pairs", 1500, "Genuine (and as many impostor) pairs per evaluation set.")
flags.DEFINE_bool("quick", False, "A few steps per run and few pairs: check the script.")
flags.DEFINE_string("recipe", "", "The chosen recipe for final/cross, as JSON settings by flag name (default: the "
                    "best of the results so far).")
flags.DEFINE_string("write_config", "", "With --stage=final: write the verdict's recipe as a train.py config "
                    "(configs/<name>.json; the verdict holds it as `config`) once every seed has run.")
flags.DEFINE_string("workdir", os.path.join(os.environ.get("TFFACE_CACHE", os.path.expanduser("~/.cache/tfface")),
                                            "real_recipe"), "Where the runs train (kept to resume).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "real_recipe.json"), "Result file.")
FLAGS = flags.FLAGS
SPLIT_SEED = 1234
BASELINE = {"backbone": "small_cnn", "image_size": 64, "head": "arcface", "margin": 0.5, "augment": "none",
            "steps": 1000}
DEFAULT_SCHEDULE = {"lr": 0.1, "lr_schedule": "cosine", "scale_warmup_steps": 0}  # a run without these settings
SLOW = {("iresnet18", 112)}  # over the budget at 1,000 steps on this CPU (about 2 h)


def grids() -> dict[str, list[dict]]:
    """The configurations of each stage (settings by flag name; the stage's fixed ones from the best so far).
    The backbone grid runs cheapest first (measured img/s on this CPU), so a budget-stopped sweep has the most
    configurations done; ``"on"`` is the best augmentation preset of stage 1 (none excluded)."""
    heads = [{"head": "arcface", "margin": 0.5}, {"head": "arcface", "margin": 0.3},
             {"head": "cosface", "margin": 0.35}]
    by_cost = [("small_cnn", 64), ("small_cnn", 112), ("mobilefacenet", 64), ("iresnet18", 64),
               ("mobilefacenet", 112), ("iresnet18", 112)]
    return {
        "head_aug": [{**BASELINE, **h, "augment": a} for h, a in itertools.product(heads, ["none", "light", "medium",
                                                                                           "heavy"])],
        "backbone": [{"backbone": b, "image_size": s, "augment": a} for (b, s), a in itertools.product(by_cost,
                                                                                                  ["off", "on"])
                     if (b, s) not in SLOW or a == "off"],
        "schedule": [{"lr": lr, "lr_schedule": kind} for kind in ("cosine", "piecewise") for lr in (0.1, 0.05, 0.2)],
        "escape": [{"scale_warmup_steps": w} for w in (0, 500)],
    }


def canonical(settings: dict) -> dict:
    """The settings without schedule entries equal to the default (so a run's name and key do not change when
    the schedule stage keeps the default)."""
    return {k: v for k, v in settings.items() if DEFAULT_SCHEDULE.get(k, object()) != v}


def run_settings(settings: dict, steps: int) -> dict:
    """RunConfig settings of a sweep run (by flag name) apart from its data, seed and workdir: batch 64, a linear
    lr warm-up over min(100, steps / 5), the default schedule, the run's own settings, and for ``piecewise``
    (ours) the learning rate ÷ 10 at 60% and 85% of the steps. A shipped recipe (:func:`recipe_config`) holds
    the same."""
    out = {"batch_size": 64, "warmup_steps": min(100, steps // 5), "log_every": 250, "checkpoint_every": 250,
           **DEFAULT_SCHEDULE, **settings, "steps": steps}
    if out["lr_schedule"] == "piecewise":
        out["lr_boundaries"] = (int(0.6 * steps), int(0.85 * steps))
    return out


def recipe_config(v: dict, heldout_ids: int) -> dict:
    """The train.py config (flat JSON by flag name, like configs/*.json) of the final stage's verdict ``v``: the
    recipe's settings exactly as the sweep trained them, for the user's own list of faces."""
    acc = v["accuracy"]
    description = (
        f"Small real face data (bench/real_recipe.py, issue 18): chosen by the sweep on the detected CelebA faces, "
        f"scored on {heldout_ids} held-out identities. Over seeds {', '.join(map(str, v['seeds']))} "
        f"it scores {100 * acc['recipe_mean']:.1f}% held-out verification accuracy against "
        f"{100 * acc['baseline_mean']:.1f}% for today's default ({baseline_label()}): a paired gain of "
        f"{100 * acc['gain_mean']:+.1f} points, 95% CI [{100 * acc['gain_ci95'][0]:+.1f}, "
        f"{100 * acc['gain_ci95'][1]:+.1f}], seed spread {100 * acc['seed_spread']:.1f}. Point --list_file at "
        f"your CSV of aligned faces (path,identity) and --data_root at their folder.")
    settings = run_settings(v["recipe"], v["recipe"]["steps"])
    return {"description": description, "data": "list", "list_file": "faces/train.csv",
            **{k: list(x) if isinstance(x, tuple) else x for k, x in sorted(settings.items())}}


def baseline_label() -> str:
    """``small_cnn, 64 px, arcface m 0.5, augment none, 1000 steps``: BASELINE in words."""
    b = BASELINE
    return (f"{b['backbone']}, {b['image_size']} px, {b['head']} m {b['margin']:g}, augment {b['augment']}, "
            f"{b['steps']} steps")


def celeba_split(celeba: pathlib.Path, tmp: pathlib.Path) -> tuple[str, str]:
    """(training list, held-out pairs CSV): identities split once with SPLIT_SEED."""
    rows = detected_rows(celeba)
    duplicates = cross_identity_duplicates(celeba, rows)
    rows = [r for r in rows if r["path"] not in duplicates]
    ids = sorted({r["identity"] for r in rows})
    held = set(np.random.default_rng(SPLIT_SEED).permutation(ids)[:FLAGS.heldout_ids].tolist())
    train = write_list(tmp / "celeba_train.csv",
                       [(r["path"], r["identity"]) for r in rows if r["identity"] not in held])
    by_id: dict[str, list[str]] = {}
    for r in rows:
        if r["identity"] in held:
            by_id.setdefault(r["identity"], []).append(r["path"])
    return train, balanced_pairs(by_id, tmp / "celeba_heldout_pairs.csv", FLAGS.pairs, SPLIT_SEED)


def balanced_pairs(by_id: dict[str, list[str]], path: pathlib.Path, n: int, seed: int) -> str:
    """``n`` genuine pairs (all of them if fewer) and as many impostor pairs, drawn with ``seed``; a CSV with
    stratified folds (read_csv_pairs)."""
    rng = np.random.default_rng(seed)
    genuine = [(a, b) for paths in by_id.values() for a, b in itertools.combinations(sorted(paths), 2)]
    genuine = [genuine[i] for i in sorted(rng.choice(len(genuine), min(n, len(genuine)), replace=False))]
    names = sorted(by_id)
    impostor = set()
    while len(impostor) < len(genuine):
        a, b = rng.choice(len(names), 2, replace=False)
        impostor.add((str(rng.choice(by_id[names[a]])), str(rng.choice(by_id[names[b]]))))
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path1", "path2", "same"])
        writer.writerows([(a, b, 1) for a, b in genuine] + [(a, b, 0) for a, b in sorted(impostor)])
    return str(path)


def cross_sets(data: pathlib.Path, tmp: pathlib.Path) -> dict[str, tuple[str, str]]:
    """name → (pairs CSV, root) for AT&T and Extended Yale B."""
    out = {}
    for name in ("att", "yaleb"):
        by_id: dict[str, list[str]] = {}
        for r in csv.DictReader(open(data / name / "meta.csv")):
            by_id.setdefault(r["identity"], []).append(r["path"])
        out[name] = (balanced_pairs(by_id, tmp / f"{name}_pairs.csv", FLAGS.pairs, SPLIT_SEED), str(data / name))
    return out


def run_key(settings: dict, seed: int) -> str:
    return json.dumps({**settings, "seed": seed}, sort_keys=True)


def timed_printer(progress: pathlib.Path):
    """The trainer's printer, also appending ``step seconds`` at each logged step to ``progress``: the training
    time so far, counting the segments of a killed run up to its last logged step (logs and checkpoints are
    both every 250 steps, so that is where it resumes)."""
    from tfface.runtime.verify import PRINT

    progress.parent.mkdir(parents=True, exist_ok=True)
    lines = progress.read_text().split() if progress.exists() else []
    before, t0 = (float(lines[-1]) if lines else 0.0), time.time()

    def printer(message: str) -> None:
        PRINT(message)
        if message.startswith("step "):
            with open(progress, "a") as fh:
                fh.write(f"{message.split()[1].split('/')[0]} {before + time.time() - t0:.1f}\n")

    printer.elapsed = lambda: before + time.time() - t0
    return printer


def train_and_score(settings: dict, seed: int, train_list: str, root: str, sets: dict[str, tuple[str, str]]) -> dict:
    """Train one configuration (resuming a killed run) and score its export on each pairs set."""
    from tfface.config import RunConfig
    from tfface.programs.training import train

    workdir = run_dir(settings, seed)
    timing = workdir / "train_seconds.txt"  # a run another stage already trained is reused, with its time
    if not (workdir / "export" / "saved_model.pb").exists():
        steps = 20 if FLAGS.quick else settings["steps"]
        printer = timed_printer(workdir / "train_progress.txt")
        train(RunConfig.of(data="list", list_file=train_list, data_root=root, seed=seed, workdir=str(workdir),
                           **run_settings(settings, steps)), printer)
        timing.write_text(f"{printer.elapsed():.1f}")
    seconds = float(timing.read_text()) if timing.exists() else float("nan")
    embed, size = load_embedder(str(workdir / "export"))
    scores = {}
    for set_name, (pairs_csv, set_root) in sets.items():
        report, _ = evaluate_pairs(embed, read_csv_pairs(pairs_csv, set_root), size, flip=True)
        scores[set_name] = {"accuracy": report["accuracy"], "accuracy_std": report["accuracy_std"],
                            "tar_at_far_1e-2": report["tar_at_far"].get("0.01"), "auc": report["auc"]}
    return {"settings": settings, "seed": seed, "train_seconds": round(seconds, 1),
            "train_end": train_end(workdir), "scores": scores}


def run_dir(settings: dict, seed: int) -> pathlib.Path:
    name = "_".join(f"{k}-{v}" for k, v in sorted(settings.items())) + f"_seed-{seed}"
    return pathlib.Path(FLAGS.workdir) / ("quick" if FLAGS.quick else "full") / name


def train_end(workdir: pathlib.Path) -> dict | None:
    """The training loss and top-1 of the last logged step (one batch of 64: noisy, but it tells a run that
    fits its training identities from one stuck on ArcFace's early plateau, where top-1 stays 0)."""
    import tensorflow as tf

    last: dict[str, float] = {}
    for events in sorted((workdir / "logs").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag in ("loss", "acc") and event.step >= last.get("step", 0):
                    last.update(step=event.step, **{value.tag: float(tf.make_ndarray(value.tensor))})
    return {"step": int(last["step"]), "loss": round(last["loss"], 4), "top1": last["acc"]} if "acc" in last else None


def best(results: list[dict], stage: str) -> dict:
    """The settings a stage chooses on the held-out CelebA pairs: among the configurations whose mean accuracy
    over their seeds is within ``--tie_points`` of the best, the first in the stage's order (its grids list the
    default or the cheapest first), so noise does not pick a costlier or unusual setting. Configurations over
    the budget (SLOW) are not chosen."""
    runs = [r for r in results if r["stage"] == stage
            and (r["settings"]["backbone"], r["settings"]["image_size"]) not in SLOW]
    if not runs:
        raise SystemExit(f"error: run --stage={stage} first (its results decide this stage's fixed settings).")
    by_config: dict[str, list[float]] = {}
    for r in runs:
        by_config.setdefault(json.dumps(r["settings"], sort_keys=True), []).append(r["scores"]["celeba"]["accuracy"])
    top = max(np.mean(v) for v in by_config.values())
    return json.loads(next(k for k, v in by_config.items() if np.mean(v) >= top - FLAGS.tie_points / 100))


def best_augment(results: list[dict], chosen: dict) -> str:
    """The best augmentation preset other than none of stage 1, for the head and margin of ``chosen``."""
    same_head = [r for r in results if r["stage"] == "head_aug" and r["settings"]["head"] == chosen["head"]
                 and r["settings"]["margin"] == chosen["margin"] and r["settings"]["augment"] != "none"]
    return best(same_head, "head_aug")["augment"]


def escape_warmup(results: list[dict]) -> int:
    """The head-scale warm-up the escape stage chose (0 before it has run)."""
    ran = any(r["stage"] == "escape" for r in results)
    return best(results, "escape").get("scale_warmup_steps", 0) if ran else 0


def schedule_of(settings: dict) -> dict:
    """The learning rate and schedule of a run's settings (the defaults where they are not set)."""
    return {k: settings.get(k, DEFAULT_SCHEDULE[k]) for k in ("lr", "lr_schedule")}


def stage_runs(stage: str, results: list[dict]) -> list[tuple[dict, int]]:
    """(settings, seed) of every run of ``stage`` (``--quick``: the first two of a grid)."""
    keep = slice(0, 2) if FLAGS.quick else slice(None)
    if stage == "head_aug":
        return [(s, 0) for s in grids()["head_aug"][keep]]
    if stage == "backbone":
        chosen = best(results, "head_aug")
        augmented = best_augment(results, chosen)
        chosen = canonical({**chosen, "scale_warmup_steps": escape_warmup(results)})
        return [({**chosen, **g, "augment": augmented if g["augment"] == "on" else "none"}, 0)
                for g in grids()["backbone"][keep]
                if FLAGS.include_slow or (g["backbone"], g["image_size"]) not in SLOW]
    if stage == "families":  # which part of the augmentation does what: each family of the preset on its own
        chosen = best(results, "head_aug")
        spec = PRESETS[best_augment(results, chosen)]
        return [({**chosen, f"aug_{f}": getattr(spec, f)}, 0) for f in FAMILIES if getattr(spec, f)][keep]
    if stage == "schedule":
        chosen = best(results, "head_aug")
        return [(canonical({**chosen, **g}), 0) for g in grids()["schedule"][keep]]
    if stage == "escape":  # whether a run leaves the plateau by step 1,000 is luck (seeds) or fixable (warm-up)
        chosen = best(results, "head_aug")
        return [(canonical({**chosen, **g, "augment": a}), seed) for g in grids()["escape"][keep]
                for a in ("none", best_augment(results, chosen)) for seed in range(1 if FLAGS.quick else 3)]
    if stage == "steps":  # augmentation may pay only once the model fits its training set: both, at every length
        warmup = escape_warmup(results)  # backbone runs trained before the escape stage chose it are not compared
        same = [r for r in results if r["stage"] == "backbone" and r["settings"].get("scale_warmup_steps", 0) == warmup]
        chosen = canonical({**best(same, "backbone"), **schedule_of(best(results, "schedule")),
                            "scale_warmup_steps": warmup})
        augments = dict.fromkeys([chosen["augment"], *(r["settings"]["augment"] for r in results
                                                       if r["stage"] == "backbone")])
        def model_of(settings):
            return {k: v for k, v in settings.items() if k not in DEFAULT_SCHEDULE}
        seconds = max((r["train_seconds"] for r in same if model_of(r["settings"]) == model_of(chosen)), default=0.0)
        multiples = [n for n in (1, 2, 4) if n == 1 or FLAGS.quick or n * seconds <= FLAGS.budget_minutes * 60]
        return [({**chosen, "augment": a, "steps": n * chosen["steps"]}, 0) for n in multiples for a in augments]
    recipe = json.loads(FLAGS.recipe) if FLAGS.recipe else best(results, "steps")
    if stage == "final":
        earlier = {json.dumps(r["settings"], sort_keys=True) for r in results if r["stage"] == "final"} - {
            json.dumps(BASELINE, sort_keys=True), json.dumps(recipe, sort_keys=True)}
        if earlier:
            raise SystemExit(f"error: {FLAGS.out} already holds final runs of another recipe ({earlier.pop()}); "
                             f"this one is {json.dumps(recipe, sort_keys=True)}. Give --recipe=<that one> to "
                             f"continue it, or --out=<another file> for a new comparison.")
        return [(s, seed) for seed in range(FLAGS.seeds) for s in (BASELINE, recipe)]
    return [(s, seed) for seed in range(FLAGS.seeds) for s in (BASELINE, recipe)]  # cross: the final runs, rescored


def paired_scores(runs: list[dict], base_key: str, recipe_key: str, set_name: str, metric: str) -> dict:
    """Baseline vs recipe on one set and metric over the seeds both have: means, ranges over seeds, the paired
    gain with its 95% t interval, and whether the mean gain is larger than the seed spread (the larger range)."""
    by = {k: {r["seed"]: r["scores"][set_name][metric] for r in runs if json.dumps(r["settings"], sort_keys=True) == k}
          for k in (base_key, recipe_key)}
    seeds = sorted(set(by[base_key]) & set(by[recipe_key]))
    base, rec = np.array([by[base_key][s] for s in seeds]), np.array([by[recipe_key][s] for s in seeds])
    gain, spread = paired_difference(base, rec), max(np.ptp(base), np.ptp(rec))
    return {"seeds": seeds, "baseline_mean": float(base.mean()), "recipe_mean": float(rec.mean()),
            "baseline_range": float(np.ptp(base)), "recipe_range": float(np.ptp(rec)), "gain_mean": gain["mean"],
            "gain_ci95": gain["ci95"], "seed_spread": float(spread), "gain_exceeds_spread": bool(gain["mean"] > spread)}


def verdict(results: list[dict]) -> dict | None:
    """The final stage's comparison on held-out CelebA (accuracy and TAR@FAR=1e-2, :func:`paired_scores`), the
    recipe as a train.py config, and once the cross stage has run, the same comparison of accuracy on AT&T and
    Extended Yale B."""
    runs = [r for r in results if r["stage"] == "final"]
    base_key = json.dumps(BASELINE, sort_keys=True)
    recipes = {json.dumps(r["settings"], sort_keys=True) for r in runs} - {base_key}
    if not recipes:
        return None
    (recipe_key,) = recipes
    out = {"recipe": json.loads(recipe_key), "baseline": BASELINE}
    for metric in ("accuracy", "tar_at_far_1e-2"):
        out[metric] = paired_scores(runs, base_key, recipe_key, "celeba", metric)
    out["seeds"] = out["accuracy"]["seeds"]
    cross = [r for r in results if r["stage"] == "cross"]
    if cross:
        out["cross_accuracy"] = {name: paired_scores(cross, base_key, recipe_key, name, "accuracy")
                                 for name in ("att", "yaleb")}
    out["config"] = recipe_config(out, FLAGS.heldout_ids)
    return out


def plot(results: list[dict], path: pathlib.Path) -> None:
    """Held-out CelebA accuracy against training time, one point per run, coloured by stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for k, stage in enumerate(dict.fromkeys(r["stage"] for r in results)):
        runs = [r for r in results if r["stage"] == stage]
        ax.scatter([r["train_seconds"] / 60 for r in runs], [r["scores"]["celeba"]["accuracy"] * 100 for r in runs],
                   color=f"C{k}", label=stage)
        for r in runs:
            st = r["settings"]
            ax.annotate(f"{st['backbone']} {st['image_size']} {st['head'][:3]}{st['margin']:g} {augment_label(st)} "
                        f"{st['steps']} lr {schedule_label(st, DEFAULT_SCHEDULE)}",
                        (r["train_seconds"] / 60, r["scores"]["celeba"]["accuracy"] * 100),
                        fontsize=6, alpha=0.7)
    ax.set(xlabel="training time on this CPU (min)", ylabel="held-out CelebA verification accuracy (%)",
           xscale="log", title="real-face recipe sweep")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def save(out: pathlib.Path, results: list[dict]) -> None:
    """The result file (runs and verdict) and its plot."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu_only": True, "heldout_ids": FLAGS.heldout_ids, "split_seed": SPLIT_SEED,
                               "quick": FLAGS.quick, "default_schedule": DEFAULT_SCHEDULE, "runs": results,
                               "verdict": verdict(results)}, indent=1))
    plot(results, out.with_suffix(".png"))


def main(argv):
    del argv
    data = pathlib.Path(FLAGS.data)
    tmp = pathlib.Path(FLAGS.workdir) / ("quick" if FLAGS.quick else "full")
    tmp.mkdir(parents=True, exist_ok=True)
    train_list, heldout = celeba_split(data / "celeba", tmp)
    sets = {"celeba": (heldout, str(data / "celeba"))}
    if FLAGS.stage == "cross":
        sets.update(cross_sets(data, tmp))
    out = pathlib.Path(FLAGS.out)
    results = json.loads(out.read_text())["runs"] if out.exists() else []
    for r in results:  # runs from before train_end was recorded
        if "train_end" not in r and run_dir(r["settings"], r["seed"]).exists():
            r["train_end"] = train_end(run_dir(r["settings"], r["seed"]))
    for settings, seed in stage_runs(FLAGS.stage, results):
        key = run_key(settings, seed)
        if any(r["key"] == key and r["stage"] == FLAGS.stage for r in results):
            continue
        print(f"[{FLAGS.stage}] {key}", flush=True)
        result = {"stage": FLAGS.stage, "key": key, **train_and_score(settings, seed, train_list,
                                                                      str(data / "celeba"), sets)}
        print(f"  {json.dumps(result['scores'])} in {result['train_seconds']:.0f} s", flush=True)
        results.append(result)
        save(out, results)
    if results:
        save(out, results)  # the verdict as this version computes it, also when every run was recorded
    v = verdict(results)
    if FLAGS.stage == "final" and FLAGS.write_config and v and len(v["seeds"]) >= FLAGS.seeds:
        pathlib.Path(FLAGS.write_config).write_text(json.dumps(v["config"], indent=1) + "\n")
        print(f"wrote the recipe to {FLAGS.write_config}", flush=True)


if __name__ == "__main__":
    app.run(main)
