"""tfface-make-tfrecords: write a list file or image folder into TFRecord shards (see
:mod:`tfface.data.tfrecords`).

    tfface-make-tfrecords --list_file=train.csv --out=/data/train --shards=16
    python -m tfface.programs.make_tfrecords …   # the same, without the installed script
"""

from tfface.env import require_tensorflow

require_tensorflow()  # TensorFlow without its start-up notes, before the imports below load it

from absl import flags  # noqa: E402

from tfface.cli import run_tool  # noqa: E402
from tfface.data import sources  # noqa: E402
from tfface.data.tfrecords import write_tfrecords  # noqa: E402
from tfface.errors import DataError  # noqa: E402
from tfface.messages import program_error  # noqa: E402

flags.DEFINE_string("list_file", None, "CSV list file (path,identity[,attributes]).")
flags.DEFINE_string("data_root", None, "Image folder tree, or the root of the list file's paths.")
flags.DEFINE_string("out", None, "Output prefix: writes <out>-XXXXX-of-YYYYY.tfrecord and <out>-meta.json.")
flags.DEFINE_integer("shards", 8, "Number of shard files.")
flags.DEFINE_integer("seed", 0, "Shuffle seed for the record order.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if not FLAGS.out:
        raise SystemExit("error: --out=<prefix> is required.")
    try:
        src = sources.open_source(FLAGS.list_file, FLAGS.data_root)
    except DataError as err:
        raise program_error(err, FLAGS) from None
    src.check_files_exist()
    files = write_tfrecords(src, FLAGS.out, FLAGS.shards, FLAGS.seed)
    print(f"wrote {len(src)} images of {src.num_classes} identities into {len(files)} shards at {FLAGS.out}-*")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
