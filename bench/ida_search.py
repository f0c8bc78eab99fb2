"""Support-set search speed for IDA-R: tfface's exact search (batched matrix product + top_k) against
faiss-cpu's exact inner-product index (IndexFlatIP), same data, same run.

    python bench/ida_search.py          # 10k queries × 100k anchors, 128-D and 512-D → bench/results/ida_search.json

Random unit vectors; k = 10; each timing is the median of 3 repetitions after a warm-up; the two
results are checked to agree (the same top-k sets up to float ties).
"""

from tfface.env import configure_tf_env

configure_tf_env()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from tfface.scoring.ida import FaissSearch, normalize, topk_similarities  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_integer("queries", 10000, "Queries.")
flags.DEFINE_integer("anchors", 100000, "Anchors.")
flags.DEFINE_list("dims", ["128", "512"], "Embedding sizes.")
flags.DEFINE_integer("k", 10, "Support-set size.")
flags.DEFINE_integer("batch", 2048, "tfface query batch.")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "ida_search.json"), "Result file.")
FLAGS = flags.FLAGS


def timed(fn, reps: int = 3) -> tuple[float, object]:
    out = fn()  # warm-up (tracing, index build caches)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv):
    del argv
    rows = []
    rng = np.random.default_rng(0)
    for dim in map(int, FLAGS.dims):
        anchors = normalize(rng.normal(size=(FLAGS.anchors, dim)).astype(np.float32))
        queries = normalize(rng.normal(size=(FLAGS.queries, dim)).astype(np.float32))
        t_tf, (s_tf, i_tf) = timed(lambda q=queries, a=anchors: topk_similarities(q, a, FLAGS.k, batch=FLAGS.batch))
        index = FaissSearch(anchors)
        t_fa, (s_fa, i_fa) = timed(lambda q=queries, f=index: f(q, FLAGS.k))
        agree = float(np.mean([len(set(a) & set(b)) / FLAGS.k for a, b in zip(i_tf, i_fa)]))
        row = {"dim": dim, "queries": FLAGS.queries, "anchors": FLAGS.anchors, "k": FLAGS.k,
               "tfface_queries_per_s": round(FLAGS.queries / t_tf, 1),
               "faiss_queries_per_s": round(FLAGS.queries / t_fa, 1),
               "tfface_over_faiss_time": round(t_tf / t_fa, 3), "topk_agreement": agree,
               "max_similarity_difference": float(np.abs(np.sort(s_tf, 1) - np.sort(s_fa, 1)).max())}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = pathlib.Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "cpus": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    app.run(main)
