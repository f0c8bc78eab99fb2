"""tfface-make-templates: write an IJB-format template set from any list file (see
:func:`tfface.evaluation.templates.make_template_set`), for evaluate.py's ijb_1to1 / ijb_1toN protocols.

    tfface-make-templates --list_file=test.csv --out=ijb/ [--images_per_template=3 --media_per_template=2]
    python evaluate.py --model=runs/X/export --protocol=ijb_1to1 --templates=ijb/templates.csv \
        --template_pairs=ijb/matches.csv
    python evaluate.py --model=runs/X/export --protocol=ijb_1toN --gallery_templates=ijb/gallery.csv \
        --probe_templates=ijb/probes.csv
"""

from __future__ import annotations

import csv
import pathlib

from tfface.env import require_tensorflow

require_tensorflow()  # TensorFlow without its start-up notes, before the imports below load it

from absl import flags  # noqa: E402

from tfface.cli import run_tool  # noqa: E402
from tfface.data import sources  # noqa: E402
from tfface.errors import DataError  # noqa: E402
from tfface.evaluation.templates import make_template_set  # noqa: E402
from tfface.messages import program_error  # noqa: E402

flags.DEFINE_string("list_file", None, "CSV list file (path,identity[,…]) of the images to make templates of.")
flags.DEFINE_string("data_root", None, "Root of the list file's paths (default: its folder).")
flags.DEFINE_string("out", None, "Folder for templates.csv, matches.csv, gallery.csv and probes.csv.")
flags.DEFINE_integer("images_per_template", 3, "Images per template (ours; IJB's vary).")
flags.DEFINE_integer("media_per_template", 2, "Media groups per template, images assigned at random (ours).")
flags.DEFINE_integer("impostors_per_template", 10, "Other-subject templates paired with each template (ours).")
flags.DEFINE_float("enrolled_fraction", 0.9, "Share of subjects with a gallery template; the others' templates "
                   "are the non-mated probes (ours).")
flags.DEFINE_integer("seed", 0, "Seed of the shuffles.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if not FLAGS.list_file or not FLAGS.out:
        raise SystemExit("error: give --list_file=<csv path,identity> and --out=<folder>.")
    try:
        src = sources.from_list_file(FLAGS.list_file, FLAGS.data_root)
    except DataError as err:
        raise program_error(err, FLAGS) from None
    files = make_template_set(src.paths, src.labels, FLAGS.images_per_template, FLAGS.media_per_template,
                              FLAGS.impostors_per_template, FLAGS.enrolled_fraction, FLAGS.seed)
    out = pathlib.Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        with open(out / f"{name}.csv", "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    print(f"wrote {len(files['templates']) - 1} images in {len({r[0] for r in files['templates'][1:]})} templates, "
          f"{len(files['matches']) - 1} template pairs, {len(files['gallery']) - 1} gallery and "
          f"{len(files['probes']) - 1} probe images to {out}/")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
