"""tfface-check-data: decode every image of a data source and list the ones that fail.

    tfface-check-data --list_file=train.csv [--data_root=images/]
    tfface-check-data --data_root=faces/          # root/<identity>/<image>
    python -m tfface.programs.check_data …        # the same, without the installed script
"""

from __future__ import annotations

import sys

from tfface.env import require_tensorflow

require_tensorflow()  # TensorFlow without its start-up notes, before the imports below load it

from absl import flags  # noqa: E402

from tfface.cli import run_tool  # noqa: E402
from tfface.data import sources  # noqa: E402
from tfface.data.check import find_bad_images  # noqa: E402
from tfface.errors import DataError  # noqa: E402
from tfface.messages import program_error  # noqa: E402

flags.DEFINE_string("list_file", None, "CSV list file (path,identity,…).")
flags.DEFINE_string("data_root", None, "Image folder tree, or the root of the list file's paths.")

def main(argv):
    del argv
    f = flags.FLAGS
    try:
        src = sources.open_source(f.list_file, f.data_root)
    except DataError as err:
        raise program_error(err, f) from None
    bad = find_bad_images(src.paths)
    for path, reason in bad:
        print(f"{path}: {reason}")
    print(f"{len(src)} images checked, {len(bad)} bad")
    sys.exit(1 if bad else 0)


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
