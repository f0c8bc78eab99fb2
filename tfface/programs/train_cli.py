"""train.py / tfface-train: train a face-recognition model, export a SavedModel and evaluate verification.

    python train.py                      # small CNN + ArcFace on SynthFaces, no download
    python train.py --backbone=iresnet50 --image_size=112 --data=list --list_file=train.csv
"""

from tfface.env import configure_tf_env, start_program

configure_tf_env()

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

import tfface.flags.training  # noqa: E402,F401

FLAGS = absl_flags.FLAGS


def main(argv):
    del argv
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

    try:
        prepare("train", sys.argv)  # modules named by --imports add their methods, protocols and flags
    except TfFaceError as err:
        raise program_error(err, FLAGS) from None
    app.run(main)


if __name__ == "__main__":
    run()
