"""Fill the README's benchmark tables from bench/results/*.json (rerun after the benchmarks).

    python bench/readme_tables.py
"""

import json
import pathlib
import re
import sys

from reproduction_report import gaps_table, rows_of, verdict_lines

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def main_job_table(r: dict) -> str:
    tar = r["tar_at_far"]
    return "\n".join([
        "| run time (incl. rendering) | accuracy (10-fold) | TAR@FAR=1e-3 | TAR@FAR=1e-2 | AUC | EER |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {r['seconds'] / 60:.1f} min | {r['accuracy'] * 100:.2f}% ± {r['accuracy_std'] * 100:.2f} | "
        f"{tar.get('0.001', float('nan')) * 100:.2f}% | {tar.get('0.01', float('nan')) * 100:.2f}% | "
        f"{r['auc']:.4f} | {r['eer'] * 100:.2f}% |",
    ])


def throughput_table(r: dict) -> str:
    lines = ["| backbone | px | batch | tfface step, ArcFace (img/s) | Keras fit, softmax (img/s) | "
             "Keras fit, no XLA (img/s) | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in r["rows"]:
        lines.append(f"| {row['backbone']} | {row['image_size']} | {row['batch_size']} | "
                     f"{row['tfface_arcface_img_s']} | {row['keras_fit_softmax_img_s']} | "
                     f"{row['keras_fit_softmax_nojit_img_s']} | {row['ratio']:.2f}× |")
    return "\n".join(lines)


def metric_losses_table(r: dict) -> str:
    lines = ["| loss | Recall@1 | Recall@2 | Recall@4 | Recall@8 | NMI | F1 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, rep in r["results"].items():
        rk = rep["recall_at_k"]
        lines.append(f"| {name} | " + " | ".join(f"{rk[k] * 100:.1f}" for k in ("1", "2", "4", "8"))
                     + f" | {rep['nmi'] * 100:.1f} | {rep['f1'] * 100:.1f} |")
    return "\n".join(lines)


def mean_std(values) -> str:
    """'mean ± std' in percent of fractions (– when there are none)."""
    import numpy as np

    v = np.array(list(values), float) * 100
    return f"{v.mean():.2f} ± {v.std():.2f}" if len(v) else "–"


def group(runs: list[dict], key) -> dict:
    """Runs grouped by key(run), in first-seen order."""
    out: dict = {}
    for run in runs:
        out.setdefault(key(run), []).append(run)
    return out


def _tar(part: str, far: str = "0.01"):
    return lambda x: x[part]["tar_at_far"][far]


def discface_longtail_table(r: dict) -> str:
    lines = ["| method | seeds | CelebA pairs acc. | CelebA pairs TAR@FAR=1e-2 | unseen ids acc. | "
             "unseen ids TAR@FAR=1e-2 |", "| --- | --- | --- | --- | --- | --- |"]
    main = [x for x in r["runs"] if x["lambda"] in (0.0, 0.2)]
    for m, runs in group(main, lambda x: x["method"]).items():
        cells = [mean_std(f(x) for x in runs) for f in (lambda x: x["celeba_pairs"]["accuracy"], _tar("celeba_pairs"),
                                                        lambda x: x["unseen"]["accuracy"], _tar("unseen"))]
        lines.append(f"| {m} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def discface_lambda_table(r: dict) -> str:
    lines = ["| λ | seeds | CelebA pairs acc. | unseen ids acc. | unseen ids TAR@FAR=1e-2 |",
             "| --- | --- | --- | --- | --- |"]
    runs = sorted((x for x in r["runs"] if x.get("head", "arcface") == "arcface"), key=lambda x: x["lambda"])
    for lam, rs in group(runs, lambda x: x["lambda"]).items():
        cells = [mean_std(f(x) for x in rs) for f in (lambda x: x["celeba_pairs"]["accuracy"],
                                                      lambda x: x["unseen"]["accuracy"], _tar("unseen"))]
        lines.append(f"| {lam:g}{' (ArcFace)' if lam == 0 else ''} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def discface_synth_table(r: dict) -> str:
    lines = ["| method | seeds | held-out ids acc. | TAR@FAR=1e-3 | TAR@FAR=1e-2 |", "| --- | --- | --- | --- | --- |"]
    for m, rs in group(r["runs"], lambda x: x["method"]).items():
        cells = [mean_std(f(x) for x in rs) for f in (lambda x: x["unseen"]["accuracy"], _tar("unseen", "0.001"),
                                                      _tar("unseen"))]
        lines.append(f"| {m} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sft_tail_table(r: dict) -> str:
    lines = ["| method | seeds | head classes acc. | tail classes acc. | open-set acc. | open-set TAR@FAR=1e-2 |",
             "| --- | --- | --- | --- | --- | --- |"]
    for m, rs in group(r["runs"], lambda x: x["method"]).items():
        cells = [mean_std(f(x) for x in rs) for f in (lambda x: x["head_acc"], lambda x: x["tail_acc"],
                                                      lambda x: x["open_accuracy"],
                                                      lambda x: x["open_tar_at_far"]["0.01"])]
        lines.append(f"| {m} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sft_metric_table(r: dict) -> str:
    lines = ["| method | seeds | Recall@1 | NMI |", "| --- | --- | --- | --- |"]
    for m, rs in group(r["runs"], lambda x: x["method"]).items():
        lines.append(f"| {m} | {len(rs)} | {mean_std(x['recall_at_1'] for x in rs)} | "
                     f"{mean_std(x['nmi'] for x in rs)} |")
    return "\n".join(lines)


def sft_overhead_table(r: dict) -> str:
    kinds = list(r["rows"][0]["overhead_pct"])
    lines = ["| backbone | px | batch | D | step without (ms) | " + " | ".join(f"{k} (ms, overhead)" for k in kinds)
             + " |", "| --- " * (5 + len(kinds)) + "|"]
    for row in r["rows"]:
        ms = row["step_ms"]
        lines.append(f"| {row['backbone']} | {row['image_size']} | {row['batch_size']} | {row['embedding_size']} | "
                     f"{ms['none']:.1f} | " + " | ".join(f"{ms[k]:.1f} ({row['overhead_pct'][k]:+.1f}%)"
                                                        for k in kinds) + " |")
    return "\n".join(lines)


def ftl_ur_table(r: dict) -> str:
    lines = ["| method | seeds | rank-1 regular (f) | rank-1 UR (f) | rank-1 regular (g) | rank-1 UR (g) | "
             "FC top-1 UR | FC coverage @ P 0.99 | unseen ids acc. | unseen TAR@FAR=1e-2 |", "| --- " * 10 + "|"]

    def name(x: dict) -> str:
        title = {"softmax_mlreg": "softmax + m-L2", "ftl_no_transfer": "FTL model, Eq. 4 only", "ftl": "FTL"}
        if x["method"] == "softmax":
            return "softmax"
        settings = [f"α_reg {x.get('mlreg_weight', 0.25):g}"]
        recon = x.get("ftl_alpha_recon")
        if recon is not None and recon != 1.0:  # Eq. 1's sum is the default; 1/(H·W·3) is a per-pixel mean
            settings.append(f"α_recon 1/{round(1 / recon)}" if recon < 1 else f"α_recon {recon:g}")
        if x.get("ftl_stage1", "sequential") != "sequential":
            settings.append(f"stage 1 {x['ftl_stage1']}")
        return f"{title.get(x['method'], x['method'])} ({', '.join(settings)})"

    for m, rs in group(r["runs"], name).items():
        def part(feat, key, rs=rs):
            return mean_std(x[feat][key] for x in rs) if all(feat in x for x in rs) else "–"

        cells = [part("rank1_f", "regular"), part("rank1_f", "ur"), part("rank1_g", "regular"),
                 part("rank1_g", "ur"), part("classifier", "ur"), part("classifier", "coverage_at_p99"),
                 mean_std(x["unseen_accuracy"] for x in rs),
                 mean_std(x["unseen_tar_at_far"]["0.01"] for x in rs)]
        lines.append(f"| {m} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tflite_table(r: dict) -> str:
    lines = ["| model | size (MB) | smallest cosine to the SavedModel | verification accuracy | TAR@FAR=1e-3 | AUC |",
             "| --- | --- | --- | --- | --- | --- |"]
    names = {"saved_model": "SavedModel", "none": "LiteRT float32", "float16": "LiteRT float16",
             "int8": "LiteRT int8 (dynamic range)"}
    for key, row in r["variants"].items():
        size = f"{row['bytes'] / 1e6:.2f}" if "bytes" in row else "–"
        cos = f"{row['min_cosine_to_saved_model']:.7f}" if "min_cosine_to_saved_model" in row else "–"
        tar = row["tar_at_far"].get("0.001")
        lines.append(f"| {names.get(key, key)} | {size} | {cos} | {row['accuracy'] * 100:.2f}% | "
                     f"{'–' if tar is None else f'{tar * 100:.2f}%'} | {row['auc']:.4f} |")
    return "\n".join(lines)


def ftl_mlreg_toy_table(r: dict) -> str:
    lines = ["| model | test accuracy | mean feature norm | angular gap std (°) |", "| --- | --- | --- | --- |"]
    for name, x in r["results"].items():
        lines.append(f"| {name} | {x['test_accuracy'] * 100:.1f}% | {x['mean_feature_norm']:.2f} | "
                     f"{x['angular_gap_std_deg']:.1f} |")
    return "\n".join(lines)


DDL_ARMS = {"pretrained": "ArcFace pre-trained", "arcface": "+ ArcFace fine-tuning", "ddl": "+ DDL fine-tuning",
            "ddl_detach": "+ DDL, teacher detached", "kl_only": "+ DDL, KL terms only",
            "order_only": "+ DDL, order term only", "random_neg": "+ DDL, random negatives",
            "js": "+ DDL, JS distance", "emd": "+ DDL, EMD distance",
            "arcface@lr1e-3": "+ ArcFace fine-tuning, lr 1e-3", "ddl@lr1e-3": "+ DDL fine-tuning, lr 1e-3"}


def ddl_table(r: dict) -> str:
    students = len(r["runs"][0]["pretrained"]["rank1"])
    head = ["model", "seeds", "rank-1 easy", *[f"rank-1 hard {k + 1}" for k in range(students)], "margin easy",
            *[f"margin hard {k + 1}" for k in range(students)], "∩ easy", *[f"∩ hard {k + 1}" for k in range(students)]]
    lines = ["| " + " | ".join(head) + " |", "| --- " * len(head) + "|"]
    for arm in ["pretrained", *r.get("arms", ["arcface", "ddl"])]:
        rs = [x[arm] for x in r["runs"] if arm in x]
        if not rs:
            continue
        easy = [x["easy_rank1"] for x in rs if x.get("easy_rank1") is not None]
        cells = [mean_std(easy) if easy else "n/a", *[mean_std(x["rank1"][k] for x in rs) for k in range(students)]]
        for key in ("expectation_margin", "intersection"):
            for part in ["easy", *[f"student{k + 1}" for k in range(students)]]:
                cells.append(mean_std(x["distributions"][part][key] for x in rs))
        lines.append(f"| {DDL_ARMS.get(arm, arm)} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ddl_delta_table(r: dict) -> str:
    """Per-seed differences from plain ArcFace fine-tuning (same split and starting model), so the large
    between-seed spread of the absolute numbers cancels."""
    students = len(r["runs"][0]["pretrained"]["rank1"])
    head = ["fine-tuning", "seeds", *[f"Δ rank-1 hard {k + 1}" for k in range(students)],
            *[f"Δ gap easy − hard {k + 1}" for k in range(students)], "seeds with hard rank-1 up (all students)"]
    lines = ["| " + " | ".join(head) + " |", "| --- " * len(head) + "|"]
    for arm in r.get("arms", ["arcface", "ddl"]):
        base = "arcface" + arm[arm.index("@"):] if "@" in arm else "arcface"  # same fine-tuning schedule
        if arm == base:
            continue
        rs = [(x[arm], x[base]) for x in r["runs"] if arm in x and base in x]
        if not rs:
            continue
        cells = [mean_std(a["rank1"][k] - b["rank1"][k] for a, b in rs) for k in range(students)]
        cells += [mean_std((a["easy_rank1"] - a["rank1"][k]) - (b["easy_rank1"] - b["rank1"][k]) for a, b in rs)
                  for k in range(students)]
        up = sum(all(a["rank1"][k] > b["rank1"][k] for k in range(students)) for a, b in rs)
        lines.append(f"| {DDL_ARMS.get(arm, arm)} | {len(rs)} | " + " | ".join(cells) + f" | {up} of {len(rs)} |")
    return "\n".join(lines)


def ida_real_table(r: dict) -> str:
    lines = ["| score | 10-fold accuracy | TAR@FAR=1e-2 | TAR@FAR=1e-3 | AUC |", "| --- | --- | --- | --- | --- |"]
    for name, x in r["results"].items():
        t = x["tar_at_far"]
        lines.append(f"| {name} | {x['accuracy'] * 100:.2f} ± {x['accuracy_std'] * 100:.2f} | {t['0.01'] * 100:.1f} | "
                     f"{t['0.001'] * 100:.1f} | {x['auc']:.4f} |")
    return "\n".join(lines)


def ida_search_table(r: dict) -> str:
    lines = ["| D | queries × anchors | tfface exact (queries/s) | faiss IndexFlatIP (queries/s) | time ratio | "
             "top-k agreement |", "| --- | --- | --- | --- | --- | --- |"]
    for x in r["rows"]:
        lines.append(f"| {x['dim']} | {x['queries']:,} × {x['anchors']:,} | {x['tfface_queries_per_s']:,.0f} | "
                     f"{x['faiss_queries_per_s']:,.0f} | {x['tfface_over_faiss_time']:.2f}× | "
                     f"{x['topk_agreement'] * 100:.0f}% |")
    return "\n".join(lines)


def ida_low_far_table(r: dict) -> str:
    """TAR@FAR with 95% identity-bootstrap intervals per score, and IDA − cosine with paired intervals (bold
    where the interval excludes 0)."""
    fars = ("0.001", "0.0001", "1e-05", "1e-06")
    lines = ["| embeddings, fold | score | " + " | ".join(f"TAR@FAR={f}" for f in fars) + " |",
             "| --- | --- |" + " --- |" * len(fars)]
    for kind, folds in r["runs"].items():
        for fold, run in sorted(folds.items()):
            where = f"{kind}, {fold} ({run['test_identities']} ids, {run['cosine']['impostor_pairs'] / 1e6:.1f} M imp.)"
            for name in ("cosine", "IDA-R", "IDA-L"):
                rows = run[name]["tar_at_far"]
                cells = [f"{rows[f]['tar'] * 100:.1f} [{rows[f]['ci95'][0] * 100:.1f}, {rows[f]['ci95'][1] * 100:.1f}]"
                         for f in fars]
                lines.append(f"| {where} | {name} | " + " | ".join(cells) + " |")
                where = ""
            for name in ("IDA-R", "IDA-L"):
                diff = run[f"{name} - cosine"]
                cells = []
                for f in fars:
                    d = diff[f]
                    text = f"{d['delta'] * 100:+.1f} [{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]"
                    cells.append(f"**{text}**" if d["effect"] else text)
                lines.append(f"| | {name} − cosine | " + " | ".join(cells) + " |")
    return "\n".join(lines)


INPUT_FORMATS = {  # bench/input.py format: what it is
    "celeba_jpeg": "CelebA 112 px JPEG, list file, uniform",
    "celeba_jpeg_pk": "CelebA 112 px JPEG, list file, P×K",
    "celeba_tfrecord": "the same in 8 TFRecord shards, streamed (uniform)",
    "celeba_tfrecord_pk": "the same shards through their index (P×K)",
    "synth_png": "SynthFaces 64 px PNG resized to 112, uniform",
    "celeba_jpeg_light_aug": "CelebA JPEG list, uniform, `--augment=light`",
    "celeba_jpeg_medium_aug": "CelebA JPEG list, uniform, `--augment=medium`",
}


def input_table(r: dict) -> str:
    lines = ["| input (decode, resize to 112 px, flip, batch 64; no model) | img/s | img/s per core | rounds |",
             "| --- | --- | --- | --- |"]
    for name, rep in r["formats"].items():
        lines.append(f"| {INPUT_FORMATS.get(name, name)} | {rep['img_s']:,.0f} | {rep['img_s_per_core']:,.0f} | "
                     f"{', '.join(f'{x:,.0f}' for x in rep['rounds'])} |")
    for e2e in r["end_to_end"]:
        for preset, rate in e2e["pipeline_img_s"].items():
            feed = "the JPEG list" if preset == "none" else f"the JPEG list with `--augment={preset}`"
            lines.append(f"| end to end, {e2e['model']} fed by {feed} vs one in-memory batch | "
                         f"{rate:,.0f} vs {e2e['in_memory_img_s']:,.0f} | ratio {e2e['ratio'][preset]:.2f} | |")
    return "\n".join(lines)


def partial_fc_table(r: dict) -> str:
    lines = ["| classes C | head | step (s) | img/s | peak memory per replica (GiB) | class weights + momentum per "
             "replica (GiB) |", "| --- | --- | --- | --- | --- | --- |"]
    for run in sorted(r["runs"], key=lambda x: (x["classes"], x["head"] != "full", -x["rate"])):
        if run["status"] == "ok":
            cells = f"{run['step_s']:.3f} | {run['images_per_s']:,.0f} | {run['peak_rss_gb_per_replica']:.2f}"
        else:
            cells = f"— | — | {run['status']}"
        lines.append(f"| {run['classes']:,} | {run['label']} | {cells} | {run['head_state_gb']:.2f} |")
    return "\n".join(lines)


def augment_label(settings: dict) -> str:
    """``light``, or ``crop 0.1`` for a family set on its own."""
    families = [f"{k[4:]} {v:g}" for k, v in settings.items() if k.startswith("aug_")]
    return ", ".join(families) if families and settings["augment"] == "none" else settings["augment"]


def schedule_label(settings: dict, default: dict) -> str:
    """``0.1 cosine`` (``, scale warm-up 500``): a recipe-sweep run's learning rate, schedule and head-scale
    warm-up, ``default`` (the result file's ``default_schedule``) where the run leaves them out."""
    own = {**default, **settings}
    warmup = own["scale_warmup_steps"]
    return f"{own['lr']:g} {own['lr_schedule']}" + (f", scale warm-up {warmup}" if warmup else "")


def train_top1(runs: list[dict]) -> str:
    """The training top-1 of the last logged batch, per seed (0 = stuck on ArcFace's early plateau)."""
    values = [f"{100 * r['train_end']['top1']:.0f}" for r in runs if r.get("train_end")]
    return ", ".join(values) if values else "—"


def real_recipe_table(r: dict) -> str:
    """One row per configuration and stage: its settings, held-out CelebA accuracy / TAR@FAR=1e-2 (mean ± std
    over its seeds), the cross-dataset accuracies when scored, and the training time."""
    lines = ["| stage | backbone | px | head, m | augment | lr, schedule | steps | seeds | CelebA held-out acc. | "
             "TAR@1e-2 | AT&T acc. | YaleB acc. | train top-1 at end | train (min) |",
             "| --- " * 14 + "|"]
    groups: dict[tuple, list[dict]] = {}
    for run in r["runs"]:
        groups.setdefault((run["stage"], json.dumps(run["settings"], sort_keys=True)), []).append(run)
    def cell(runs, name, key):
        values = [x["scores"][name][key] for x in runs if name in x["scores"]]
        return "—" if not values else f"{100 * values[0]:.2f}" if len(values) == 1 else mean_std(values)

    for (stage, _), runs in groups.items():
        st = runs[0]["settings"]
        lines.append(f"| {stage} | {st['backbone']} | {st['image_size']} | {st['head']} {st['margin']:g} | "
                     f"{augment_label(st)} | {schedule_label(st, r['default_schedule'])} | "
                     f"{st['steps']:,} | {len(runs)} | {cell(runs, 'celeba', 'accuracy')} | "
                     f"{cell(runs, 'celeba', 'tar_at_far_1e-2')} | {cell(runs, 'att', 'accuracy')} | "
                     f"{cell(runs, 'yaleb', 'accuracy')} | {train_top1(runs)} | "
                     f"{sum(x['train_seconds'] for x in runs) / len(runs) / 60:.1f} |")
    return "\n".join(lines)


def real_recipe_verdict_table(r: dict) -> str:
    """The final comparison: today's default vs the recipe over the same seeds (mean, range), the paired gain
    with its 95% t interval, and whether the gain is larger than the seed spread; on held-out CelebA and, once
    the cross stage has run, on AT&T and Extended Yale B."""
    v = r.get("verdict")
    if not v:
        return "(the final stage has not run yet)"
    lines = ["| set, measure | today's default (mean, range) | recipe (mean, range) | paired gain [95% CI] | "
             "seed spread | gain > spread |", "| --- | --- | --- | --- | --- | --- |"]
    cross = v.get("cross_accuracy", {})
    rows = [("held-out CelebA accuracy (%)", v["accuracy"]),
            ("held-out CelebA TAR@FAR=1e-2 (%)", v["tar_at_far_1e-2"])]
    rows += [(f"{label} accuracy (%), never trained on", cross[key])
             for key, label in (("att", "AT&T"), ("yaleb", "Extended Yale B")) if key in cross]
    for label, m in rows:
        lo, hi = m["gain_ci95"]
        lines.append(f"| {label} | {100 * m['baseline_mean']:.2f} ({100 * m['baseline_range']:.2f}) | "
                     f"{100 * m['recipe_mean']:.2f} ({100 * m['recipe_range']:.2f}) | {100 * m['gain_mean']:+.2f} "
                     f"[{100 * lo:+.2f}, {100 * hi:+.2f}] | {100 * m['seed_spread']:.2f} | "
                     f"{'yes' if m['gain_exceeds_spread'] else 'no'} |")
    return "\n".join(lines) + f"\n\n{len(v['seeds'])} seeds each ({', '.join(map(str, v['seeds']))})."


def reproduction_verdicts(r: dict) -> str:
    """One line per method from the reproduction's scenario verdicts and its real-face ones (if recorded)."""
    real = RESULTS / "reproduction_real" / "summary.json"
    return verdict_lines(rows_of(r["verdicts"], json.loads(real.read_text())["verdicts"] if real.exists() else []))


TABLES = (  # README marker, result file, table function
    ("scenario_gaps_table", "scenario_gaps.json", lambda r: gaps_table(r["runs"])),
    ("reproduction_verdicts", "reproduction.json", reproduction_verdicts),
    ("real_recipe_table", "real_recipe.json", real_recipe_table),
    ("real_recipe_verdict_table", "real_recipe.json", real_recipe_verdict_table),
    ("input_table", "input.json", input_table),
    ("partial_fc_table", "partial_fc.json", partial_fc_table),
    ("main_job_table", "main_job.json", main_job_table),
    ("throughput_table", "throughput.json", throughput_table),
    ("metric_losses_table", "metric_losses.json", metric_losses_table),
    ("discface_longtail_table", "discface_longtail.json", discface_longtail_table),
    ("discface_lambda_table", "discface_longtail.json", discface_lambda_table),
    ("discface_synth_table", "discface_longtail_synth.json", discface_synth_table),
    ("sft_tail_table", "sft_tail.json", sft_tail_table),
    ("sft_metric_table", "sft_metric.json", sft_metric_table),
    ("sft_overhead_table", "sft_overhead.json", sft_overhead_table),
    ("ftl_ur_table", "ftl_ur.json", ftl_ur_table),
    ("ftl_ur_synth_table", "ftl_ur_synth.json", ftl_ur_table),
    ("ftl_mlreg_toy_table", "ftl_mlreg_toy.json", ftl_mlreg_toy_table),
    ("ddl_yaleb_table", "ddl_yaleb.json", ddl_table),
    ("ddl_yaleb_delta_table", "ddl_yaleb.json", ddl_delta_table),
    ("ddl_synth_table", "ddl_synth.json", ddl_table),
    ("ddl_synth_delta_table", "ddl_synth.json", ddl_delta_table),
    ("ida_real_table", "ida_real.json", ida_real_table),
    ("ida_real_tfface_table", "ida_real_tfface.json", ida_real_table),
    ("ida_search_table", "ida_search.json", ida_search_table),
    ("ida_low_far_table", "ida_low_far.json", ida_low_far_table),
    ("tflite_table", "tflite.json", tflite_table),
)


def replace_block(text: str, name: str, table: str) -> str:
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{table}\n{end}"
    if start in text:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda m: block, text, flags=re.S)
    return text.replace(name.upper(), block)


def main(argv: list[str]) -> None:
    """``python bench/readme_tables.py [README file]`` (default: the repository's README.md)."""
    readme = pathlib.Path(argv[1]) if len(argv) > 1 else REPO / "README.md"
    text = readme.read_text()
    for name, file, fn in TABLES:
        path = RESULTS / file
        if path.exists():
            text = replace_block(text, name, fn(json.loads(path.read_text())))
    readme.write_text(text)


if __name__ == "__main__":
    main(sys.argv)
