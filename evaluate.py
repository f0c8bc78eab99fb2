"""Evaluate an exported model (or a training checkpoint) on a verification pairs file.

    python evaluate.py --model=runs/X/export --eval_pairs=pairs.csv
    python evaluate.py --checkpoint=runs/X --eval_pairs=lfw/pairs.txt --eval_root=lfw/images
"""

from tfface.env import configure_tf_env

configure_tf_env()

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

import flags.eval  # noqa: E402,F401

absl_flags.DEFINE_string("model", None, "SavedModel folder written by train.py (<workdir>/export).")
absl_flags.DEFINE_string("checkpoint", None, "A train.py workdir: its latest checkpoint is exported first.")
absl_flags.DEFINE_string("out", None, "Where eval.json and eval_roc.png go (default: beside the model).")
FLAGS = absl_flags.FLAGS


def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TF's INFO chatter off unless asked for with --verbosity
        absl_logging.set_verbosity(absl_logging.WARNING)
    import json

    from tfface.app import checkpoint_to_saved_model, discface_diagnostics, evaluate
    from tfface.errors import TfFaceError
    from tfface.evaluation.protocols import run_protocol
    from tfface.export.saved_model import load_embedder

    if bool(FLAGS.model) == bool(FLAGS.checkpoint):
        raise SystemExit("error: give exactly one of --model=<SavedModel folder> or --checkpoint=<workdir>.")
    if FLAGS.protocol in ("ftl_nn", "ftl_visualize"):
        from tfface.methods.ftl_eval import run_ftl_protocol

        if not FLAGS.checkpoint:
            raise SystemExit(f"error: --protocol={FLAGS.protocol} needs --checkpoint=<FTL train.py workdir>.")
        try:
            report = run_ftl_protocol(FLAGS.protocol, FLAGS.checkpoint, FLAGS.out or FLAGS.checkpoint,
                                      FLAGS.eval_list, FLAGS.eval_root)
        except (TfFaceError, FileNotFoundError) as err:
            raise SystemExit(f"error: {err}") from None
        print(json.dumps(report))
        return
    if FLAGS.protocol == "discface":
        if not FLAGS.checkpoint:
            raise SystemExit("error: --protocol=discface needs --checkpoint=<train.py workdir> (it reads the head).")
        try:
            report = discface_diagnostics(FLAGS.checkpoint, FLAGS.out or FLAGS.checkpoint)
        except (TfFaceError, FileNotFoundError) as err:
            raise SystemExit(f"error: {err}") from None
        print(json.dumps(report))
        return
    verification = FLAGS.protocol == "verification"
    if verification and not FLAGS.eval_pairs:
        raise SystemExit("error: --protocol=verification needs --eval_pairs=<pairs.txt or pairs.csv>.")
    if not verification and not FLAGS.eval_list:
        raise SystemExit(f"error: --protocol={FLAGS.protocol} needs --eval_list=<csv path,identity>.")
    try:
        model = FLAGS.model or checkpoint_to_saved_model(FLAGS.checkpoint)
        out = FLAGS.out or (FLAGS.checkpoint or str(__import__("pathlib").Path(model).parent))
        if verification:
            evaluate(model, FLAGS.eval_pairs, FLAGS.eval_root, out, FLAGS.eval_flip, FLAGS.eval_batch)
        else:
            report = run_protocol(FLAGS.protocol, *load_embedder(model), FLAGS.eval_list, FLAGS.eval_root, out,
                                  FLAGS.eval_flip, FLAGS.eval_batch, FLAGS.gallery_per_id, FLAGS.open_set_fraction,
                                  (FLAGS.easy_hard_attribute, FLAGS.easy_hard_ranges, FLAGS.easy_hard_abs))
            print(json.dumps({k: v for k, v in report.items() if not isinstance(v, list) and k != "histograms"}))
    except (TfFaceError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from None


def run():
    app.run(main)


if __name__ == "__main__":
    run()
