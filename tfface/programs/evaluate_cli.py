"""evaluate.py / tfface-evaluate: evaluate an exported model (or a training checkpoint).

    python evaluate.py --model=runs/X/export --eval_pairs=pairs.csv
    python evaluate.py --checkpoint=runs/X --eval_pairs=lfw/pairs.txt --eval_root=lfw/images
"""

from tfface.env import configure_tf_env, start_program

configure_tf_env()

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

import tfface.flags.eval  # noqa: E402,F401
import tfface.flags.evaluate  # noqa: E402,F401

absl_flags.DEFINE_string("model", None, "SavedModel folder written by train.py (<workdir>/export).")
absl_flags.DEFINE_string("checkpoint", None, "A train.py workdir: its latest checkpoint is exported first.")
absl_flags.DEFINE_string("out", None, "Where eval.json and eval_roc.png go (default: beside the model).")
FLAGS = absl_flags.FLAGS


def main(argv):
    del argv
    start_program(FLAGS)
    from tfface.errors import TfFaceError

    if bool(FLAGS.model) == bool(FLAGS.checkpoint):
        raise SystemExit("error: give exactly one of --model=<SavedModel folder> or --checkpoint=<workdir>.")
    try:
        evaluate()
    except (TfFaceError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from None


def evaluate() -> None:
    """Run --protocol on --model or --checkpoint and print its summary (errors reach main as exceptions)."""
    import json
    import pathlib

    from tfface.evaluation.protocols import run_protocol
    from tfface.export.saved_model import load_embedder
    from tfface.methods.discface_eval import discface_diagnostics
    from tfface.programs.training import checkpoint_to_saved_model
    from tfface.runtime.verify import verify_saved_model

    if FLAGS.protocol in ("ftl_nn", "ftl_visualize"):
        from tfface.methods.ftl_eval import run_ftl_protocol

        if not FLAGS.checkpoint:
            raise SystemExit(f"error: --protocol={FLAGS.protocol} needs --checkpoint=<FTL train.py workdir>.")
        print(json.dumps(run_ftl_protocol(FLAGS.protocol, FLAGS.checkpoint, FLAGS.out or FLAGS.checkpoint,
                                          FLAGS.eval_list, FLAGS.eval_root)))
        return
    if FLAGS.protocol == "discface":
        if not FLAGS.checkpoint:
            raise SystemExit("error: --protocol=discface needs --checkpoint=<train.py workdir> (it reads the head).")
        print(json.dumps(discface_diagnostics(FLAGS.checkpoint, FLAGS.out or FLAGS.checkpoint)))
        return
    if FLAGS.protocol == "tflite":
        from tfface.export.saved_model import load_keras_backbone
        from tfface.programs.tflite import tflite_report

        model = FLAGS.model or checkpoint_to_saved_model(FLAGS.checkpoint)
        out = FLAGS.out or str(pathlib.Path(model).parent / "tflite")
        report = tflite_report(load_keras_backbone(model), model, out, FLAGS.tflite_quantize, FLAGS.eval_pairs,
                               FLAGS.eval_root, FLAGS.eval_flip)
        keep = ("bytes", "accuracy", "min_cosine_to_saved_model")
        print(json.dumps({name: {k: v for k, v in row.items() if k in keep}
                          for name, row in report["variants"].items()}))
        return
    verification = FLAGS.protocol == "verification"
    if verification and not FLAGS.eval_pairs:
        raise SystemExit("error: --protocol=verification needs --eval_pairs=<pairs.txt or pairs.csv>.")
    if not verification and not FLAGS.protocol.startswith("ida_") and not FLAGS.eval_list:
        raise SystemExit(f"error: --protocol={FLAGS.protocol} needs --eval_list=<csv path,identity>.")
    model = FLAGS.model or checkpoint_to_saved_model(FLAGS.checkpoint)
    out = FLAGS.out or (FLAGS.checkpoint or str(pathlib.Path(model).parent))
    if FLAGS.protocol.startswith("ida_") or (verification and FLAGS.score != "cosine"):
        print(json.dumps(run_ida(model, out)))
    elif verification:
        verify_saved_model(model, FLAGS.eval_pairs, FLAGS.eval_root, out, FLAGS.eval_flip, FLAGS.eval_batch)
    else:
        options = {"gallery_per_id": FLAGS.gallery_per_id, "open_set_fraction": FLAGS.open_set_fraction,
                   "attribute": FLAGS.easy_hard_attribute, "ranges": FLAGS.easy_hard_ranges,
                   "use_abs": FLAGS.easy_hard_abs}
        report = run_protocol(FLAGS.protocol, *load_embedder(model), FLAGS.eval_list, FLAGS.eval_root, out,
                              FLAGS.eval_flip, FLAGS.eval_batch, options)
        print(json.dumps({k: v for k, v in report.items() if not isinstance(v, list) and k != "histograms"}))


def run_ida(model: str, out: str) -> dict:
    """--score=ida_r|ida_l verification and the ida_ssr / ida_sweep / ida_export protocols."""
    from tfface.export.saved_model import export_ida, load_embedder
    from tfface.methods.standard import head_anchors
    from tfface.runtime.verify import verify_saved_model
    from tfface.scoring import protocols as P

    embed, size = load_embedder(model)
    need_anchors = FLAGS.protocol in ("ida_ssr", "ida_sweep", "ida_export") or FLAGS.score == "ida_r"
    anchors, labels = (P.anchor_set(FLAGS.ida_anchors, embed, size, FLAGS.eval_root, FLAGS.ida_anchors_per_identity,
                                    (lambda: head_anchors(FLAGS.checkpoint)) if FLAGS.checkpoint else None)
                        if need_anchors else (None, None))
    if FLAGS.protocol == "ida_ssr":
        if not FLAGS.eval_list:
            raise SystemExit("error: --protocol=ida_ssr needs --eval_list=<images to fit SSR on>.")
        return P.train_ssr_protocol(embed, size, FLAGS.eval_list, FLAGS.eval_root, anchors, labels, FLAGS.ida_k,
                                    FLAGS.ida_tau, FLAGS.ida_ssr_steps, FLAGS.ida_ssr_lr, out, FLAGS.eval_flip)
    if FLAGS.protocol == "ida_export":
        ssr = P.load_ssr(FLAGS.ida_ssr) if FLAGS.ida_ssr else None
        path = export_ida(model, f"{out}/export_ida", anchors, FLAGS.ida_k, FLAGS.ida_tau, ssr, FLAGS.eval_flip)
        return {"protocol": "ida_export", "export": path, "anchors": int(len(anchors))}
    if not FLAGS.eval_pairs:
        raise SystemExit(f"error: --protocol={FLAGS.protocol} --score={FLAGS.score} needs --eval_pairs.")
    if FLAGS.protocol == "ida_sweep":
        rep = P.sweep(embed, size, FLAGS.eval_pairs, FLAGS.eval_root, anchors, out, flip=FLAGS.eval_flip)
        return {k: v for k, v in rep.items() if k not in ("over_k", "over_tau")}
    ssr = P.load_ssr(FLAGS.ida_ssr) if FLAGS.score == "ida_l" else None
    density = P.density_fn(FLAGS.score, anchors, FLAGS.ida_k, FLAGS.ida_tau, ssr)
    rep = verify_saved_model(model, FLAGS.eval_pairs, FLAGS.eval_root, out, FLAGS.eval_flip, FLAGS.eval_batch,
                             density=density, tau=FLAGS.ida_tau, score=FLAGS.score)
    return {"score": FLAGS.score, "accuracy": rep["accuracy"], "tar_at_far": rep["tar_at_far"]}


def run():
    app.run(main)


if __name__ == "__main__":
    run()
