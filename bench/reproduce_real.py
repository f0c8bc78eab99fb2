"""The real-face setting of each method for the controlled reproduction (issue 19, ``reproduce.py --stage=real``):
the method's existing real-face bench, run per seed with only its reference and method arms, and the paired
verdict of each paper claim over the seeds.

Each (method, seed) is one call of the bench in a subprocess,
``python bench/<script> --seeds=<seed> --out=<dir>/<method>_seed-<seed>.json <its flags>``; a seed whose file
exists is done, so a killed stage continues with the seed it was in. IDA trains nothing (fixed dlib embeddings of
the CelebA pairs), so it runs once and its interval comes from a paired bootstrap over the pairs instead of seeds.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable

from paired import paired_difference, verdict

REPO = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class RealClaim:
    measure: str  # what ``value`` reads, for the report
    direction: int
    paper: str
    value: Callable[[dict, str], float]  # (a seed's result file, arm) → the measure


@dataclasses.dataclass(frozen=True)
class RealSetting:
    method: str
    script: str
    flags: tuple[str, ...]
    arms: tuple[str, str]  # (reference, method), as the bench names them
    claims: tuple[RealClaim, ...]
    setting: str  # one line for the report
    quick: tuple[str, ...] = ()  # flags for --quick: short runs that check the plumbing


def run_of(result: dict, arm: str, key: str = "method") -> dict:
    """The run of ``arm`` in a bench's result file (its ``runs`` hold one seed here)."""
    found = [r for r in result["runs"] if r.get(key) == arm]
    if len(found) != 1:
        raise KeyError(f"{len(found)} runs of {arm!r} in the result (expected 1)")
    return found[0]


def ddl_hard_rank1(result: dict, arm: str) -> float:
    """Mean rank-1 over Yale B's two hard lighting partitions (students)."""
    ranks = result["runs"][0][arm]["rank1"]
    return sum(ranks) / len(ranks)


SETTINGS = (
    RealSetting("ftl", "ftl_ur.py", ("--methods=softmax,ftl", "--mlreg_weight=0.01", "--ftl_alpha_recon=8.138e-5"),
                ("softmax", "ftl"),
                (RealClaim("UR rank-1 (f, %)", +1, "FTL raises UR classes' rank-1 over softmax (Table 1)",
                           lambda r, a: run_of(r, a)["rank1_f"]["ur"]),
                 RealClaim("regular rank-1 (f, %)", +1, "FTL raises regular classes' rank-1 over softmax too "
                           "(Table 1)", lambda r, a: run_of(r, a)["rank1_f"]["regular"])),
                "CelebA, ≈ 80 regular classes (9–25 images) and ≈ 80 UR classes (3 images), small CNN 64 px, "
                "1,500 steps (FTL: 600 pre-training, 3 stage cycles; α_reg 0.01, Eq. 1 per pixel)",
                ("--steps=60", "--ftl_pretrain_steps=30", "--ftl_alternate_steps=10")),
    RealSetting("discface", "discface_longtail.py", ("--heads=arcface", "--lambdas=0,0.2"),
                ("arcface", "arcface+discface"),
                (RealClaim("unseen-identity TAR@FAR=1e-2 (%)", +1, "DiscFace raises verification when trained on a "
                           "long tail (Table 4)", lambda r, a: run_of(r, a)["unseen"]["tar_at_far"]["0.01"]),),
                "CelebA, half the training identities keep 2–3 images, small CNN 64 px, 600 steps, ArcFace, λ 0.2",
                ("--steps=60",)),
    RealSetting("sft", "sft_tail.py", ("--methods=baseline,sft",), ("baseline", "sft"),
                (RealClaim("tail-class top-1 (%)", +1, "SFT's unbalanced scheme raises the tail classes' accuracy "
                           "(Table 5)", lambda r, a: run_of(r, a)["tail_acc"]),
                 RealClaim("open-set TAR@FAR=1e-2 (%)", +1, "SFT raises face verification over its baseline "
                           "(Table 4)", lambda r, a: run_of(r, a)["open_tar_at_far"]["0.01"])),
                "CelebA, head classes 9–25 images and tail classes 3–5, small CNN 64 px, 600 steps, CosFace",
                ("--steps=60",)),
    RealSetting("ddl", "ddl_yaleb.py", ("--arms=arcface,ddl",), ("arcface", "ddl"),
                (RealClaim("hard-lighting rank-1 (%)", +1, "DDL raises recognition of hard samples (Tables 2–4)",
                           ddl_hard_rank1),),
                "Extended Yale B, easy light [0°, 25°] teaches hard [50°, 77°] and [77°, 130°]; ArcFace 600 steps, "
                "then 300 fine-tuning steps with and without DDL", ("--pretrain_steps=60", "--finetune_steps=30")),
)
IDA_REAL = RealSetting("ida", "ida_real.py", ("--bootstrap=1000",), ("cosine", "IDA-R"), (), "the 2,000 CelebA pairs, "
                       "dlib 128-D descriptors, k 10, τ 1, the CelebA identities no pair uses as the support set",
                       ("--ssr_steps=200", "--bootstrap=50"))


def seed_file(out_dir: pathlib.Path, method: str, seed: int) -> pathlib.Path:
    return out_dir / f"{method}_seed-{seed}.json"


def run_bench(setting: RealSetting, extra: list[str], out: pathlib.Path, quick: bool) -> float:
    """One call of the bench (its output streamed to ours); the seconds it took. The bench writes
    ``<out>.partial`` (benches save after every arm) and only a finished call renames it to ``out``, so a killed or
    failed seed is run again rather than read half-done."""
    partial = out.with_name(out.name + ".partial")
    cmd = [sys.executable, str(REPO / "bench" / setting.script), f"--out={partial}", *setting.flags, *extra,
           *(setting.quick if quick else ())]
    print(f"[real] {' '.join(cmd[1:])}", flush=True)
    t0 = time.time()
    done = subprocess.run(cmd, cwd=REPO)
    if done.returncode:
        raise SystemExit(f"error: bench/{setting.script} exited with {done.returncode} ({' '.join(cmd[1:])}); "
                         f"its output is above. Fix it and rerun: the seeds done are kept in {out.parent}.")
    partial.rename(out)
    return time.time() - t0


def run_real(methods: list[str], seeds: int, out_dir: pathlib.Path, quick: bool = False,
             lap: Callable[[], None] = lambda: None) -> dict:
    """Run what is missing of the real settings of ``methods``; writes and returns ``out_dir/summary.json``
    ({cpu_only, seconds per result file, verdicts}), and calls ``lap``, after every bench call."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    seconds = json.loads(summary_path.read_text())["seconds"] if summary_path.exists() else {}
    by_method = {s.method: s for s in SETTINGS}
    for setting in [by_method[m] for m in methods if m in by_method]:  # in the order asked for
        for seed in range(seeds):
            out = seed_file(out_dir, setting.method, seed)
            if not out.exists():
                seconds[out.name] = round(run_bench(setting, [f"--seeds={seed}"], out, quick), 1)
                write_summary(summary_path, out_dir, seconds)
                lap()
    if "ida" in methods and not (out_dir / "ida.json").exists():
        seconds["ida.json"] = round(run_bench(IDA_REAL, [], out_dir / "ida.json", quick), 1)
        lap()
    return write_summary(summary_path, out_dir, seconds)


def write_summary(path: pathlib.Path, out_dir: pathlib.Path, seconds: dict) -> dict:
    summary = {"cpu_only": True, "seconds": seconds, "verdicts": real_verdicts(out_dir)}
    path.write_text(json.dumps(summary, indent=1))
    return summary


def real_verdicts(out_dir: pathlib.Path) -> list[dict]:
    """Per claim, over the seeds whose file exists: reference and method values, the paired difference with its 95%
    t interval and the verdict; IDA's from the bootstrap over its pairs."""
    out = []
    for setting in SETTINGS:
        seeds = sorted(int(f.stem.rsplit("-", 1)[1]) for f in out_dir.glob(f"{setting.method}_seed-*.json"))
        if not seeds:
            continue
        results = [json.loads(seed_file(out_dir, setting.method, seed).read_text()) for seed in seeds]
        for claim in setting.claims:
            ref = [claim.value(r, setting.arms[0]) for r in results]
            got = [claim.value(r, setting.arms[1]) for r in results]
            diff = paired_difference(ref, got)
            out.append({"method": setting.method, "paper": claim.paper, "measure": claim.measure,
                        "setting": setting.setting, "bench": f"bench/{setting.script} {' '.join(setting.flags)}",
                        "reference": setting.arms[0], "arm": setting.arms[1], "seeds": seeds,
                        "reference_values": ref, "method_values": got, "difference": diff,
                        "verdict": verdict(diff["ci95"], claim.direction)})
    ida = out_dir / "ida.json"
    if ida.exists():
        boot = json.loads(ida.read_text())["bootstrap"]
        for far, d in boot["tar_at_far"].items():
            out.append({"method": "ida", "paper": f"IDA-R raises TAR at low FAR over cosine (Tables 2–4), FAR {far}",
                        "measure": f"TAR@FAR={far} (%)", "setting": IDA_REAL.setting,
                        "bench": f"bench/ida_real.py {' '.join(IDA_REAL.flags)}", "reference": "cosine",
                        "arm": "IDA-R", "seeds": [], "reference_values": [d["cosine"]],
                        "method_values": [d["ida_r"]],
                        "difference": {"mean": d["difference"], "ci95": d["ci95"],
                                       "interval": f"paired bootstrap over the pairs, {boot['replicates']} resamples"},
                        "verdict": verdict(d["ci95"], +1)})
    return out
