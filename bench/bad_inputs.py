"""How train.py and evaluate.py answer bad settings, bad files and damaged runs: exit code, whether a raw
traceback reached the user, and the last line they saw — for this checkout or another one (``--repo``), so a
fix can be shown case → before → after.

    python bench/bad_inputs.py                                   # bench/results/bad_inputs.json + .md
    python bench/bad_inputs.py --repo=/tmp/old --out=/tmp/old.json

Training is the small CNN at 32 px on the AT&T list of ../shared/data (a few steps); every case runs in a
fresh process with a timeout. A case is *good* when the program exits non-zero with a one-line ``error:``
and no traceback, or exits 0 saying what it did (the harmless resume).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("repo", str(REPO), "The checkout whose train.py / evaluate.py are probed.")
flags.DEFINE_string("data", str(REPO.parent / "shared" / "data"), "The shared data folder (AT&T is used).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "bad_inputs.json"), "Result file (a .md beside).")
flags.DEFINE_string("before", None, "The result file of another checkout: the table shows before → after.")
flags.DEFINE_bool("table_only", False, "Rebuild the table from --out (and --before) without running the cases.")
FLAGS = flags.FLAGS
TRAIN = ["--image_size=32", "--batch_size=16", "--steps=2", "--log_every=1", "--embedding_size=16"]


def _png(path: pathlib.Path, seed: int) -> None:
    import numpy as np
    import tensorflow as tf

    img = np.random.default_rng(seed).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    path.write_bytes(tf.io.encode_png(img).numpy())


def cases(tmp: pathlib.Path, att: pathlib.Path) -> list[tuple[str, str, list[str], callable]]:
    """(name, program, arguments, setup) per case; setup prepares files in ``tmp`` before the run."""
    lst = str(att / "meta.csv")
    data = ["--data=list", f"--list_file={lst}", f"--data_root={att}"]

    def nothing(_):
        pass

    def single_identity(d):
        rows = (att / "meta.csv").read_text().splitlines()
        (d / "one.csv").write_text("\n".join([rows[0], *[r for r in rows[1:] if r.endswith(",s1")]]) + "\n")

    def trained(d, steps=4):
        subprocess.run([sys.executable, f"{FLAGS.repo}/train.py", *data, *TRAIN, f"--steps={steps}",
                        "--checkpoint_every=2", f"--workdir={d / 'w'}"], capture_output=True, timeout=600,
                       env=_env())

    def damaged(how):
        def setup(d):
            trained(d)
            prefix = d / "w" / "checkpoints" / "ckpt-4"
            data_file = pathlib.Path(f"{prefix}.data-00000-of-00001")
            if how == "truncate":
                data_file.write_bytes(data_file.read_bytes()[:300])
            elif how == "delete":
                data_file.unlink()
            else:
                pathlib.Path(f"{prefix}.index").write_bytes(b"")
        return setup

    def truncated_png(d):
        rows = []
        for i in range(16):
            _png(d / f"{i}.png", i)
            rows.append(f"{i}.png,id{i % 4}")
        (d / "5.png").write_bytes((d / "5.png").read_bytes()[:300])
        (d / "t.csv").write_text("path,identity\n" + "\n".join(rows) + "\n")

    def no_identity(d):
        rows = (att / "meta.csv").read_text().splitlines()
        rows[5] = rows[5].split(",")[0] + ","
        (d / "n.csv").write_text("\n".join(rows) + "\n")

    def pairs(kind):
        def setup(d):
            trained(d, 2)
            rows = (att / "meta.csv").read_text().splitlines()[1:]
            a, b = (str(att / r.split(",")[0]) for r in (rows[0], rows[1]))
            label = "yes" if kind == "yes" else "1"
            body = [f"{a},{b},{label}"] * 10 + ([f"{a},{b},0"] * 10 if kind == "yes" else [])
            (d / "p.csv").write_text("path1,path2,same\n" + "\n".join(body) + "\n")
        return setup

    w = f"--workdir={tmp / 'w'}"
    model = f"--model={tmp / 'w' / 'export'}"
    return [
        ("lr=1e6 (diverges)", "train", [*data, *TRAIN, "--steps=3", "--lr=1e6", w], nothing),
        ("lr=nan", "train", [*data, *TRAIN, "--lr=nan", w], nothing),
        ("arcface margin=5", "train", [*data, *TRAIN, "--head=arcface", "--margin=5", w], nothing),
        ("cosface margin=-2", "train", [*data, *TRAIN, "--head=cosface", "--margin=-2", w], nothing),
        ("scale=0", "train", [*data, *TRAIN, "--scale=0", w], nothing),
        ("single identity", "train", ["--data=list", f"--list_file={tmp / 'one.csv'}", f"--data_root={att}", *TRAIN,
                                      "--batch_size=8", w], single_identity),
        ("steps=-5", "train", [*data, *TRAIN, "--steps=-5", w], nothing),
        ("steps=0", "train", [*data, *TRAIN, "--steps=0", w], nothing),
        ("batch_size=0", "train", [*data, *TRAIN, "--batch_size=0", w], nothing),
        ("batch_size=-4", "train", [*data, *TRAIN, "--batch_size=-4", w], nothing),
        ("image_size=0", "train", [*data, *TRAIN, "--image_size=0", w], nothing),
        ("lr_boundaries=abc", "train", [*data, *TRAIN, "--lr_schedule=piecewise", "--lr_boundaries=abc", w], nothing),
        ("momentum=1.5", "train", [*data, *TRAIN, "--momentum=1.5", w], nothing),
        ("dropout=1", "train", [*data, *TRAIN, "--dropout=1", w], nothing),
        ("embedding_size=0", "train", [*data, *TRAIN, "--embedding_size=0", w], nothing),
        ("checkpoint_every=0", "train", [*data, *TRAIN, "--checkpoint_every=0", w], nothing),
        ("log_every=0", "train", [*data, *TRAIN, "--log_every=0", w], nothing),
        ("warmup_steps=-1", "train", [*data, *TRAIN, "--warmup_steps=-1", w], nothing),
        ("resume with image_size=48", "train", [*data, *TRAIN, "--image_size=48", "--steps=6", w], trained),
        ("resume with head=cosface, lr=0.01 (harmless)", "train",
         [*data, *TRAIN, "--head=cosface", "--lr=0.01", "--steps=6", w], trained),
        ("resume, latest .data truncated", "train", [*data, *TRAIN, "--steps=6", w], damaged("truncate")),
        ("resume, latest .data deleted", "train", [*data, *TRAIN, "--steps=6", w], damaged("delete")),
        ("resume, latest .index empty", "train", [*data, *TRAIN, "--steps=6", w], damaged("index")),
        ("truncated PNG in the list", "train", ["--data=list", f"--list_file={tmp / 't.csv'}", *TRAIN, w],
         truncated_png),
        ("list row without identity", "train", ["--data=list", f"--list_file={tmp / 'n.csv'}", f"--data_root={att}",
                                                *TRAIN, w], no_identity),
        ("missing list file", "train", ["--data=list", f"--list_file={tmp / 'nope.csv'}", *TRAIN, w], nothing),
        ("pairs with same=yes", "evaluate", [model, f"--eval_pairs={tmp / 'p.csv'}", f"--out={tmp / 'ev'}"],
         pairs("yes")),
        ("pairs with positives only", "evaluate", [model, f"--eval_pairs={tmp / 'p.csv'}", f"--out={tmp / 'ev'}"],
         pairs("positives")),
        ("evaluate --checkpoint, latest .data truncated", "evaluate",
         [f"--checkpoint={tmp / 'w'}", f"--eval_list={lst}", f"--eval_root={att}", "--protocol=retrieval",
          f"--out={tmp / 'ev'}"], damaged("truncate")),
        ("evaluate a missing model", "evaluate", [f"--model={tmp / 'none'}", f"--eval_list={lst}",
                                                  "--protocol=retrieval"], nothing),
        ("evaluate --ida_anchors with --score=cosine", "evaluate",
         [model, f"--eval_list={lst}", f"--eval_root={att}", "--protocol=all_pairs", f"--ida_anchors={lst}",
          f"--out={tmp / 'ev'}"], lambda d: trained(d, 2)),
        ("evaluate --ida_k=0", "evaluate", [model, f"--eval_list={lst}", f"--eval_root={att}", "--score=ida_r",
                                            f"--ida_anchors={lst}", "--ida_k=0", "--protocol=all_pairs"],
         lambda d: trained(d, 2)),
    ]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": FLAGS.repo, "TF_CPP_MIN_LOG_LEVEL": "2"}


def run_case(program: str, args: list[str]) -> dict:
    t0 = time.time()
    try:
        out = subprocess.run([sys.executable, f"{FLAGS.repo}/{program}.py", *args], capture_output=True, text=True,
                             timeout=600, env=_env())
    except subprocess.TimeoutExpired:
        return {"exit": None, "traceback": False, "last_line": "timed out (600 s)", "seconds": 600}
    lines = [ln for ln in (out.stderr + "\n" + out.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:") or "Error" in ln]
    said = [ln for ln in out.stdout.splitlines() if "resum" in ln or "warning" in ln or "accuracy" in ln]
    last = errors[-1] if errors else (said[-1] if said else (lines[-1] if lines else ""))
    return {"exit": out.returncode, "traceback": "Traceback (most recent call last)" in out.stderr,
            "last_line": last.strip()[:300], "seconds": round(time.time() - t0, 1)}


def good(r: dict, name: str) -> bool:
    if name == "pairs with same=yes":  # valid input: read as genuine pairs (it used to be read as impostors)
        return r["exit"] == 0 and not r["traceback"] and "NaN" not in r["last_line"] and '"auc": 0.0' not in \
            r["last_line"]
    if "harmless" in name:
        return r["exit"] == 0 and "resum" in r["last_line"]
    if name.startswith(("resume, latest", "evaluate --checkpoint, latest")):
        return r["exit"] == 0 and not r["traceback"]
    return r["exit"] not in (0, None) and not r["traceback"] and r["last_line"].startswith("error:")


def main(argv):
    del argv
    att = pathlib.Path(FLAGS.data) / "att"
    if not (att / "meta.csv").exists():
        raise SystemExit(f"error: {att}/meta.csv not found (research data kept beside the clone).")
    out = pathlib.Path(FLAGS.out)
    results = json.loads(out.read_text())["cases"] if FLAGS.table_only else run_all(att)
    for name, r in results.items():
        r["good"] = good(r, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"repo": FLAGS.repo, "cases": results}, indent=1))
    before = json.loads(pathlib.Path(FLAGS.before).read_text())["cases"] if FLAGS.before else None
    out.with_suffix(".md").write_text(table(results, before))
    print(f"{sum(r['good'] for r in results.values())} of {len(results)} cases good", flush=True)


def run_all(att: pathlib.Path) -> dict:
    results = {}
    names = [c[0] for c in cases(pathlib.Path("/unused"), att)]
    for k, name in enumerate(names):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="bad-input-"))
        _, program, args, setup = cases(tmp, att)[k]  # the case's paths inside its own folder
        setup(tmp)
        r = run_case(program, args)
        results[name] = r
        print(f"{'ok ' if good(r, name) else 'BAD'} {name}: exit {r['exit']}, traceback {r['traceback']}: "
              f"{r['last_line'][:150]}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def _cell(r: dict | None) -> str:
    if r is None:
        return "—"
    text = r["last_line"].replace("|", "\\|")[:110]
    return f"{'ok' if r['good'] else '**bad**'}: exit {r['exit']}{', traceback' if r['traceback'] else ''} — {text}"


def table(results: dict, before: dict | None) -> str:
    if before is not None:
        for name, r in before.items():
            r["good"] = good(r, name)
        rows = ["| case | before | after |", "| --- | --- | --- |"]
        rows += [f"| {n} | {_cell(before.get(n))} | {_cell(r)} |" for n, r in results.items()]
    else:
        rows = ["| case | result |", "| --- | --- |"] + [f"| {n} | {_cell(r)} |" for n, r in results.items()]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    app.run(main)
