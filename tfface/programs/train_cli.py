"""train.py / tfface-train: train a face-recognition model, export a SavedModel and evaluate verification.

    python train.py                      # small CNN + ArcFace on SynthFaces, no download
    python train.py --backbone=iresnet50 --image_size=112 --list_file=train.csv
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
    from tfface.config import RunConfig
    from tfface.errors import NonFiniteLossError, TfFaceError
    from tfface.messages import program_error
    from tfface.programs.training import train

    try:
        train(RunConfig.from_flags(FLAGS))
    except (TfFaceError, NonFiniteLossError) as err:
        raise program_error(err, FLAGS) from None


def run():
    import sys

    from tfface.errors import TfFaceError
    from tfface.flags import prepare
    from tfface.messages import program_error

    require_tensorflow()  # the flags' declarations live in modules that load TensorFlow
    import tfface.flags.training  # noqa: F401  (the program's flags)

    try:
        prepare("train", sys.argv)  # modules named by --imports add their methods, protocols and flags
    except TfFaceError as err:
        raise program_error(err, FLAGS) from None
    app.run(main)


if __name__ == "__main__":
    run()
