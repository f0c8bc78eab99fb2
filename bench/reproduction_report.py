"""bench/results/reproduction.md and its plots from bench/reproduce.py's results: each scenario's baseline gap, every
paper claim's verdict in its scenario and in its real-face setting (reference and method per seed, the paired
difference with its 95% interval), the checks that probe the implementation, and one PNG per method.

    python bench/reproduction_report.py [--results=bench/results/reproduction.json]
                                        [--real=bench/results/reproduction_real/summary.json]
"""

from __future__ import annotations

import json
import math
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
METHODS = ("ftl", "discface", "sft", "ddl", "ida")


def scale_of(measure: str) -> float:
    """Rank-1 and TAR are shown in percent (points), FARs and FAR measures as they are."""
    return 1.0 if measure.startswith("heldout_far") else 100.0


def gaps_table(runs: list[dict]) -> str:
    """Each scenario's baseline gap per seed (the value the scenario was built to show)."""
    lines = ["| scenario | measure | per seed | mean |", "| --- | --- | --- | --- |"]
    by: dict[str, list[dict]] = {}
    for r in runs:
        if r["arm"] == "baseline":
            by.setdefault(r["scenario"], []).append(r)
    for scenario, rs in by.items():
        values = [r["gap"]["value"] for r in rs]
        bound = "≥ " if any(r["gap"].get("lower_bound") for r in rs) else ""
        lines.append(f"| {scenario} | {rs[0]['gap']['measure']} | {', '.join(f'{bound}{v:.3g}' for v in values)} | "
                     f"{bound}{sum(values) / len(values):.3g} |")
    return "\n".join(lines)


def rows_of(scenario_verdicts: list[dict], real_verdicts: list[dict]) -> list[dict]:
    """Both kinds of verdict in one shape: where, what, reference and method values per seed (in display units)."""
    rows = []
    for v in scenario_verdicts:
        k = scale_of(v["measure"])
        rows.append({"method": v["method"], "where": f"SynthFaces {v['scenario']}", "paper": v["paper"],
                     "measure": f"`{v['measure']}`" + (" (%)" if k == 100 else ""), "reference": v["reference"],
                     "arm": v.get("arm") or v["method"], "seeds": v["seeds"],
                     "ref": [k * x for x in v["reference_values"]],
                     "got": [k * x for x in v["method_values"]], "mean": k * v["difference"]["mean"],
                     "ci": [k * x for x in v["difference"]["ci95"]], "interval": "t over seeds",
                     "verdict": v["verdict"]})
    k = 100.0  # the real-face measures are rank-1, top-1 and TAR: in percent
    for v in real_verdicts:
        rows.append({"method": v["method"], "where": "real faces", "paper": v["paper"], "measure": v["measure"],
                     "reference": v["reference"], "arm": v["arm"], "seeds": v["seeds"],
                     "ref": [k * x for x in v["reference_values"]], "got": [k * x for x in v["method_values"]],
                     "mean": k * v["difference"]["mean"], "ci": [k * x for x in v["difference"]["ci95"]],
                     "interval": v["difference"].get("interval", "t over seeds"), "verdict": v["verdict"]})
    return sorted(rows, key=lambda r: METHODS.index(r["method"]))  # stable: scenario rows before real ones


def verdict_table(rows: list[dict]) -> str:
    lines = ["| method | claim (paper) | where | measure | seeds | reference | with method | difference [95% CI] | "
             "verdict |", "| --- " * 9 + "|"]
    for r in rows:
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        seeds = len(r["seeds"]) or r["interval"]
        lines.append(f"| {r['method']} | {r['paper']} | {r['where']} | {r['measure']} | {seeds} | "
                     f"{mean(r['ref']):.3g} ({r['reference']}) | {mean(r['got']):.3g} | {r['mean']:+.3g} "
                     f"[{r['ci'][0]:+.3g}, {r['ci'][1]:+.3g}] | **{r['verdict']}** |")
    return "\n".join(lines)


def verdict_lines(rows: list[dict]) -> str:
    """One line per method: each claim's verdict and difference, scenario and real faces (for the README)."""
    out = []
    for method in METHODS:
        parts = [f"{r['verdict']} in {r['where']} ({r['arm']} vs {r['reference']}, {r['measure'].replace('`', '')} "
                 f"{r['mean']:+.2g} [{r['ci'][0]:+.2g}, {r['ci'][1]:+.2g}])" for r in rows if r["method"] == method]
        if parts:
            out.append(f"- **{method}**: " + "; ".join(parts) + ".")
    return "\n".join(out)


def checks_table(runs: list[dict]) -> str:
    """The checks' arms (reproduce.py CHECKS) against the arm they probe, per seed."""
    by = {(r["arm"], r["seed"]): r for r in runs}
    lines = ["| check | what it probes | measure | seed: check vs reference |", "| --- | --- | --- | --- |"]
    specs = [("ftl_paper_weights", "ftl", f"probes.rank1.{group}", 100, "FTL at the paper's Eq. 4 weights (α_recon 1 "
              "on the pixel sum, α_reg 0.25) against the arm's (per pixel, 0.001)") for group in ("ur", "regular")]
    specs += [("ftl_linear_filter", "ftl", f"probes.rank1.{group}", 100, "FTL with R as one linear layer against "
               "the paper's R (linear → 2 deconvolutions → 2 convolutions → linear)") for group in ("ur", "regular")]
    specs += [(arm, "ida", "heldout_far.unevenness_log10", 1, f"IDA-R at τ = {arm.rsplit('_', 1)[1]} against τ = 1: "
               "a larger τ weighs the cosine more against the density term")
              for arm in sorted({a for a, _ in by if a.startswith("ida_tau_")}, key=lambda a: float(a.rsplit("_")[-1]))]
    for arm, reference, measure, k, what in specs:
        cells = []
        for (a, seed), r in sorted(by.items(), key=lambda x: x[0][1]):
            if a == arm and (reference, seed) in by:
                cells.append(f"{seed}: {k * measure_of(r['scores'], measure):.3g} vs "
                             f"{k * measure_of(by[reference, seed]['scores'], measure):.3g}")
        if cells:
            lines.append(f"| {arm} | {what} | `{measure}` | {'; '.join(cells)} |")
    fc = "FTL vs its modules trained as long without the stages (%)"
    lines += paired_check_rows(runs, "ftl_classifier", [
        (f"FC's top-1 of UR probes, where stage 1's transfer acts: {fc}", "classifier.ur", 100),
        (f"FC's top-1 of regular probes: {fc}", "classifier.regular", 100),
        (f"nearest-centre rank-1 of UR probes on the rich feature g: {fc}", "rank1_g.ur", 100)],
        "ftl", "ftl_no_transfer")
    planted = ("a planted effect (drawn rich features whose UR training samples lack the variation all classes share; "
               "tfface.methods.ftl_planted), {} of UR probes after stage 1 with vs without the transferred batch (%)")
    lines += [row for shape, what in (("paper", "the paper's R"), ("linear", "R as one linear layer"))
              for row in paired_check_rows(runs, "ftl_planted", [
                  (planted.format(f"{what}: FC's top-1"), "top1_ur", 100),
                  (planted.format(f"{what}: nearest-centre rank-1 on f"), "rank1_f_ur", 100)],
                  f"{shape}.transfer", f"{shape}.no_transfer", label=shape)]
    lines += paired_check_rows(runs, "discface_discrepancy", [
        (f"DiscFace's own objective (Sec. 3.2): {what}, DiscFace arm vs baseline", key, 1) for key, what in (
            ("displacement_norm", "mean ‖ε‖, what Eq. 3 minimises with ‖ξ‖ ≤ 0.05"),
            ("directional_cosine", "mean intra-class cosine of the displacements (1 = one direction)"),
            ("radial", "mean abs(‖ε_i‖ − ‖ε_j‖)"))], "discface", "baseline")
    return "\n".join(lines)


def paired_check_rows(runs: list[dict], arm: str, rows: list[tuple[str, str, float]], check: str, reference: str,
                      label: str = "") -> list[str]:
    """Table rows of a check arm whose scores hold both sides, ``check`` and ``reference`` (paths into them): per
    (what it probes, measure path under each side, scale), the seeds' "check vs reference"."""
    mine = sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"])
    if not mine:
        return []
    out = []
    for what, measure, k in rows:
        cells = [f"{r['seed']}: {k * measure_of(r['scores'], f'{check}.{measure}'):.3g} vs "
                 f"{k * measure_of(r['scores'], f'{reference}.{measure}'):.3g}" for r in mine]
        out.append(f"| {arm} | {what} | `{f'{label}.' if label else ''}{measure}` | {'; '.join(cells)} |")
    return out


def gradients_table(rows: list[dict]) -> str:
    """bench/ftl_gradients.py: each weighted Eq. 4 term's gradient norm on the encoder and on R + FC."""
    lines = ["| FTL run | α_recon, α_reg | state | encoder: softmax / recon / m-L2 | R + FC: softmax / m-L2 | "
             "cos(softmax, m-L2) on R + FC |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        e, t = r["encoder"], r["filter_and_head"]
        lines.append(f"| {r['run']} | {r['alpha_recon']:.3g}, {r['alpha_reg']:g} | {r['state']} | {e['softmax']:.3g} / "
                     f"{e['recon']:.3g} / {e['reg']:.3g} | {t['softmax']:.3g} / {t['reg']:.3g} | "
                     f"{r['cosine_softmax_reg_on_filter_and_head']:+.2f} |")
    return "\n".join(lines)


def measure_of(scores: dict, path: str) -> float:
    """A value of the scores by its dotted path (keys may hold dots: "tar_at_far.0.001" is tried whole too)."""
    node, parts = scores, path.split(".")
    while parts:
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if isinstance(node, dict) and key in node:
                node, parts = node[key], parts[n:]
                break
        else:
            raise KeyError(f"{path} is not in the scores ({sorted(scores)})")
    return float(node)


def plot_method(method: str, rows: list[dict], runs: list[dict], path: pathlib.Path) -> None:
    """One panel per claim (reference and method per seed, a line per seed); for IDA also FAR unevenness over τ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    taus = sorted(({r["arm"] for r in runs if r["arm"].startswith("ida_tau_")}), key=lambda a: float(a.split("_")[-1]))
    extra = 1 if method == "ida" and taus else 0
    fig, axes = plt.subplots(1, len(rows) + extra, figsize=(3.6 * (len(rows) + extra), 3.8), squeeze=False)
    for ax, r in zip(axes[0], rows):
        pairs = list(zip(r["seeds"] or [0], r["ref"], r["got"]))
        for seed, a, b in pairs:
            ax.plot([0, 1], [a, b], "o-", color="C0" if b >= a else "C3", alpha=0.7)
            if r["seeds"]:
                ax.annotate(f"s{seed}", (1, b), fontsize=7, xytext=(4, 0), textcoords="offset points")
        ax.set_xticks([0, 1], [r["reference"], r["arm"]], fontsize=8)
        ax.set_xlim(-0.3, 1.4)
        ax.set_title(f"{r['where']}\n{r['measure'].replace('`', '')}\n{r['verdict']}", fontsize=8)
        ax.grid(alpha=0.3)
    if extra:
        ax = axes[0][-1]
        by = {(r["arm"], r["seed"]): r["scores"]["heldout_far"]["unevenness_log10"] for r in runs
              if r["scenario"] == "density"}
        xs = [1.0] + [float(a.split("_")[-1]) for a in taus]
        for seed in sorted({s for _, s in by}):
            ys = [by.get((a, seed), math.nan) for a in ["ida", *taus]]
            ax.plot(xs, ys, "o-", alpha=0.7, label=f"s{seed} (cosine {by.get(('baseline', seed), math.nan):.2f})")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("τ")
        ax.set_title("|log10 family / isolated FAR|\nover IDA's τ (0 = even)", fontsize=8)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{method}: reference vs method per seed")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def budget(result: dict, real: dict | None, wall: dict | None = None) -> str:
    """What the recorded runs took on this CPU: training per part, and the wall time of every stage where
    reproduce.py's budget.json has it."""
    scenario = sum(r.get("train_seconds", 0.0) or 0.0 for r in result["runs"])
    text = f"training in the scenarios {scenario / 3600:.2f} h"
    if real:
        text += f", the real-face benches {sum(real['seconds'].values()) / 3600:.2f} h"
    text += " (CPU-only"
    if wall:
        stages = ", ".join(f"{k} {v / 3600:.2f} h" for k, v in wall["wall_seconds"].items())
        return text + f"; wall time with scoring and rendering {wall['wall_hours']:.2f} h: {stages})"
    return text + "; scoring and rendering add minutes)"


def write_report(result: dict, real: dict | None, out_dir: pathlib.Path,
                 gradients: pathlib.Path | None = None, wall: dict | None = None) -> pathlib.Path:
    """Write reproduction.md and reproduction_<method>.png into ``out_dir``; return the markdown's path."""
    rows = rows_of(result["verdicts"], real["verdicts"] if real else [])
    kind = "--quick: one seed, short runs; checks the pipeline, measures nothing" if result["quick"] else "full runs"
    parts = ["# Controlled reproduction", "",
             f"Generated by `python bench/reproduction_report.py` from `bench/reproduce.py`'s results ({kind}; "
             f"scenarios: {result['steps']:,} steps from scratch, DDL fine-tunes {result['finetune_steps']:,}; "
             f"{budget(result, real, wall)}).", "",
             "A claim is *reproduced* when the 95% interval of the paired difference (same seed: same render or "
             "split and initial weights) excludes 0 in the paper's direction, *refuted* when it excludes 0 the "
             "other way, *inconclusive* otherwise.", "", "## Verdicts", "", verdict_lines(rows), "",
             "## Baseline gaps", "", gaps_table(result["runs"]), "", "## Claims", "", verdict_table(rows), "",
             "## Checks of the implementation", "", checks_table(result["runs"]), ""]
    if gradients and gradients.exists():
        parts += ["FTL's Eq. 4 terms by their gradients (`python bench/ftl_gradients.py`, 4 batches of 64 training "
                  "images of seed 0):", "", gradients_table(json.loads(gradients.read_text())["rows"]), ""]
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        png = out_dir / f"reproduction_{method}.png"
        plot_method(method, mine, result["runs"], png)
        parts += [f"### {method}", "", f"![{method}]({png.name})", ""]
    out = out_dir / "reproduction.md"
    out.write_text("\n".join(parts))
    return out


def write_report_from(results: pathlib.Path, real: pathlib.Path | None = None) -> pathlib.Path:
    """The report beside ``results`` (reproduce.py's scenario file), with the real-face summary (default: beside it,
    in reproduction_real/), bench/ftl_gradients.py's table and the wall time (budget.json) where those files
    exist."""
    real = real or results.parent / "reproduction_real" / "summary.json"
    wall = results.parent / "budget.json"
    return write_report(json.loads(results.read_text()), json.loads(real.read_text()) if real.exists() else None,
                        results.parent, results.parent / "ftl_gradients.json",
                        json.loads(wall.read_text()) if wall.exists() else None)


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    real = args.get("--real")
    print(write_report_from(pathlib.Path(args.get("--results", REPO / "bench" / "results" / "reproduction.json")),
                            pathlib.Path(real) if real else None))


if __name__ == "__main__":
    main(sys.argv[1:])
