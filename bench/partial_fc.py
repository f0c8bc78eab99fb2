"""Memory and step time of the sharded margin head (Partial FC) against the full head, on 2 replicas — each
replica its own MultiWorkerMirrored process on 127.0.0.1, so that a process's peak memory *is* the memory of
one replica (issue 17.3).

    python bench/partial_fc.py                       # C = 10k, 100k, 1M; bench/results/partial_fc.json + .png
    python bench/partial_fc.py --classes=1000 --dim=16 --steps=1 --out=/tmp/pfc.json    # a quick check

Per class count C: the full head (every replica holds the whole [D, C] kernel and its momentum; the Keras
optimiser all-reduces its gradient), and the sharded head at each ``--rates`` (replica r holds C / 2 columns
and their momentum; embeddings are all-gathered). The backbone is one dense layer on synthetic features (the
head's part is what is measured); ArcFace, SGD with momentum and weight decay, ``--batch`` global. Step time:
the median of ``--steps`` timed steps after ``--warmup``; memory: each process's peak resident set. A run
whose two processes together pass ``--memory_limit_gb`` is stopped and recorded as such. Results are written
run by run; a rerun skips the runs already in ``--out`` (``--fresh`` to redo them). CPU-only numbers.
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from absl import app, flags  # noqa: E402

from tfface.training.loopback import loopback_tf_configs  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_list("classes", ["10000", "100000", "1000000"], "Class counts C.")
flags.DEFINE_list("rates", ["1.0", "0.1"], "Sample rates of the sharded head.")
flags.DEFINE_integer("dim", 512, "Embedding size D.")
flags.DEFINE_integer("batch", 128, "Global batch (half per replica).")
flags.DEFINE_integer("steps", 5, "Timed steps per run.")
flags.DEFINE_integer("warmup", 2, "Untimed steps first (tracing).")
flags.DEFINE_float("memory_limit_gb", 20.0, "Stop a run whose two processes together use more (GiB).")
flags.DEFINE_integer("timeout", 1800, "Seconds a run may take.")
flags.DEFINE_bool("fresh", False, "Redo runs already in --out.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "partial_fc.json"), "Result file (a PNG beside it).")
flags.DEFINE_string("worker", "", "Internal: run one replica of this JSON run spec.")
FLAGS = flags.FLAGS
FEATURES = 64


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def run_replica(spec: dict) -> dict:
    """One replica's process: build the step, time it, report this process's peak memory."""
    import keras
    import tensorflow as tf

    from tfface.heads.classifier import MarginHead
    from tfface.heads.sharded import ShardedMarginHead
    from tfface.training.optim import make_optimizer
    from tfface.training.sharded_head_term import ShardedHeadTerm
    from tfface.training.strategy import make_strategy
    from tfface.training.tasks import EmbeddingTask
    from tfface.training.terms import HeadTerm

    strategy = make_strategy()
    classes, dim, batch = spec["classes"], spec["dim"], spec["batch"]
    before = peak_rss_gb()
    with strategy.scope():
        backbone = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(dim)])
        if spec["head"] == "sharded":
            head = ShardedMarginHead(strategy, classes, dim, "arcface", s=64.0, m=0.5, sample_rate=spec["rate"])
            term = ShardedHeadTerm(head)
        else:
            head = MarginHead(classes, "arcface", s=64.0, m=0.5)
            head.build((None, dim))
            term = HeadTerm(head)
        optimizer = make_optimizer("sgd", 0.1, 0.9, 5e-4)
        task = EmbeddingTask(backbone, batch, [term])
        optimizer.build(task.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def dataset(ctx):
        local = ctx.get_per_replica_batch_size(batch)

        def make(i):
            seed = tf.stack([i, tf.cast(ctx.input_pipeline_id, tf.int64)])
            return (tf.random.stateless_normal([local, FEATURES], seed),
                    tf.random.stateless_uniform([local], seed, 0, classes, dtype=tf.int32))
        return tf.data.Dataset.range(10**9).map(make).prefetch(2)

    iterator = iter(strategy.distribute_datasets_from_function(dataset))

    @tf.function
    def train_step():
        metrics = strategy.run(lambda b: task.train_step(b, step, optimizer), args=(next(iterator),))
        step.assign_add(1)
        return strategy.reduce("SUM", metrics["loss"], axis=None)

    for _ in range(spec["warmup"]):
        float(train_step())
    times = []
    for _ in range(spec["steps"]):
        t0 = time.perf_counter()
        loss = float(train_step())
        times.append(time.perf_counter() - t0)
    return {"step_s": statistics.median(times), "loss": loss, "peak_rss_gb": peak_rss_gb(),
            "rss_before_model_gb": before, "images_per_s": batch / statistics.median(times)}


def _rss_gb(pid: int) -> float:
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def launch(spec: dict, limit_gb: float, timeout: float) -> dict:
    """Run ``spec`` as 2 MultiWorker processes; their reports, or why they stopped."""
    procs = []
    for tf_config in loopback_tf_configs(2):
        env = {**os.environ, "TF_CONFIG": tf_config, "TF_CPP_MIN_LOG_LEVEL": "2"}
        procs.append(subprocess.Popen([sys.executable, __file__, f"--worker={json.dumps(spec)}"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))
    t0, peak, stopped = time.time(), 0.0, None
    while any(p.poll() is None for p in procs):
        total = sum(_rss_gb(p.pid) for p in procs)
        peak = max(peak, total)
        if total > limit_gb:
            stopped = f"stopped: the two replicas passed {limit_gb:g} GiB together"
        elif time.time() - t0 > timeout:
            stopped = f"stopped: longer than {timeout:g} s"
        if stopped:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, 9)
            break
        time.sleep(0.2)
    outputs = [p.communicate() for p in procs]
    if stopped:
        return {"status": stopped, "peak_rss_gb_seen": peak}
    reports = []
    for p, (out, err) in zip(procs, outputs):
        line = [row for row in out.splitlines() if row.startswith("{")]
        if p.returncode != 0 or not line:
            last = [row for row in err.splitlines() if row.strip()][-3:]
            return {"status": f"failed (exit {p.returncode}): {' | '.join(last)[:400]}"}
        reports.append(json.loads(line[-1]))
    return {"status": "ok", "step_s": max(r["step_s"] for r in reports), "loss": reports[0]["loss"],
            "peak_rss_gb_per_replica": max(r["peak_rss_gb"] for r in reports),
            "rss_before_model_gb": max(r["rss_before_model_gb"] for r in reports),
            "images_per_s": min(r["images_per_s"] for r in reports)}


def head_state_gb(spec: dict) -> float:
    """Bytes of class weights and momentum one replica holds (float32), in GiB."""
    columns = spec["classes"] if spec["head"] == "full" else -(-spec["classes"] // 2)
    return 2 * 4 * spec["dim"] * columns / 2**30


def plot(results: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label in dict.fromkeys(r["label"] for r in results):
        rows = sorted((r for r in results if r["label"] == label and r["status"] == "ok"), key=lambda r: r["classes"])
        if rows:
            xs = [r["classes"] for r in rows]
            axes[0].plot(xs, [r["peak_rss_gb_per_replica"] for r in rows], "o-", label=label)
            axes[1].plot(xs, [r["step_s"] for r in rows], "o-", label=label)
        for r in results:
            if r["label"] == label and r["status"] != "ok":
                axes[0].plot([r["classes"]], [r.get("peak_rss_gb_seen", 0) / 2], "x", color="red", markersize=10)
    axes[0].set(xscale="log", yscale="log", xlabel="classes C", ylabel="peak memory per replica (GiB)",
                title="memory (× = stopped)")
    axes[1].set(xscale="log", yscale="log", xlabel="classes C", ylabel="step time (s)",
                title="step time, 2 CPU replicas")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv):
    del argv
    if FLAGS.worker:
        print(json.dumps(run_replica(json.loads(FLAGS.worker))), flush=True)
        return
    out = pathlib.Path(FLAGS.out)
    results = [] if FLAGS.fresh or not out.exists() else json.loads(out.read_text())["runs"]
    specs = []
    for classes in (int(c) for c in FLAGS.classes):
        base = {"classes": classes, "dim": FLAGS.dim, "batch": FLAGS.batch, "steps": FLAGS.steps,
                "warmup": FLAGS.warmup}
        specs.append({**base, "head": "full", "rate": 1.0, "label": "full head"})
        specs += [{**base, "head": "sharded", "rate": float(r), "label": f"sharded, sample rate {float(r):g}"}
                  for r in FLAGS.rates]
    for spec in specs:
        key = {k: spec[k] for k in ("classes", "dim", "batch", "head", "rate")}
        if any(all(r.get(k) == v for k, v in key.items()) for r in results):
            print(f"skip (done): {spec['label']} at C={spec['classes']}")
            continue
        t0 = time.time()
        print(f"{spec['label']} at C={spec['classes']:,} ...", flush=True)
        result = {**spec, **launch(spec, FLAGS.memory_limit_gb, FLAGS.timeout), "head_state_gb": head_state_gb(spec),
                  "wall_s": time.time() - t0}
        print(f"  {result['status']}" + (f": {result['step_s']:.3f} s/step, {result['peak_rss_gb_per_replica']:.2f} "
                                          "GiB per replica" if result["status"] == "ok" else ""), flush=True)
        results.append(result)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"cpu_only": True, "replicas": 2, "runs": results}, indent=1))
    plot(results, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    app.run(main)
