"""evaluate.py / tfface-evaluate: evaluate an exported model (or a training checkpoint) by a registered protocol.

    python evaluate.py --model=runs/X/export --eval_pairs=pairs.csv
    python evaluate.py --checkpoint=runs/X --eval_pairs=lfw/pairs.txt --eval_root=lfw/images
"""

from tfface.cli import refuse_arguments
from tfface.env import configure_tf_env, require_tensorflow, start_program

configure_tf_env()

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

FLAGS = absl_flags.FLAGS


def main(argv):
    refuse_arguments(argv)
    start_program(FLAGS)
    import json

    from tfface.errors import TfFaceError
    from tfface.messages import program_error
    from tfface.programs.evaluation import evaluate
    from tfface.settings import EvaluateConfig

    try:
        print(json.dumps(evaluate(EvaluateConfig.from_flags(FLAGS))))
    except (TfFaceError, FileNotFoundError) as err:
        raise program_error(err, FLAGS) from None


def run():
    import sys

    from tfface.errors import TfFaceError
    from tfface.flags import prepare
    from tfface.messages import program_error

    require_tensorflow()  # the flags' declarations live in modules that load TensorFlow
    import tfface.flags.evaluation  # noqa: F401  (the program's flags)

    try:
        prepare("evaluate", sys.argv)  # modules named by --imports add their methods, protocols and flags
    except TfFaceError as err:
        raise program_error(err, FLAGS) from None
    app.run(main)


if __name__ == "__main__":
    run()
