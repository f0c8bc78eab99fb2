"""How train.py and evaluate.py answer bad settings, bad files and damaged runs: exit code, whether a raw
traceback reached the user, and the last line they saw — for this checkout or another one (``--repo``), so a
fix can be shown case → before → after.

    python bench/bad_inputs.py                                   # bench/results/bad_inputs.json + .md
    python bench/bad_inputs.py --repo=/tmp/old --out=/tmp/old.json

Training is the small CNN at 32 px on the AT&T list of ../shared/data (a few steps); every case runs in a
fresh process with a timeout. A case is *good* when the program exits non-zero with a one-line ``error:``
and no traceback, or exits 0 saying what it did (the harmless resume, the finished run left alone). A case with
a check of what must survive it (a finished run's files, a user's folder) is *destructive* when that check
fails; a bad case that exits 0 is *silent*. Cases are grouped by class; the table counts each class's outcomes.
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
flags.DEFINE_list("cases", [], "Run only the cases whose name contains one of these (a quick check; default all).")
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
        rows = [r.split(",")[0] for r in (att / "meta.csv").read_text().splitlines()[1:]]
        by_id = {}
        for path in rows:
            by_id.setdefault(path.split("/")[-2], []).append(str(att / path))
        ids = sorted(by_id)[:20]
        pairs = [f"{by_id[i][0]},{by_id[i][1]},1" for i in ids] + [f"{by_id[a][0]},{by_id[b][0]},0"
                                                                   for a, b in zip(ids, ids[1:] + ids[:1])]
        (d / "pairs.csv").write_text("path1,path2,same\n" + "\n".join(pairs) + "\n")
        subprocess.run([sys.executable, f"{FLAGS.repo}/train.py", *data, *TRAIN, f"--steps={steps}",
                        "--checkpoint_every=2", f"--eval_pairs={d / 'pairs.csv'}", f"--workdir={d / 'w'}"],
                       capture_output=True, timeout=600, env=_env())

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

    def list_with(edit, name="e.csv"):
        """A copy of the AT&T list with ``edit(rows) -> rows`` applied to its data rows."""
        def setup(d):
            rows = (att / "meta.csv").read_text().splitlines()
            (d / name).write_text("\n".join([rows[0], *edit(rows[1:])]) + "\n")
        return setup

    def renamed(rows):
        return [r.replace(",s1", ",s1x") if r.endswith(",s1") else r for r in rows]

    def finished_then(extra):
        def setup(d):
            trained(d)
            if extra:
                extra(d)
            (d / "before").mkdir()
            for name in ("config.json", "eval.json"):
                if (d / "w" / name).exists():
                    shutil.copy(d / "w" / name, d / "before" / name)
        return setup

    def kept(*names):
        """The finished run's files listed survive the case unchanged."""
        def check(d):
            changed = [n for n in names if (d / "w" / n).read_bytes() != (d / "before" / n).read_bytes()]
            return f"{', '.join(changed)} rewritten" if changed else None
        return check

    def user_temp(d):
        trained(d)
        (d / "w" / "checkpoints" / "ckpt-9_temp").mkdir()
        (d / "w" / "checkpoints" / "ckpt-9_temp" / "mine.txt").write_text("the user's file")

    def all_damaged(d):
        trained(d)
        for index in (d / "w" / "checkpoints").glob("*.index"):
            index.write_bytes(b"")
        (d / "before").mkdir()
        shutil.copy(d / "w" / "eval.json", d / "before" / "eval.json")
        shutil.copy(d / "w" / "config.json", d / "before" / "config.json")

    def held_lock(d):
        (d / "w").mkdir()
        holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
                                   "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)",
                                   str(d / "w" / ".tfface.lock")], stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()  # the lock is held from here
        (d / "holder.pid").write_text(str(holder.pid))

    def recipe(text):
        def setup(d):
            (d / "r.json").write_text(text)
        return setup

    def flagfile(d):
        (d / "flags.txt").write_text("--steps=2\nlr=0.5\n")

    def toy_recipe(d):
        (d / "r.json").write_text(json.dumps({"imports": [str(REPO / "tests" / "toy_method.py")]}))

    def toy_workdir(d):
        subprocess.run([sys.executable, f"{FLAGS.repo}/train.py", *data, *TRAIN, "--checkpoint_every=2",
                        f"--imports={REPO / 'tests' / 'toy_method.py'}", "--method=toy_label_smoothing",
                        f"--workdir={d / 'w'}"], capture_output=True, timeout=600, env=_env())

    def one_image_each(rows):
        seen, out = set(), []
        for r in rows:
            if r.split(",")[1] not in seen:
                seen.add(r.split(",")[1])
                out.append(r)
        return out

    def edited_size(d):
        trained(d, 2)
        meta = json.loads((d / "w" / "export" / "tfface.json").read_text())
        (d / "w" / "export" / "tfface.json").write_text(json.dumps({**meta, "image_size": 48}))

    def run_before_eval(d):
        trained(d, 2)
        (d / "before").mkdir()
        shutil.copy(d / "w" / "eval.json", d / "before" / "eval.json")

    def distractors(d):
        trained(d, 2)
        rows = (att / "meta.csv").read_text().splitlines()
        (d / "probe.csv").write_text("\n".join([rows[0], *(r for r in rows[1:] if r.split(",")[1] in
                                                            {f"s{i}" for i in range(1, 11)})]) + "\n")
        (d / "dis.csv").write_text("\n".join([rows[0], *(r for r in rows[1:] if r.endswith(",s20"))]) + "\n")

    w = f"--workdir={tmp / 'w'}"
    model = f"--model={tmp / 'w' / 'export'}"
    e_csv = ["--data=list", f"--list_file={tmp / 'e.csv'}", f"--data_root={att}"]
    ev_out = f"--out={tmp / 'ev'}"
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
        # metadata written before validation
        ("rerun with fewer steps than the finished run", "train", [*data, *TRAIN, "--steps=2", w],
         finished_then(None), kept("config.json", "eval.json")),
        ("rerun a finished run with other sampler settings (harmless)", "train",
         [*data, *TRAIN, "--steps=4", "--sampler=pk", "--pk_k=2", w], finished_then(None),
         kept("config.json", "eval.json")),
        ("image_size=40 (not a multiple of 16) in a new workdir", "train", [*data, *TRAIN, "--image_size=40", w],
         nothing, lambda d: "workdir left behind" if (d / "w").exists() else None),
        ("recipe with steps as text", "train", [*data, *TRAIN[:2], f"--config={tmp / 'r.json'}", w],
         recipe('{"steps": "ten"}'), lambda d: "workdir left behind" if (d / "w").exists() else None),
        # clean-up wider than what tfface made
        ("a user's *_temp folder in checkpoints/ (harmless)", "train", [*data, *TRAIN, "--steps=6", w], user_temp,
         lambda d: None if (d / "w" / "checkpoints" / "ckpt-9_temp" / "mine.txt").exists() else "user's file deleted"),
        # one run per workdir
        ("a second run on a workdir in use", "train", [*data, *TRAIN, w], held_lock, None),
        # resume mixing models
        ("resume with head=softmax", "train", [*data, *TRAIN, "--head=softmax", "--steps=6", w], trained, None),
        ("resume on other identities, same count", "train", [*e_csv, *TRAIN, "--steps=6", w],
         lambda d: (trained(d), list_with(renamed)(d)), None),
        ("every checkpoint damaged in a finished run", "train", [*data, *TRAIN, "--steps=4", w], all_damaged,
         kept("config.json", "eval.json")),
        # settings quietly coerced
        ("recipe with steps 3.7", "train", [*data, *TRAIN[:2], f"--config={tmp / 'r.json'}", w],
         recipe('{"steps": 3.7}'), None),
        ('recipe with flip "no"', "train", [*data, *TRAIN, f"--config={tmp / 'r.json'}", w], recipe('{"flip": "no"}'),
         None),
        ("flagfile line without --", "train", [*data, *TRAIN, f"--flagfile={tmp / 'flags.txt'}", w], flagfile, None),
        # data quietly accepted
        ("identity ' s1' beside 's1'", "train", [*e_csv, *TRAIN, w],
         list_with(lambda rows: [rows[0].replace(",s1", ", s1"), *rows[1:]]), None),
        ("identity 'S1' beside 's1'", "train", [*e_csv, *TRAIN, w],
         list_with(lambda rows: [rows[0].replace(",s1", ",S1"), *rows[1:]]), None),
        ("200 duplicated rows", "train", [*e_csv, *TRAIN, w], list_with(lambda rows: rows + rows[:200]), None),
        ("rows with an extra column", "train", [*e_csv, *TRAIN, w], list_with(lambda rows: [r + ",x" for r in rows]),
         None),
        ("list path escaping --data_root", "train", [*e_csv, *TRAIN, w],
         list_with(lambda rows: [f"../att/{rows[0]}", *rows[1:]]), None),
        ("tfface-check-data on duplicated rows", "tfface/programs/check_data",
         [f"--list_file={tmp / 'e.csv'}", f"--data_root={att}"], list_with(lambda rows: rows + rows[:20]), None),
        # results that are not results
        ("identification with one image per identity", "evaluate",
         [model, "--protocol=identification", f"--eval_list={tmp / 'e.csv'}", f"--eval_root={att}", ev_out],
         lambda d: (trained(d, 2), list_with(one_image_each)(d)), None),
        ("all_pairs on one identity", "evaluate",
         [model, "--protocol=all_pairs", f"--eval_list={tmp / 'e.csv'}", f"--eval_root={att}", ev_out],
         lambda d: (trained(d, 2), list_with(lambda rows: [r for r in rows if r.endswith(",s1")])(d)), None),
        ("distractor_sizes beyond the set", "evaluate",
         [model, "--protocol=distractors", f"--eval_list={tmp / 'probe.csv'}", f"--distractors={tmp / 'dis.csv'}",
          f"--eval_root={att}", "--distractor_sizes=5,500", ev_out], distractors, None),
        ("export metadata with a wrong image_size", "evaluate", [model, f"--eval_list={lst}", f"--eval_root={att}",
                                                                 "--protocol=retrieval", ev_out], edited_size, None),
        ("evaluate without --out (harmless)", "evaluate", [model, f"--eval_pairs={tmp / 'pairs.csv'}"],
         run_before_eval, kept("eval.json")),
        # code from files
        ("a recipe naming Python code to import", "train", [*data, *TRAIN, f"--config={tmp / 'r.json'}", w],
         toy_recipe, None),
        ("evaluate --checkpoint of a workdir naming Python code", "evaluate",
         [f"--checkpoint={tmp / 'w'}", f"--eval_list={lst}", f"--eval_root={att}", "--protocol=retrieval", ev_out],
         toy_workdir, None),
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
    if r.get("damage"):
        return False
    if name == "pairs with same=yes":  # valid input: read as genuine pairs (it used to be read as impostors)
        return r["exit"] == 0 and not r["traceback"] and "NaN" not in r["last_line"] and '"auc": 0.0' not in \
            r["last_line"]
    if "harmless" in name:
        return r["exit"] == 0 and not r["traceback"]
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
    print(f"{sum(r['good'] for r in results.values())} of {len(results)} cases good; {summary(results)}", flush=True)


def run_all(att: pathlib.Path) -> dict:
    results = {}
    names = [c[0] for c in cases(pathlib.Path("/unused"), att)]
    for k, name in enumerate(names):
        if FLAGS.cases and not any(part in name for part in FLAGS.cases):
            continue
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="bad-input-"))
        _, program, args, setup, *check = cases(tmp, att)[k]  # the case's paths inside its own folder
        setup(tmp)
        r = run_case(program, args)
        if (tmp / "holder.pid").exists():  # the other run holding the workdir's lock
            os.kill(int((tmp / "holder.pid").read_text()), 9)
        if check and check[0] is not None:
            r["damage"] = check[0](tmp)
        results[name] = r
        print(f"{'ok ' if good(r, name) else 'BAD'} {name}: exit {r['exit']}, traceback {r['traceback']}: "
              f"{r['last_line'][:150]}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def outcome(r: dict) -> str:
    """good, destructive (a check of what must survive failed), silent (exit 0 where an error was due),
    traceback, or unclear (another exit)."""
    if r["good"]:
        return "good"
    if r.get("damage"):
        return "destructive"
    if r["exit"] == 0:
        return "silent"
    return "traceback" if r["traceback"] else "unclear"


def summary(results: dict) -> str:
    counts = {}
    for r in results.values():
        counts[outcome(r)] = counts.get(outcome(r), 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))


def _cell(r: dict | None) -> str:
    if r is None:
        return "—"
    text = r["last_line"].replace("|", "\\|")[:110]
    damage = f" ({r['damage']})" if r.get("damage") else ""
    label = "ok" if r["good"] else f"**{outcome(r)}**"
    return f"{label}: exit {r['exit']}{', traceback' if r['traceback'] else ''}{damage} — {text}"


def table(results: dict, before: dict | None) -> str:
    if before is not None:
        for name, r in before.items():
            r["good"] = good(r, name)
        rows = ["| case | before | after |", "| --- | --- | --- |"]
        rows += [f"| {n} | {_cell(before.get(n))} | {_cell(r)} |" for n, r in results.items()]
    else:
        rows = ["| case | result |", "| --- | --- |"] + [f"| {n} | {_cell(r)} |" for n, r in results.items()]
    counts = f"\nAfter: {summary(results)}" + (f"; before: {summary(before)}" if before is not None else "") + ".\n"
    return "\n".join(rows) + "\n" + counts


if __name__ == "__main__":
    app.run(main)
