"""Controlled reproduction (issue 19): each paper's method against its baseline in a SynthFaces scenario that renders
the mechanism the paper exploits (tfface.data.synth_scenarios).

    python bench/reproduce.py --stage=all               # everything below, then bench/results/reproduction.md
    python bench/reproduce.py --stage=all --quick       # one seed, short runs, small renders (checks the script)
    python bench/reproduce.py --stage=gaps              # each scenario's baseline and the gap it was built for
    python bench/reproduce.py --stage=methods           # every method vs its baseline, 5 seeds, paired verdicts
    python bench/reproduce.py --stage=checks            # the arms that probe the implementations (CHECKS), and
                                                        # bench/ftl_gradients.py's table
    python bench/reproduce.py --stage=real              # every method's real-face bench, 5 seeds, paired verdicts
    python bench/reproduction_report.py                 # the report from the recorded results

Per scenario and seed: a SynthFaces render (``--synth_seed`` = the seed) and a baseline trained on its ``train``
split (small CNN, 32 px by default, batch 64; the weights' seed = the seed too), scored by
``evaluate.py --protocol=scenario`` on the render's meta.csv: probe rank-1 per group (nearest training-class
centre) and per-identity FAR of the held-out identities at one global threshold (FAR 1e-3). The gaps:

- ``ur_pose``: regular minus UR rank-1 of probes at large yaw (baseline: softmax with Adam, FTL's, Sec. 4.3).
- ``longtail``: head minus tail rank-1 of unseen images (baseline: CosFace m = 0.35, DiscFace's and SFT's).
- ``hard_partitions``: easy minus hard rank-1 (baseline: CosFace m = 0.35, DDL's teacher; DDL used ArcFace, but
  ArcFace m = 0.5 stays on its early plateau here, training top-1 0 to the end, and m = 0.3 nearly so, while
  CosFace fits and still trails on the hard probes by about 24 points; seed 0, 32 px).
- ``density``: mean FAR of look-alike family identities over isolated ones (baseline: ArcFace m = 0.5).

Margin heads warm their scale up over 500 steps (without it, ArcFace on a few hundred identities can stay on its
early plateau; the real-face recipe sweep, issue 18, measured that). Each method's arms and their settings are in
``arm_settings``, its paper claims (measure, direction, reference arm) in ``CLAIMS``, the checks of an implementation
in ``CHECKS``; the real-face settings in bench/reproduce_real.py. Runs are written one by one to their result file;
a rerun skips those done, a killed run resumes from its checkpoint in ``--workdir``, and a recorded run or a
workdir of other settings stops the script instead of entering the comparison. CPU-only times.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from absl import app, flags  # noqa: E402
from celeba import write_list  # noqa: E402
from paired import paired_difference, verdict  # noqa: E402
from reproduce_real import run_real  # noqa: E402
from reproduction_report import measure_of, write_report_from  # noqa: E402

from tfface.config import EvaluateConfig, RunConfig  # noqa: E402
from tfface.data.build import synth_config  # noqa: E402
from tfface.data.sources import from_list_file  # noqa: E402
from tfface.data.synthfaces import build_synthfaces  # noqa: E402
from tfface.evaluation.protocols import run_protocol  # noqa: E402
from tfface.export.saved_model import load_embedder  # noqa: E402
from tfface.methods.discface_eval import discface_diagnostics  # noqa: E402
from tfface.methods.ftl import regular_classes  # noqa: E402
from tfface.methods.ftl_eval import nn_report, restore_ftl_run  # noqa: E402
from tfface.methods.ftl_planted import planted_transfer_check  # noqa: E402
from tfface.programs.evaluation import evaluate  # noqa: E402
from tfface.programs.training import train  # noqa: E402
from tfface.runtime.resume import changed_settings, previous_run  # noqa: E402
from tfface.runtime.verify import PRINT  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
STAGES = ("gaps", "methods", "checks", "real")
flags.DEFINE_enum("stage", "gaps", [*STAGES, "all"], "gaps: each scenario's baseline; methods: every method against "
                  "its baseline on its scenario, with paired verdicts; checks: the arms that probe an implementation "
                  "(CHECKS; into the methods' result file) and, for FTL, bench/ftl_gradients.py's table; real: every "
                  "method's real-face bench against its baseline (bench/reproduce_real.py); all: the four in that "
                  "order, then the report.")
flags.DEFINE_list("methods", ["ftl", "discface", "sft", "ddl", "ida"], "Methods for --stage=methods.")
flags.DEFINE_list("scenarios", ["ur_pose", "longtail", "hard_partitions", "density"], "Scenarios to run.")
flags.DEFINE_integer("seeds", 5, "Seeds per scenario (render and weights); --quick runs one.")
flags.DEFINE_bool("quick", False, "One seed, 60 steps, small renders: checks the script, measures nothing.")
flags.DEFINE_integer("image_size", 32, "Image size (px) of the scenario renders and the runs (32: about a quarter "
                     "of 64 px's compute, and every scenario's gap is larger there).")
flags.DEFINE_string("workdir", os.path.join(os.environ.get("TFFACE_CACHE", os.path.expanduser("~/.cache/tfface")),
                                            "reproduce"), "Where the runs train (kept to resume).")
flags.DEFINE_string("results_dir", "", "Folder of every stage's result (default bench/results; with --quick "
                    "<workdir>/quick): scenario_gaps.json, reproduction.json, reproduction_real/, budget.json and the "
                    "report. Give another folder (and TFFACE_CACHE) to time a run from scratch beside the recorded.")
flags.DEFINE_string("out", "", "Result file of one stage (default <results_dir>/scenario_gaps.json for gaps, "
                    "reproduction.json for methods and checks, the folder reproduction_real for real).")
FLAGS = flags.FLAGS

# identities per render (training, held out); ours, a size these CPUs train in about 5 minutes per run
RENDERS = {"ur_pose": (300, 100), "longtail": (300, 100), "hard_partitions": (150, 100), "density": (150, 100)}
STEPS = 1000
MARGIN = {"warmup_steps": 100, "scale_warmup_steps": 500}
BASELINES = {
    "ur_pose": {"head": "softmax", "optimizer": "adam", "lr": 1e-3, "lr_schedule": "constant", "warmup_steps": 0,
                "weight_decay": 0.0, "embedding_size": 320},  # FTL's softmax baseline, as in bench/ftl_ur.py
    "longtail": {"head": "cosface", "margin": 0.35, **MARGIN},
    "hard_partitions": {"head": "cosface", "margin": 0.35, **MARGIN},  # ArcFace m 0.5 (DDL's) stays on its plateau
    "density": {"head": "arcface", "margin": 0.5, **MARGIN},
}


FINETUNE_STEPS = 500  # DDL's arms fine-tune the hard_partitions baseline for this many steps (ours)


def arm_settings(method: str, steps: int) -> dict:
    """A method's settings over its scenario's baseline for a run of ``steps`` (ours where the paper gives none, as
    in configs/). FTL pre-trains with Eq. 4 for the baseline's ``steps`` at its learning rate, then alternates
    stage 1 / 2 every ``steps // 10`` for half as many again at a tenth of it (the paper: 2e-4, then 1e-5 until
    convergence); ``ftl_no_transfer`` trains the same modules with Eq. 4 for as many steps in all, and
    ``softmax_as_long`` the softmax baseline. Eq. 4's weights are ours: Eq. 1 per pixel and α_reg 0.001 (the paper's
    MNIST value, Sec. 4.2); at the paper's 1 on the pixel sum and 0.25 on ‖Wᵀf‖² over 300 classes the classifier
    stays at chance (``ftl_paper_weights`` in --stage=checks; bench/ftl_gradients.py: the reconstruction's gradient on
    the encoder is 11–74× the softmax's). DDL's two arms fine-tune the baseline: plain (``ddl_finetune``, its
    comparison) and with DDL; IDA trains nothing (the baseline's embeddings scored by IDA-R, the render's anchors as
    the support set)."""
    finetune = {"steps": steps, "lr": 0.01, "lr_schedule": "piecewise", "lr_boundaries": (steps // 2,),
                "warmup_steps": 0, "scale_warmup_steps": 0}  # DDL's shape: ÷10 at half (Sec. 4), scaled (ours)
    ftl = {"method": "ftl", "ftl_ur_max_images": 8, "ftl_lr_pretrain": 1e-3, "ftl_lr_alternate": 1e-4,
           "ftl_alpha_recon": 1.0 / (3 * FLAGS.image_size ** 2), "ftl_alpha_reg": 0.001,
           "steps": steps + steps // 2}
    staged = {**ftl, "ftl_pretrain_steps": steps, "ftl_alternate_steps": max(1, steps // 10)}
    return {
        "ftl": staged,
        "ftl_no_transfer": {**ftl, "ftl_pretrain_steps": steps + steps // 2},
        "softmax_as_long": {"steps": ftl["steps"]},  # FTL's softmax baseline trained as many steps as FTL
        "discface": {"discface_lambda": 0.5},  # Table 5: 0.4–0.6 best
        "sft": {"feature_transform": "sft", "sft_scheme": "unbalanced", "sft_tail_threshold": 10,
                "sft_warmup_steps": 100},
        "ddl_finetune": finetune,
        "ddl": {**finetune, "method": "ddl"},
        "ida": {},
        # checks (--stage=checks): the paper's Eq. 4 weights; R as one linear layer; IDA at larger τ
        "ftl_paper_weights": {**staged, "ftl_alpha_recon": 1.0, "ftl_alpha_reg": 0.25},
        "ftl_linear_filter": {**staged, "ftl_filter": "linear"},  # R as one linear layer: what R's shape costs
        **{f"ida_tau_{t:g}": {"ida_tau": float(t)} for t in IDA_TAUS},
    }[method]


SCENARIO_OF = {"ftl": "ur_pose", "discface": "longtail", "sft": "longtail", "ddl": "hard_partitions",
               "ida": "density"}
ARMS = {"ftl": ("softmax_as_long", "ftl_no_transfer", "ftl"), "ddl": ("ddl_finetune", "ddl")}  # besides the baseline
IDA_TAUS = (2, 4, 8)
PLANTED_STEPS = 300  # stage-1 steps of the planted-effect check (ours; --quick too: it is short)
ALL_SEEDS = (0, 1, 2, 3, 4)
CHECKS = {  # --stage=checks: per method, the arms that probe an implementation rather than a claim, and their seeds
    "ftl": {"ftl_paper_weights": (0, 1, 2), "ftl_linear_filter": ALL_SEEDS, "ftl_classifier": ALL_SEEDS,
            "ftl_planted": ALL_SEEDS},
    "ida": {f"ida_tau_{t:g}": ALL_SEEDS for t in IDA_TAUS},
    "discface": {"discface_discrepancy": ALL_SEEDS},
}


def arms_of(method: str) -> tuple[str, ...]:
    return ARMS.get(method, (method,))


@dataclasses.dataclass(frozen=True)
class Claim:
    """A paper's claim as a measure of the scenario scores that the method moves in ``direction``: its ``arm`` (the
    method's own unless a variant's) against the ``reference`` arm (the scenario's baseline unless the claim isolates
    a part of the method)."""

    method: str
    measure: str  # a path into the scores ("probes.rank1.ur")
    direction: int
    paper: str
    reference: str = "baseline"
    arm: str = ""


CLAIMS = (
    Claim("ftl", "probes.rank1.ur", +1, "FTL raises UR classes' rank-1 over softmax (Table 1: +5 at 10K/10K)",
          "softmax_as_long"),
    Claim("ftl", "probes.rank1.regular", +1, "FTL raises regular classes' rank-1 over softmax too (Table 1, Sec. 4.3: "
          "'consistently improves over softmax')", "softmax_as_long"),
    Claim("ftl", "probes.rank1.ur", +1, "FTL's feature transfer (stage 1 / 2 alternation) raises UR classes' rank-1 "
          "over its modules trained as long without it (Sec. 3.4)", "ftl_no_transfer"),
    Claim("ftl", "probes.rank1.ur", +1, "Table 1's UR claim with R as one linear layer (our ablation; the paper's R "
          "is linear → 2 deconvolutions → 2 convolutions → linear)", "softmax_as_long", "ftl_linear_filter"),
    Claim("ftl", "probes.rank1.regular", +1, "Table 1's regular-class claim with R as one linear layer (our "
          "ablation)", "softmax_as_long", "ftl_linear_filter"),
    Claim("discface", "probes.rank1.tail", +1, "DiscFace compacts classes seen rarely in training (Sec. 4.2, Fig. 5)"),
    Claim("discface", "verification.tar_at_far.0.01", +1, "DiscFace raises verification when trained on a long tail "
          "(Table 4, IJB-C with MS1M-LT)"),
    Claim("sft", "probes.rank1.tail", +1, "SFT's unbalanced scheme raises the tail classes' accuracy (Table 5: +8.4)"),
    Claim("sft", "verification.tar_at_far.0.01", +1, "SFT raises face verification over its baseline (Table 4, "
          "IJB-C)"),
    Claim("ddl", "probes.rank1.hard", +1, "DDL raises recognition of hard samples (Table 2–3: SCface low "
          "resolution; Table 4: pose)", "ddl_finetune"),
    Claim("ida", "heldout_far.unevenness_log10", -1, "IDA's local calibration evens out FAR across dense and "
          "sparse regions (Sec. 3, Fig. 1): the absolute log10 of family / isolated FAR falls"),
    Claim("ida", "heldout_far.far_mean.family", -1, "IDA lowers false accepts among look-alikes at one threshold"),
)


def render_settings(scenario: str, seed: int) -> dict:
    """RunConfig settings of a scenario's SynthFaces render."""
    ids, held = (24, 20) if FLAGS.quick else RENDERS[scenario]
    return {"data": "synthfaces", "synth_scenario": scenario, "synth_identities": ids, "synth_heldout": held,
            "synth_seed": seed, "image_size": FLAGS.image_size}


def train_steps(finetune: bool = False) -> int:
    """Steps of a run from scratch, or of DDL's fine-tuning arms (``--quick``: a few)."""
    return (30 if finetune else 60) if FLAGS.quick else (FINETUNE_STEPS if finetune else STEPS)


def runs_root() -> pathlib.Path:
    """The folder of the runs' workdirs: <workdir>/full, or <workdir>/quick."""
    return pathlib.Path(FLAGS.workdir) / ("quick" if FLAGS.quick else "full")


def train_run(name: str, settings: dict, seed: int) -> tuple[pathlib.Path, float]:
    """Train (or resume, or reuse) one run; (workdir, training seconds)."""
    workdir = runs_root() / f"{name}_seed-{seed}"
    timing = workdir / "train_seconds.txt"
    steps = settings.get("steps", train_steps())
    settings = {**settings, **{k: min(settings[k], steps // d) for k, d in (
        ("warmup_steps", 5), ("scale_warmup_steps", 2), ("sft_warmup_steps", 5)) if k in settings}}  # warm-ups
    # within short (--quick) runs
    cfg = RunConfig.of(**{"batch_size": 64, "steps": steps, "log_every": 250, "checkpoint_every": 250,
                          "seed": seed, "workdir": str(workdir), **settings})
    refuse_other_run(cfg)
    if not (workdir / "export" / "saved_model.pb").exists():
        t0 = time.time()
        train(cfg, PRINT)
        timing.write_text(f"{time.time() - t0:.1f}")
    return workdir, float(timing.read_text()) if timing.exists() else float("nan")


def refuse_other_run(cfg: RunConfig) -> None:
    """Stop when ``cfg.workdir`` holds a run trained with other settings (an earlier version of an arm), instead of
    reusing its export or resuming it as if it were this arm's."""
    previous = previous_run(cfg.workdir)
    if previous is None:
        return
    old = previous[0]
    changed = [f"{f} {old.setting(f)!r} → {cfg.setting(f)!r}" for f in changed_settings(old, cfg)]
    if changed:
        raise SystemExit(f"error: {cfg.workdir} holds a run trained with other settings ({'; '.join(changed)}). "
                         "Delete that folder to retrain it, or give --workdir=<another folder>.")


def render_root(data: dict) -> pathlib.Path:
    """The folder of a scenario's render (rendered at the first call; training renders the same)."""
    return build_synthfaces(synth_config(RunConfig.of(**data)), None, log=lambda s: None)


def meta_subset(root: pathlib.Path, name: str, keep) -> str:
    """A path,identity list ``root/name`` of the render's images whose meta.csv row ``keep`` accepts (paths
    relative to the render, as in meta.csv)."""
    return write_list(root / name, [(r["path"], r["identity"]) for r in csv.DictReader(open(root / "meta.csv"))
                                    if keep(r)])


def scenario_scores(workdir: pathlib.Path, settings: dict) -> dict:
    """The scenario protocol on the render's meta.csv, and verification on its held-out pairs (from training)."""
    root = render_root(settings)
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


def save(out: pathlib.Path, results: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu_only": True, "quick": FLAGS.quick, "steps": train_steps(),
                               "finetune_steps": train_steps(True), "runs": results,
                               "verdicts": verdicts(results)}, indent=1))
    CLOCK.lap()


def find(results: list[dict], key: dict) -> dict | None:
    """The recorded run whose fields match ``key`` (None if it has not run)."""
    return next((r for r in results if all(r.get(k) == v for k, v in key.items())), None)


PATHS = ("init_checkpoint", "ddl_partition_lists")  # settings that are paths on this machine, fixed by the seed


def comparable(settings: dict) -> dict:
    """Settings as recorded (JSON types), without the machine's paths."""
    return {k: v for k, v in json.loads(json.dumps(settings)).items() if k not in PATHS}


def recorded(results: list[dict], key: dict, settings: dict, out: pathlib.Path) -> dict | None:
    """The recorded run of ``key`` if it ran with ``settings`` (None if it has not run); a run recorded with other
    settings (another image size, baseline or render) stops the script rather than mixing into the comparison."""
    done = find(results, key)
    if done and comparable(done["settings"]) != comparable(settings):
        raise SystemExit(f"error: {out} holds {json.dumps(key)} run with other settings "
                         f"({json.dumps(done['settings'], sort_keys=True)}; now "
                         f"{json.dumps(settings, sort_keys=True)}). Give --out=<another file> for these settings, or "
                         f"delete the file to start over.")
    return done


def baseline(scenario: str, seed: int, results: list[dict], out: pathlib.Path) -> dict:
    """The scenario's baseline run of ``seed`` (trained and scored once; the gaps and every method share it)."""
    key = {"scenario": scenario, "arm": "baseline", "seed": seed}
    data = render_settings(scenario, seed)
    settings = {**data, **BASELINES[scenario]}
    done = recorded(results, key, settings, out)
    if done:
        return done
    print(f"[baseline] {scenario} seed {seed}", flush=True)
    workdir, seconds = baseline_run(scenario, settings, seed)
    scores = scenario_scores(workdir, data)
    results.append({**key, "settings": settings, "workdir": str(workdir),
                    "train_seconds": round(seconds, 1), "scores": scores, "gap": gap_of(scenario, scores)})
    print(f"  gap {json.dumps(results[-1]['gap'])}", flush=True)
    save(out, results)
    return results[-1]


def partition_lists(root: pathlib.Path) -> tuple[str, ...]:
    """(easy, hard) lists of a hard_partitions render's training images, DDL's teacher and student partitions."""
    return tuple(meta_subset(root, f"ddl_{group}.csv", lambda r, g=group: r["split"] == "train" and r["group"] == g)
                 for group in ("easy", "hard"))


def baseline_run(scenario: str, settings: dict, seed: int) -> tuple[pathlib.Path, float]:
    """Train (or reuse) a scenario's baseline: its workdir and training seconds."""
    return train_run(f"{scenario}_baseline", settings, seed)


def baseline_workdir(base: dict) -> pathlib.Path:
    """The workdir of a recorded baseline run, retrained (the same settings and seed) if its export is gone, as
    after a checkout without the earlier runs' cache; DDL fine-tunes it and IDA rescores it."""
    return baseline_run(base["scenario"], base["settings"], base["seed"])[0]


def ida_scores(base: dict, data: dict, tau: float = 1.0) -> dict:
    """The density baseline's embeddings scored by IDA-R (k = 10 and by default τ = 1, the paper's), the render's
    anchor identities as the support set: the scenario protocol and verification on the held-out pairs."""
    root = render_root(data)
    anchors = meta_subset(root, "ida_anchors.csv", lambda r: r["split"] == "anchor")
    workdir = baseline_workdir(base)
    model, out = str(workdir / "export"), workdir / ("ida" if tau == 1.0 else f"ida_tau_{tau:g}")
    common = {"model": model, "score": "ida_r", "ida_anchors": anchors, "ida_anchors_per_identity": 0,
              "eval_root": str(root), "ida_tau": tau}
    scenario = evaluate(EvaluateConfig.of(protocol="scenario", eval_list=str(root / "meta.csv"),
                                          out=str(out / "scenario"), **common))
    pairs = evaluate(EvaluateConfig.of(protocol="verification", eval_pairs=str(root / "pairs.csv"),
                                       out=str(out / "verification"), **common))
    return {"probes": scenario.get("probes"), "heldout_far": scenario["heldout_far"],
            "verification": {k: pairs[k] for k in ("accuracy", "tar_at_far")}}


def run_settings(scenario: str, arm: str, data: dict, finetune: bool = False) -> dict:
    """An arm's RunConfig settings on a render: the render's, the scenario's baseline (not for FTL's own program)
    and the arm's own (``finetune``: DDL's arms, which fine-tune the baseline)."""
    own = {**data} if arm.startswith("ftl") else {**data, **BASELINES[scenario]}
    return {**own, **arm_settings(arm, train_steps(finetune))}


def method_run(method: str, seed: int, results: list[dict], out: pathlib.Path,
               arms: tuple[str, ...] | None = None) -> None:
    """The method's arm(s) (``arms``: those, e.g. checks) for ``seed`` on its scenario, after the scenario's
    baseline."""
    scenario = SCENARIO_OF[method]
    base = baseline(scenario, seed, results, out)
    data = render_settings(scenario, seed)
    for arm in arms or arms_of(method):
        key = {"scenario": scenario, "arm": arm, "seed": seed}
        check = self_scored_check(arm, base, data, seed)
        if check:
            record_check(method, arm, seed, *check, results, out)
            continue
        settings = run_settings(scenario, arm, data, finetune=method == "ddl")
        if recorded(results, key, settings, out):  # (compared without the paths set below)
            continue
        if method == "ddl":
            settings.update(init_checkpoint=str(baseline_workdir(base)), **(
                {"ddl_partition_lists": partition_lists(render_root(data))} if arm == "ddl" else {}))
        print(f"[{arm}] {scenario} seed {seed}", flush=True)
        if method == "ida":
            scores, seconds = ida_scores(base, data, settings.get("ida_tau", 1.0)), 0.0
        else:
            workdir, seconds = train_run(f"{scenario}_{arm}", settings, seed)
            scores = scenario_scores(workdir, data)
        results.append({**key, "method": method, "settings": settings, "train_seconds": round(seconds, 1),
                        "scores": scores})
        print(f"  {json.dumps({c.measure: measure_of(scores, c.measure) for c in CLAIMS if c.method == method})}",
              flush=True)  # a claim's measure missing from the scores stops here, before more runs
        save(out, results)


def self_scored_check(arm: str, base: dict, data: dict, seed: int) -> tuple[dict, Callable[[], dict]] | None:
    """(settings, scoring) of a check that scores both of its sides itself, or None for an arm trained and scored
    as a run."""
    if arm == "discface_discrepancy":
        return data, lambda: discrepancy_scores(base, data, seed)
    if arm == "ftl_classifier":
        return data, lambda: ftl_classifier_scores(data, seed)
    if arm == "ftl_planted":
        return {"steps": PLANTED_STEPS}, lambda: planted_transfer_check(seed, PLANTED_STEPS)
    return None


def record_check(method: str, arm: str, seed: int, settings: dict, scores_of: Callable[[], dict],
                 results: list[dict], out: pathlib.Path) -> None:
    """Score a self-scored check unless it is recorded with ``settings``; record and save it."""
    key = {"scenario": SCENARIO_OF[method], "arm": arm, "seed": seed}
    if recorded(results, key, settings, out):
        return
    print(f"[{arm}] {key['scenario']} seed {seed}", flush=True)
    scores = scores_of()
    results.append({**key, "method": method, "settings": settings, "scores": scores})
    print(f"  {json.dumps(scores)}", flush=True)
    save(out, results)


def discrepancy_scores(base: dict, data: dict, seed: int) -> dict:
    """DiscFace's own objective in its trained arm against the baseline (Sec. 3.2 diagnostics on 2,000 training
    images): whether the discrepancy term acts, whatever the claims' verdicts."""
    arm = run_settings("longtail", "discface", data)
    scores = {}
    for name, workdir in (("baseline", baseline_workdir(base)), ("discface", train_run("longtail_discface", arm,
                                                                                         seed)[0])):
        scores[name] = discface_diagnostics(str(workdir), str(workdir / "discface_diagnostics"))
        scores[name].pop("checkpoint")
    return scores


def ftl_classifier_scores(data: dict, seed: int) -> dict:
    """Where FTL's transfer acts (stage 1 reshapes FC's boundaries for UR classes): FC's top-1 and the nearest-centre
    rank-1 on g and f of the render's probes, FTL against its modules trained as long without the stages."""
    root = render_root(data)
    probes = from_list_file(meta_subset(root, "ftl_probes.csv", lambda r: r["split"] == "probe"), str(root))
    scores = {}
    for arm in ("ftl_no_transfer", "ftl"):
        workdir = train_run(f"ur_pose_{arm}", run_settings("ur_pose", arm, data), seed)[0]
        cfg, modules, source = restore_ftl_run(str(workdir))
        report = nn_report(modules, source, probes, regular_classes(source.class_counts, cfg.ftl.ur_max_images),
                           cfg.data.image_size)
        scores[arm] = {k: report[k] for k in ("classifier", "rank1_f", "rank1_g")}
    return scores


def verdicts(results: list[dict]) -> list[dict]:
    """Per claim: the method arm against the claim's reference arm over the seeds both have, the paired difference
    with its 95% t interval and the verdict."""
    out = []
    for claim in CLAIMS:
        scenario = SCENARIO_OF[claim.method]
        reference, arm = claim.reference, claim.arm or claim.method
        by = {a: {r["seed"]: r["scores"] for r in results if r["scenario"] == scenario and r["arm"] == a}
              for a in (reference, arm)}
        seeds = sorted(set(by[reference]) & set(by[arm]))
        if not seeds:
            continue
        base = [measure_of(by[reference][s], claim.measure) for s in seeds]
        other = [measure_of(by[arm][s], claim.measure) for s in seeds]
        diff = paired_difference(base, other)
        out.append({**dataclasses.asdict(claim), "scenario": scenario, "seeds": seeds,
                    "reference_values": base, "method_values": other, "difference": diff,
                    "verdict": verdict(diff["ci95"], claim.direction)})
    return out


OUTPUTS = {"gaps": "scenario_gaps.json", "methods": "reproduction.json", "checks": "reproduction.json",
           "real": "reproduction_real"}  # the checks' arms join the methods' file; real is a folder


def results_dir() -> pathlib.Path:
    """--results_dir, else bench/results (--quick: <workdir>/quick)."""
    if FLAGS.results_dir:
        return pathlib.Path(FLAGS.results_dir)
    return runs_root() if FLAGS.quick else REPO / "bench" / "results"


def output(stage: str) -> pathlib.Path:
    """A stage's result file (real: folder): --out for one stage, else in results_dir()."""
    return pathlib.Path(FLAGS.out) if FLAGS.out else results_dir() / OUTPUTS[stage]


class WallClock:
    """Wall seconds per stage in budget.json (:meth:`open`), written at every lap and added to across invocations,
    so a killed and resumed report still shows what its kept work took (the time of a run killed halfway is lost
    with it). Before :meth:`open`, laps record nothing."""

    def __init__(self):
        self.path: pathlib.Path | None = None
        self.stage, self.last, self.seconds = "", time.time(), {}

    def open(self, path: pathlib.Path) -> None:
        self.path = path
        self.seconds = json.loads(path.read_text())["wall_seconds"] if path.exists() else {}

    def start(self, stage: str) -> None:
        self.stage, self.last = stage, time.time()

    def lap(self) -> None:
        if self.path is None:
            return
        now = time.time()
        self.seconds[self.stage] = round(self.seconds.get(self.stage, 0.0) + now - self.last, 1)
        self.last = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"cpu_only": True, "wall_seconds": self.seconds,
                                         "wall_hours": round(sum(self.seconds.values()) / 3600, 3)}, indent=1))


CLOCK = WallClock()  # opened by main(); save() laps it after every run


def run_stage(stage: str) -> None:
    out = output(stage)
    if stage == "real":
        run_real(FLAGS.methods, 1 if FLAGS.quick else FLAGS.seeds, out, FLAGS.quick, CLOCK.lap)
        return
    results = json.loads(out.read_text())["runs"] if out.exists() else []
    for seed in range(1 if FLAGS.quick else FLAGS.seeds):
        if stage == "gaps":
            for scenario in FLAGS.scenarios:
                baseline(scenario, seed, results, out)
        elif stage == "checks":
            for method in FLAGS.methods:
                arms = tuple(a for a, seeds in CHECKS.get(method, {}).items() if seed in seeds or FLAGS.quick)
                if arms:
                    method_run(method, seed, results, out, arms)
        else:
            for method in FLAGS.methods:
                method_run(method, seed, results, out)
    if results:
        save(out, results)  # the verdicts as this version computes them, also when every run was recorded
    if stage == "checks" and "ftl" in FLAGS.methods:
        ftl_gradients(out.parent / "ftl_gradients.json")


def ftl_gradients(out: pathlib.Path) -> None:
    """bench/ftl_gradients.py on seed 0's FTL runs at the arm's and the paper's Eq. 4 weights (the report's
    gradient table), unless ``out`` exists."""
    if out.exists():
        return
    runs = runs_root()
    cmd = [sys.executable, str(REPO / "bench" / "ftl_gradients.py"), f"--out={out}",
           f"--workdirs={runs / 'ur_pose_ftl_seed-0'},{runs / 'ur_pose_ftl_paper_weights_seed-0'}"]
    print(f"[ftl_gradients] {' '.join(cmd[1:])}", flush=True)
    if subprocess.run(cmd, cwd=REPO).returncode:
        raise SystemExit(f"error: bench/ftl_gradients.py failed ({' '.join(cmd[1:])}); its output is above.")
    CLOCK.lap()


def main(argv):
    del argv
    if FLAGS.stage == "all" and FLAGS.out:
        raise SystemExit("error: --out names one stage's result; --stage=all writes each stage's default file "
                         "(with --quick under --workdir). Drop --out, or run the stages one by one.")
    CLOCK.open(results_dir() / "budget.json")
    t0 = time.time()
    for stage in STAGES if FLAGS.stage == "all" else [FLAGS.stage]:
        CLOCK.start(stage)
        run_stage(stage)
        CLOCK.lap()
    if FLAGS.stage == "all":
        print(write_report_from(output("methods"), output("real") / "summary.json"),
              f"({(time.time() - t0) / 60:.1f} min this call; {sum(CLOCK.seconds.values()) / 3600:.2f} h in all, "
              f"{CLOCK.path})", flush=True)


if __name__ == "__main__":
    app.run(main)
