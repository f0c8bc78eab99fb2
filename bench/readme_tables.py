"""Fill the README's benchmark tables from bench/results/*.json (rerun after the benchmarks).

    python bench/readme_tables.py
"""

import json
import pathlib
import re

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


def discface_longtail_table(r: dict) -> str:
    import numpy as np

    methods = list(dict.fromkeys(run["method"] for run in r["runs"]))
    lines = ["| method | seeds | CelebA pairs acc. | CelebA pairs TAR@FAR=1e-2 | unseen ids acc. | "
             "unseen ids TAR@FAR=1e-2 |", "| --- | --- | --- | --- | --- | --- |"]

    def cell(runs, part, key):
        if any(part not in x for x in runs):
            return "–"
        v = np.array([x[part]["accuracy"] if key == "acc" else x[part]["tar_at_far"]["0.01"] for x in runs]) * 100
        return f"{v.mean():.2f} ± {v.std():.2f}"

    for m in methods:
        runs = [x for x in r["runs"] if x["method"] == m]
        lines.append(f"| {m} | {len(runs)} | " + " | ".join(
            cell(runs, part, key) for part in ("celeba_pairs", "unseen") for key in ("acc", "tar")) + " |")
    return "\n".join(lines)


def replace_block(text: str, name: str, table: str) -> str:
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{table}\n{end}"
    if start in text:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda m: block, text, flags=re.S)
    return text.replace(name.upper(), block)


def main() -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    for name, fn in (("main_job_table", main_job_table), ("throughput_table", throughput_table),
                     ("metric_losses_table", metric_losses_table),
                     ("discface_longtail_table", discface_longtail_table)):
        path = RESULTS / f"{name.rsplit('_', 1)[0]}.json"
        if path.exists():
            text = replace_block(text, name, fn(json.loads(path.read_text())))
    readme.write_text(text)


if __name__ == "__main__":
    main()
